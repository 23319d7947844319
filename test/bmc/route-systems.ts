import { z } from 'zod';
import { planBootPatch } from './boot.js';
import type { BmcCore, SystemRouteKind } from './core.js';
import { baseMessage, errorResponse, vendorMessage } from './errors.js';
import { emptyResponse, jsonResponse } from './http.js';
import type { BmcResponse, RedfishMessage } from './http.js';
import { isRead, jsonObjectBody, methodNotAllowed, notFound } from './request.js';
import type { BmcRequest } from './request.js';
import type { EmulatedSystem } from './system.js';
import type { Json } from './tree.js';

const resetSchema = z.object({ ResetType: z.string() });
/** Properties a client may set on a System besides Boot; everything else is read-only or unknown. */
const writable = {
  AssetTag: z.string(),
  IndicatorLED: z.string(),
  LocationIndicatorActive: z.boolean(),
  HostName: z.string(),
} as const;

const isWritable = (key: string): key is keyof typeof writable => Object.hasOwn(writable, key);

function accepted(core: BmcCore, kind: 'reset' | 'patch', effect: () => void): BmcResponse | undefined {
  const tasks = core.activeFaults.tasks;
  if (!tasks?.on.includes(kind)) return undefined;
  const task = core.tasks.create(kind, tasks, effect);
  const headers: Record<string, string> = { Location: tasks.location === 'monitor' ? task.monitorPath : task.taskPath };
  if (tasks.retryAfterSeconds !== null) headers['Retry-After'] = String(tasks.retryAfterSeconds);
  return jsonResponse(202, task.body, headers);
}

function reset(core: BmcCore, req: BmcRequest, system: EmulatedSystem): BmcResponse {
  const faults = core.activeFaults;
  const record = (resetType: string | null, response: BmcResponse): BmcResponse => {
    core.stats.resets.push({ at: core.now(), system: system.id, resetType, status: response.status });
    return response;
  };
  const body = jsonObjectBody(req);
  if (!body.ok) return record(null, body.response);
  const parsed = resetSchema.safeParse(body.value);
  if (!parsed.success) return record(null, errorResponse(400, [baseMessage('ActionParameterMissing', ['ComputerSystem.Reset', 'ResetType'], ['#/ResetType'])]));
  const type = parsed.data.ResetType;
  if (faults.powerCycleNotImplemented && type === 'PowerCycle') {
    // sushy-tools answers this before looking at what it advertises.
    return record(type, errorResponse(501, [vendorMessage('Base.1.0.GeneralError', 'Power state PowerCycle is not supported', 'None.')]));
  }
  if (!system.resetTypes().includes(type)) {
    return record(type, errorResponse(400, [baseMessage('ActionParameterValueNotInList', [type, 'ResetType', 'ComputerSystem.Reset'], ['#/ResetType'])]));
  }
  const now = core.now();
  if (faults.resetCooldownMs > 0 && now - system.lastResetAt < faults.resetCooldownMs) {
    return record(
      type,
      errorResponse(400, [
        vendorMessage(
          'iLO.2.15.InvalidOperationForSystemState',
          'The operation was not successful due to the current power state (for example, attempting to turn the power off when it is already off).',
          'Retry the operation after the system has changed state.',
        ),
      ]),
    );
  }
  if (faults.busyWhileTransitioning && (system.powerState === 'PoweringOn' || system.powerState === 'PoweringOff')) {
    return record(type, errorResponse(500, [baseMessage('ResourceInUse')]));
  }
  system.lastResetAt = now;
  const task = accepted(core, 'reset', () => system.applyReset(type));
  if (task) return record(type, task);
  system.applyReset(type);
  return record(type, faults.resetStatus === 204 ? emptyResponse(204) : jsonResponse(200, { '@Message.ExtendedInfo': [{ ...baseMessage('Success') }] }));
}

function patchSystem(core: BmcCore, req: BmcRequest, system: EmulatedSystem): BmcResponse {
  const faults = core.activeFaults;
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const failed = core.precondition(system.path, system.generation, req.headers);
  if (failed) return failed;
  const keys = Object.keys(body.value).filter((key) => !key.startsWith('@'));
  if (keys.length === 0) return errorResponse(400, [baseMessage('NoOperation')]);
  const problems: RedfishMessage[] = [];
  const extras = new Map<string, Json>();
  let plan: ReturnType<typeof planBootPatch> | undefined;
  for (const key of keys) {
    const value = body.value[key];
    if (key === 'Boot') {
      if (faults.bootOnSettingsObject !== false) problems.push(baseMessage('PropertyNotWritable', ['Boot'], ['#/Boot']));
      else plan = planBootPatch(value, system, faults);
    } else if (isWritable(key)) {
      const checked = writable[key].safeParse(value);
      if (checked.success) extras.set(key, checked.data);
      else problems.push(baseMessage('PropertyValueTypeError', [JSON.stringify(value), key], [`#/${key}`]));
    } else {
      const known = system.render()[key] !== undefined;
      problems.push(baseMessage(known ? 'PropertyNotWritable' : 'PropertyUnknown', [key], [`#/${key}`]));
    }
  }
  const bootRecord = (status: number, applied: boolean): void => {
    if (!('Boot' in body.value)) return;
    const boot = body.value.Boot;
    core.stats.bootPatches.push({ at: core.now(), system: system.id, via: 'system', boot: typeof boot === 'object' && boot !== null ? { ...boot } : {}, status, applied });
  };
  if (plan && !plan.ok) problems.push(...plan.messages);
  if (problems.length > 0) {
    bootRecord(400, false);
    return errorResponse(400, problems);
  }
  const ignored = faults.bootOverrideIgnored;
  const apply = (): void => {
    if (plan?.ok && !ignored) {
      system.setBoot(plan.override);
      for (const [key, value] of plan.extra) system.bootExtra.set(key, value);
    }
    for (const [key, value] of extras) system.extra.set(key, value);
    if (extras.size > 0) system.generation++;
  };
  const task = accepted(core, 'patch', apply);
  if (task) {
    bootRecord(202, !ignored);
    return task;
  }
  apply();
  bootRecord(faults.patchStatus, !ignored);
  return faults.patchStatus === 204 ? emptyResponse(204) : core.resourceResponse(system.path, system.render(), system.generation, req.headers);
}

function patchSettings(core: BmcCore, req: BmcRequest, system: EmulatedSystem): BmcResponse {
  const faults = core.activeFaults;
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const failed = core.precondition(system.settingsPath, system.settingsGeneration, req.headers);
  if (failed) return failed;
  const unknown = Object.keys(body.value).filter((key) => !key.startsWith('@') && key !== 'Boot');
  if (unknown.length > 0) return errorResponse(400, unknown.map((key) => baseMessage('PropertyUnknown', [key], [`#/${key}`])));
  if (!('Boot' in body.value)) return errorResponse(400, [baseMessage('NoOperation')]);
  const boot = body.value.Boot;
  const plan = planBootPatch(boot, system, faults);
  const ignored = faults.bootOverrideIgnored;
  const status = !plan.ok ? plan.status : faults.tasks?.on.includes('patch') ? 202 : faults.patchStatus;
  core.stats.bootPatches.push({ at: core.now(), system: system.id, via: 'settings', boot: typeof boot === 'object' && boot !== null ? { ...boot } : {}, status, applied: plan.ok && !ignored });
  if (!plan.ok) return errorResponse(plan.status, plan.messages);
  const apply = (): void => {
    if (ignored) return;
    if (faults.bootOnSettingsObject === 'immediate') system.setBoot(plan.override);
    else system.setPending(plan.override);
    for (const [key, value] of plan.extra) system.bootExtra.set(key, value);
  };
  const task = accepted(core, 'patch', apply);
  if (task) return task;
  apply();
  return faults.patchStatus === 204 ? emptyResponse(204) : core.resourceResponse(system.settingsPath, system.renderSettings(), system.settingsGeneration, req.headers);
}

/** A System, its Reset action, its Settings object and its reset ActionInfo. */
export function systemRoute(core: BmcCore, req: BmcRequest, system: EmulatedSystem, kind: SystemRouteKind): BmcResponse | undefined {
  const faults = core.activeFaults;
  switch (kind) {
    case 'system':
      if (isRead(req.method)) return core.resourceResponse(system.path, system.render(), system.generation, req.headers);
      if (req.method === 'PATCH') return patchSystem(core, req, system);
      return methodNotAllowed(['GET', 'HEAD', 'PATCH']);
    case 'reset':
      if (req.method === 'POST') return reset(core, req, system);
      return methodNotAllowed(['POST']);
    case 'settings':
      if (faults.bootOnSettingsObject === false) return core.findResource(req.path) ? undefined : notFound(req.path);
      if (isRead(req.method)) return core.resourceResponse(system.settingsPath, system.renderSettings(), system.settingsGeneration, req.headers);
      if (req.method === 'PATCH') return patchSettings(core, req, system);
      return methodNotAllowed(['GET', 'HEAD', 'PATCH']);
    case 'actionInfo':
      if (!faults.resetTypesViaActionInfo) return core.findResource(req.path) ? undefined : notFound(req.path);
      if (isRead(req.method)) return core.resourceResponse(system.actionInfoPath, system.renderActionInfo(), 0, req.headers);
      return methodNotAllowed(['GET', 'HEAD']);
  }
}
