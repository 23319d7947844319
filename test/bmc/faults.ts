import { z } from 'zod';
import type { BmcFaults, BmcFaultsPatch, TaskFaults } from './types.js';

export const HEALTHY: Readonly<BmcFaults> = Object.freeze({
  powerOnDelayMs: 0,
  powerOffDelayMs: 0,
  latencyMs: 0,
  dropProbability: 0,
  dropAfterHandling: false,
  staleKeepAliveProbability: 0,
  closeConnections: false,
  serverErrorProbability: 0,
  serverErrorStatus: 503,
  retryAfterSeconds: null,
  serverErrorMethods: null,
  rejectIdentityEncoding: false,
  etagStyle: 'strong',
  etagInBody: false,
  requireIfMatch: false,
  rejectWeakIfMatch: false,
  rejectAllIfMatch: false,
  tasks: null,
  bootOverrideIgnored: false,
  bootOnSettingsObject: false,
  bootModeWriteRejected: false,
  bootModeResetUnlessFull: false,
  onceReadsAsContinuous: false,
  bootTargets: null,
  bootEnabledValues: null,
  resetTypes: null,
  resetTypesViaActionInfo: false,
  powerCycleNotImplemented: false,
  resetCooldownMs: 0,
  busyWhileTransitioning: false,
  errorBodyStyle: 'standard',
  lowercaseLinks: false,
  redirectSystemName: false,
  patchStatus: 200,
  resetStatus: 204,
});

const probability = z.number().min(0).max(1);
const ms = z.number().int().min(0).max(3_600_000);
const method = z.enum(['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE']);
const resetType = z.enum(['On', 'ForceOn', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'PowerCycle', 'FullPowerCycle', 'Nmi', 'PushPowerButton', 'Suspend', 'Pause', 'Resume']);

/** Validates faults from outside TypeScript (the CLI's --faults JSON, Python peers). */
export const faultsSchema: z.ZodType<BmcFaultsPatch> = z
  .object({
    powerOnDelayMs: ms,
    powerOffDelayMs: ms,
    latencyMs: z.union([ms, z.tuple([ms, ms])]),
    dropProbability: probability,
    dropAfterHandling: z.boolean(),
    staleKeepAliveProbability: probability,
    closeConnections: z.boolean(),
    serverErrorProbability: probability,
    serverErrorStatus: z.union([z.literal(500), z.literal(503)]),
    retryAfterSeconds: z.number().int().min(0).nullable(),
    serverErrorMethods: z.array(method).nullable(),
    rejectIdentityEncoding: z.boolean(),
    etagStyle: z.enum(['strong', 'weak', 'gzip']),
    etagInBody: z.boolean(),
    requireIfMatch: z.boolean(),
    rejectWeakIfMatch: z.boolean(),
    rejectAllIfMatch: z.boolean(),
    tasks: z
      .object({
        on: z.array(z.enum(['reset', 'patch'])),
        runningPolls: z.number().int().min(0),
        notFoundPolls: z.number().int().min(0),
        retryAfterSeconds: z.number().int().min(0).nullable(),
        fail: z.boolean(),
        location: z.enum(['task', 'monitor']),
      })
      .partial()
      .nullable(),
    bootOverrideIgnored: z.boolean(),
    bootOnSettingsObject: z.union([z.literal(false), z.literal('onReset'), z.literal('immediate')]),
    bootModeWriteRejected: z.boolean(),
    bootModeResetUnlessFull: z.boolean(),
    onceReadsAsContinuous: z.boolean(),
    bootTargets: z.array(z.string()).nullable(),
    bootEnabledValues: z.array(z.string()).nullable(),
    resetTypes: z.array(resetType).nullable(),
    resetTypesViaActionInfo: z.boolean(),
    powerCycleNotImplemented: z.boolean(),
    resetCooldownMs: ms,
    busyWhileTransitioning: z.boolean(),
    errorBodyStyle: z.enum(['standard', 'extended-info-object', 'empty', 'html', 'text-as-json']),
    lowercaseLinks: z.boolean(),
    redirectSystemName: z.boolean(),
    patchStatus: z.union([z.literal(200), z.literal(204)]),
    resetStatus: z.union([z.literal(200), z.literal(204)]),
  })
  .strict()
  .partial();

const taskDefaults: TaskFaults = { on: ['reset', 'patch'], runningPolls: 2, notFoundPolls: 0, retryAfterSeconds: 1, fail: false, location: 'task' };
export const TASK_DEFAULTS: Readonly<TaskFaults> = Object.freeze(taskDefaults);

export function mergeFaults(base: Readonly<BmcFaults>, ...patches: ReadonlyArray<BmcFaultsPatch | undefined>): BmcFaults {
  const merged: BmcFaults = { ...base };
  for (const patch of patches) {
    if (!patch) continue;
    for (const [key, value] of Object.entries(patch)) {
      // An explicit undefined in a patch means "not mentioned", not "unset a required knob".
      if (value !== undefined) Object.assign(merged, { [key]: value });
    }
    if (patch.tasks) merged.tasks = { ...TASK_DEFAULTS, ...patch.tasks };
  }
  return merged;
}
