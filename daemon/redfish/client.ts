import { setTimeout as sleep } from 'node:timers/promises';
import { allowableValues, pick } from './allowable.js';
import { BmcConnection, samePath, type BmcCredentials, type ConnectionOptions, type Json, type Resource } from './connection.js';
import { RedfishError } from './errors.js';
import { awaitTask } from './tasks.js';
import type { BmcEndpoint } from './transport.js';

export type PowerState = 'On' | 'Off' | 'PoweringOn' | 'PoweringOff' | 'Paused' | 'Unknown';
export type BootMode = 'UEFI' | 'Legacy';

export interface SystemInfo {
  systemPath: string;
  manufacturer: string | null;
  model: string | null;
  serialNumber: string | null;
  uuid: string | null;
  biosVersion: string | null;
  powerState: PowerState;
  macAddresses: string[];
}

export interface PxeResult {
  /** What the BMC reads back: `Continuous` where it cannot do `Once`; clear it after the boot. */
  enabled: 'Once' | 'Continuous';
  /** Where the override was written (quirk 5). */
  via: 'system' | 'settings';
}

export interface ClientTimings {
  /** How long to wait for a power state after asking for it (quirk 9: 1–20 s in the field). */
  powerDeadlineMs: number;
  /** How long a graceful shutdown may take before a forced power-off. */
  gracefulDeadlineMs: number;
  pollIntervalMs: number;
  taskDeadlineMs: number;
}

export const DEFAULT_TIMINGS: ClientTimings = { powerDeadlineMs: 60_000, gracefulDeadlineMs: 120_000, pollIntervalMs: 1000, taskDeadlineMs: 120_000 };

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
const link = (value: unknown): string | null => text((value as Json | undefined)?.['@odata.id']);
const POWER_STATES = new Set<PowerState>(['On', 'Off', 'PoweringOn', 'PoweringOff', 'Paused']);

/**
 * The narrow Redfish interface the lifecycle needs, for one ComputerSystem on one BMC.
 * Everything vendor-specific is handled here, by what the BMC advertises, not by vendor name.
 */
export class RedfishClient {
  private systemPath: string | null = null;

  private constructor(
    private readonly connection: BmcConnection,
    private readonly systemId: string | null,
    private readonly timings: ClientTimings,
  ) {}

  /** Connects (session or Basic) and finds the system; call close() when done. */
  static async connect(
    endpoint: BmcEndpoint & { systemId: string | null },
    credentials: BmcCredentials,
    options?: { connection?: ConnectionOptions; timings?: Partial<ClientTimings> },
  ): Promise<RedfishClient> {
    const connection = new BmcConnection(endpoint, credentials, options?.connection);
    const client = new RedfishClient(connection, endpoint.systemId, { ...DEFAULT_TIMINGS, ...options?.timings });
    try {
      const root = await connection.open();
      client.systemPath = await client.findSystem(root);
      return client;
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  get usesSession(): boolean {
    return this.connection.usesSession;
  }

  private get path(): string {
    if (!this.systemPath) throw new RedfishError('not connected', 'protocol');
    return this.systemPath;
  }

  /** Picks the system: the named one, or the only one (quirk 16: never guess among several). */
  private async findSystem(root: Json): Promise<string> {
    const systemsLink = link(root.Systems);
    if (!systemsLink) throw new RedfishError(`BMC ${this.connection.address} has no Systems collection in its service root`, 'unsupported');
    const collection = await this.connection.get(systemsLink);
    const members = (Array.isArray(collection.body.Members) ? collection.body.Members : []).map(link).filter((p): p is string => p !== null);
    if (this.systemId) {
      const wanted = this.systemId;
      const byId = members.find((member) => samePath(member.split('/').filter(Boolean).at(-1) ?? '', wanted));
      if (byId) return byId;
      // Not a member id: the BMC may still resolve it (sushy-tools redirects a name to its UUID).
      try {
        const resolved = await this.connection.get(`${systemsLink.replace(/\/+$/, '')}/${encodeURIComponent(wanted)}`);
        return resolved.path;
      } catch (error) {
        if (error instanceof RedfishError && error.status === 404) {
          throw new RedfishError(`BMC ${this.connection.address} has no system "${wanted}"; it has: ${members.map((m) => m.split('/').filter(Boolean).at(-1)).join(', ') || 'none'}`, 'unsupported', 404);
        }
        throw error;
      }
    }
    if (members.length === 1 && members[0]) return members[0];
    if (members.length === 0) throw new RedfishError(`BMC ${this.connection.address} lists no ComputerSystem`, 'unsupported');
    throw new RedfishError(
      `BMC ${this.connection.address} has ${members.length} systems (${members.map((m) => m.split('/').filter(Boolean).at(-1)).join(', ')}); set redfishConnection.systemId to one of them`,
      'unsupported',
    );
  }

  private system(): Promise<Resource> {
    return this.connection.get(this.path);
  }

  async systemInfo(): Promise<SystemInfo> {
    const { body, path } = await this.system();
    return {
      systemPath: path,
      manufacturer: text(body.Manufacturer),
      model: text(body.Model),
      serialNumber: text(body.SerialNumber),
      uuid: text(body.UUID),
      biosVersion: text(body.BiosVersion),
      powerState: toPowerState(body.PowerState),
      macAddresses: await this.macAddresses(body),
    };
  }

  private async macAddresses(system: Json): Promise<string[]> {
    const collectionLink = link(system.EthernetInterfaces);
    if (!collectionLink) return [];
    const collection = await this.connection.get(collectionLink);
    const macs: string[] = [];
    for (const member of Array.isArray(collection.body.Members) ? collection.body.Members : []) {
      const memberLink = link(member);
      if (!memberLink) continue;
      const nic = await this.connection.get(memberLink);
      const mac = text(nic.body.PermanentMACAddress) ?? text(nic.body.MACAddress);
      if (mac && /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(mac)) macs.push(mac.toLowerCase().replaceAll('-', ':'));
    }
    return [...new Set(macs)];
  }

  async powerState(): Promise<PowerState> {
    return toPowerState((await this.system()).body.PowerState);
  }

  async powerOn(): Promise<void> {
    const { body } = await this.system();
    if (toPowerState(body.PowerState) === 'On') return;
    await this.reset(body, ['On', 'ForceOn', 'PushPowerButton'], 'power on');
    await this.waitFor('On', this.timings.powerDeadlineMs);
  }

  /** Graceful shutdown when allowed, forced off when it is not honoured in time. */
  async powerOff(options: { graceful: boolean } = { graceful: false }): Promise<void> {
    const { body } = await this.system();
    if (toPowerState(body.PowerState) === 'Off') return;
    if (options.graceful) {
      const allowed = await this.resetTypes(body);
      if (pick(allowed, 'GracefulShutdown')) {
        try {
          await this.reset(body, ['GracefulShutdown'], 'graceful shutdown');
          if (await this.reached('Off', this.timings.gracefulDeadlineMs)) return;
        } catch (error) {
          // Refused (no OS to ask, or not supported after all): force it, as promised.
          if (!(error instanceof RedfishError && error.kind === 'http')) throw error;
        }
      }
    }
    await this.reset(body, ['ForceOff', 'PushPowerButton'], 'power off');
    await this.waitFor('Off', this.timings.powerDeadlineMs);
  }

  /** Restarts a running system (or powers on a stopped one), falling back to off-then-on (quirk 8). */
  async restart(): Promise<void> {
    const { body } = await this.system();
    if (toPowerState(body.PowerState) === 'Off') return this.powerOn();
    const allowed = await this.resetTypes(body);
    for (const type of ['ForceRestart', 'PowerCycle', 'GracefulRestart']) {
      if (!pick(allowed, type)) continue;
      try {
        await this.postReset(body, pick(allowed, type) ?? type, 'restart');
        // Some BMCs pass through Off before they are On again; done means running again.
        await this.waitFor('On', this.timings.powerDeadlineMs);
        return;
      } catch (error) {
        // sushy-tools answers PowerCycle with 501; iLO lacks some types despite listing none.
        if (!(error instanceof RedfishError && [400, 405, 501].includes(error.status ?? 0))) throw error;
      }
    }
    await this.powerOff({ graceful: false });
    await this.powerOn();
  }

  private async resetTypes(system: Json): Promise<string[] | null> {
    const action = (system.Actions as Json | undefined)?.['#ComputerSystem.Reset'] as Json | undefined;
    if (!action) throw new RedfishError(`system ${this.path} offers no ComputerSystem.Reset action`, 'unsupported');
    return allowableValues(this.connection, action, 'ResetType');
  }

  private async reset(system: Json, preferred: string[], what: string): Promise<void> {
    const allowed = await this.resetTypes(system);
    const type = pick(allowed, ...preferred);
    if (!type) throw new RedfishError(`system ${this.path} allows none of ${preferred.join(', ')} for ${what} (it allows ${allowed?.join(', ')})`, 'unsupported');
    await this.postReset(system, type, what);
  }

  private async postReset(system: Json, type: string, what: string): Promise<void> {
    const action = (system.Actions as Json)['#ComputerSystem.Reset'] as Json;
    const target = text(action.target) ?? `${this.path.replace(/\/+$/, '')}/Actions/ComputerSystem.Reset`;
    // Asking again too soon (iLO 400 InvalidOperationForSystemState) or while busy (iDRAC 500)
    // is "not yet", not "no" (quirk 9). A forced restart twice is two restarts: never repeated
    // after a lost connection.
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.connection.post(target, { ResetType: type }, { idempotent: type !== 'ForceRestart' && type !== 'PowerCycle' && type !== 'GracefulRestart' && type !== 'PushPowerButton' });
        await awaitTask(this.connection, response, what, this.timings.taskDeadlineMs);
        return;
      } catch (error) {
        const busy = error instanceof RedfishError && error.status === 400 && /InvalidOperationForSystemState/i.test(`${error.messageId ?? ''} ${error.message}`);
        if (!busy || attempt >= 5) throw error;
        // A resent On/ForceOff whose first copy landed is refused the same way: already there is done.
        const wanted = type === 'On' || type === 'ForceOn' ? 'On' : type === 'ForceOff' || type === 'GracefulShutdown' ? 'Off' : null;
        if (wanted && (await this.powerState()) === wanted) return;
        await sleep(this.timings.pollIntervalMs * (attempt + 1));
      }
    }
  }

  private async reached(state: PowerState, deadlineMs: number): Promise<boolean> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      if ((await this.powerState()) === state) return true;
      if (Date.now() >= until) return false;
      await sleep(this.timings.pollIntervalMs);
    }
  }

  private async waitFor(state: PowerState, deadlineMs: number): Promise<void> {
    if (!(await this.reached(state, deadlineMs))) {
      throw new RedfishError(`system ${this.path} did not reach power state ${state} within ${Math.round(deadlineMs / 1000)} s (it is ${await this.powerState()})`, 'timeout');
    }
  }

  /**
   * Sets a one-time network boot and proves it by reading it back (quirk 4). Sends Target,
   * Enabled and Mode together (quirk 3: some BMCs reset Mode otherwise), drops Mode where it
   * is refused, and writes to the Settings object where the System's Boot is read-only (quirk 5).
   */
  async setOneTimePxe(mode: BootMode | null): Promise<PxeResult> {
    const system = await this.system();
    const boot = (system.body.Boot as Json | undefined) ?? {};
    const target = pick(await allowableValues(this.connection, boot, 'BootSourceOverrideTarget'), 'Pxe');
    if (!target) throw new RedfishError(`system ${this.path} does not offer Pxe as a boot override target`, 'unsupported');
    const enabledAllowed = await allowableValues(this.connection, boot, 'BootSourceOverrideEnabled');
    const enabled = pick(enabledAllowed, 'Once', 'Continuous');
    if (!enabled) throw new RedfishError(`system ${this.path} allows neither Once nor Continuous boot overrides`, 'unsupported');
    const modeAllowed = await allowableValues(this.connection, boot, 'BootSourceOverrideMode');
    // null keeps the firmware's current mode: switching it can swap the machine's firmware (sushy-tools' libvirt driver does).
    const modeValue = mode === null ? null : pick(modeAllowed, mode);
    const wanted: Json = { BootSourceOverrideTarget: target, BootSourceOverrideEnabled: enabled, ...('BootSourceOverrideMode' in boot && modeValue !== null ? { BootSourceOverrideMode: modeValue } : {}) };

    const via = await this.writeBoot(system, wanted);
    const readBack = via === 'settings' ? await this.settingsBoot(system.body) : ((await this.system()).body.Boot as Json | undefined);
    const gotTarget = text(readBack?.BootSourceOverrideTarget);
    const gotEnabled = text(readBack?.BootSourceOverrideEnabled);
    const targetOk = gotTarget?.toLowerCase() === target.toLowerCase();
    // Emulators read Once back as Continuous (quirk 6): accepted, and the caller clears it after boot.
    const enabledOk = gotEnabled === 'Once' || gotEnabled === 'Continuous';
    if (!targetOk || !enabledOk) {
      throw new RedfishError(
        `BMC ${this.connection.address} accepted the boot override but it did not stick: read back target ${gotTarget ?? 'none'}, enabled ${gotEnabled ?? 'none'}`,
        'verify',
      );
    }
    return { enabled: gotEnabled === 'Once' ? 'Once' : 'Continuous', via };
  }

  private async writeBoot(system: Resource, wanted: Json): Promise<'system' | 'settings'> {
    try {
      await this.patchWithEtag(system, { Boot: wanted });
      return 'system';
    } catch (error) {
      if (!(error instanceof RedfishError) || error.kind !== 'http') throw error;
      if (error.status === 400 && 'BootSourceOverrideMode' in wanted) {
        const { BootSourceOverrideMode: _dropped, ...withoutMode } = wanted;
        try {
          await this.patchWithEtag(await this.system(), { Boot: withoutMode });
          return 'system';
        } catch (retryError) {
          if (!(retryError instanceof RedfishError) || retryError.kind !== 'http') throw retryError;
          return this.writeSettings(system.body, withoutMode, retryError);
        }
      }
      return this.writeSettings(system.body, wanted, error);
    }
  }

  private async writeSettings(system: Json, wanted: Json, original: RedfishError): Promise<'settings'> {
    const settingsLink = link((system['@Redfish.Settings'] as Json | undefined)?.SettingsObject);
    if (!settingsLink || ![400, 403, 405].includes(original.status ?? 0)) throw original;
    const settings = await this.connection.get(settingsLink);
    await this.patchWithEtag(settings, { Boot: wanted });
    return 'settings';
  }

  private async settingsBoot(system: Json): Promise<Json | undefined> {
    const settingsLink = link((system['@Redfish.Settings'] as Json | undefined)?.SettingsObject);
    return settingsLink ? ((await this.connection.get(settingsLink)).body.Boot as Json | undefined) : undefined;
  }

  /**
   * Disables any boot override, so the next boot follows the normal order. BMCs disagree on
   * what a clear must carry (sushy-tools wants a target too, others refuse Target None), so
   * the forms are tried in turn.
   */
  async clearBootOverride(): Promise<void> {
    const system = await this.system();
    const boot = (system.body.Boot as Json | undefined) ?? {};
    if (text(boot.BootSourceOverrideEnabled) === 'Disabled') return;
    const disabled = pick(await allowableValues(this.connection, boot, 'BootSourceOverrideEnabled'), 'Disabled') ?? 'Disabled';
    const targets = await allowableValues(this.connection, boot, 'BootSourceOverrideTarget');
    const none = pick(targets, 'None');
    // Where the override is only ever Continuous (sushy-tools), clearing it means the disk again.
    const disk = targets === null ? null : pick(targets, 'Hdd');
    const forms: Json[] = [
      ...(none ? [{ BootSourceOverrideEnabled: disabled, BootSourceOverrideTarget: none }] : []),
      { BootSourceOverrideEnabled: disabled },
      ...(none ? [{ BootSourceOverrideTarget: none }] : []),
      ...(disk ? [{ BootSourceOverrideTarget: disk }] : []),
    ];
    let last: unknown;
    for (const form of forms) {
      try {
        await this.writeBoot(await this.system(), form);
        return;
      } catch (error) {
        last = error;
        if (!(error instanceof RedfishError) || error.status !== 400) throw error;
      }
    }
    throw last;
  }

  /**
   * PATCH with If-Match from the GET (quirk 1). ETags are many things in the field (quirk 2):
   * on 412 try the weak form, then none; on 428 (required but we had none) send `*`.
   */
  private async patchWithEtag(resource: Resource, body: Json): Promise<void> {
    const attempts: (string | null)[] = resource.etag ? [resource.etag, `W/${resource.etag}`, null] : [null, '*'];
    let last: unknown;
    for (const etag of attempts) {
      try {
        const response = await this.connection.patch(resource.path, body, { etag, idempotent: true });
        await awaitTask(this.connection, response, `PATCH ${resource.path}`, this.timings.taskDeadlineMs);
        return;
      } catch (error) {
        last = error;
        if (!(error instanceof RedfishError) || (error.status !== 412 && error.status !== 428)) throw error;
      }
    }
    throw last;
  }
}

function toPowerState(value: unknown): PowerState {
  return typeof value === 'string' && POWER_STATES.has(value as PowerState) ? (value as PowerState) : 'Unknown';
}
