import { isJsonObject, normalisePath } from './tree.js';
import type { Json, JsonObject } from './tree.js';
import type { BmcFaults, BootOverride, BootRecord, PowerState, ResetType, SystemHandle } from './types.js';

export const ALL_RESET_TYPES: readonly ResetType[] = [
  'On',
  'ForceOn',
  'ForceOff',
  'GracefulShutdown',
  'GracefulRestart',
  'ForceRestart',
  'PowerCycle',
  'FullPowerCycle',
  'Nmi',
  'PushPowerButton',
  'Suspend',
  'Pause',
  'Resume',
];
const DEFAULT_ENABLED = ['Disabled', 'Once', 'Continuous'];
const DEFAULT_MODES = ['Legacy', 'UEFI'];
const RESET_ACTION = '#ComputerSystem.Reset';

/** What a system needs from its BMC: the emulator clock and the faults in force right now. */
export interface SystemHost {
  now(): number;
  faults(): BmcFaults;
  /** The system powered on and recorded what it boots. */
  booted(system: string, record: BootRecord): void;
}

function strings(value: Json | undefined): string[] | null {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : null;
}

/**
 * One ComputerSystem's mutable state on top of its frozen mockup body: power (with lag), boot override,
 * pending Settings-object values and a record of every boot, so tests can see what the machine booted from.
 */
export class EmulatedSystem implements SystemHandle {
  readonly id: string;
  readonly name: string;
  readonly resetPath: string;
  readonly settingsPath: string;
  readonly actionInfoPath: string;
  /** Bumped when the System's representation is written: the ETag follows it, power lag does not. */
  generation = 0;
  settingsGeneration = 0;
  /** Emulator time of the last accepted Reset (for the cooldown quirk). */
  lastResetAt = Number.NEGATIVE_INFINITY;
  private state: PowerState;
  private override: BootOverride;
  private pending: Partial<BootOverride> | null = null;
  private readonly history: BootRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Writable non-Boot properties (AssetTag, IndicatorLED…) as last PATCHed. */
  readonly extra = new Map<string, Json>();
  readonly bootExtra = new Map<string, Json>();

  constructor(
    readonly path: string,
    private readonly base: JsonObject,
    private readonly host: SystemHost,
    initialPower: 'On' | 'Off' | null,
  ) {
    this.id = typeof base.Id === 'string' ? base.Id : (path.split('/').pop() ?? path);
    this.name = typeof base.Name === 'string' ? base.Name : this.id;
    const action = this.baseResetAction();
    this.resetPath = typeof action?.target === 'string' ? normalisePath(action.target) : `${path}/Actions/ComputerSystem.Reset`;
    this.settingsPath = `${path}/Settings`;
    this.actionInfoPath = `${path}/ResetActionInfo`;
    const mockupPower = base.PowerState === 'Off' ? 'Off' : 'On';
    this.state = initialPower ?? mockupPower;
    const boot = this.baseBoot();
    this.override = {
      target: typeof boot.BootSourceOverrideTarget === 'string' ? boot.BootSourceOverrideTarget : 'None',
      enabled: typeof boot.BootSourceOverrideEnabled === 'string' ? boot.BootSourceOverrideEnabled : 'Disabled',
      mode: typeof boot.BootSourceOverrideMode === 'string' ? boot.BootSourceOverrideMode : null,
    };
  }

  private baseBoot(): JsonObject {
    return isJsonObject(this.base.Boot) ? this.base.Boot : {};
  }

  private baseResetAction(): JsonObject | undefined {
    const actions = this.base.Actions;
    if (!isJsonObject(actions)) return undefined;
    const action = actions[RESET_ACTION];
    return isJsonObject(action) ? action : undefined;
  }

  get powerState(): PowerState {
    return this.state;
  }
  get boot(): BootOverride {
    return { ...this.override };
  }
  get pendingBoot(): Readonly<Partial<BootOverride>> | null {
    return this.pending ? { ...this.pending } : null;
  }
  get bootHistory(): readonly BootRecord[] {
    return this.history;
  }

  targets(): readonly string[] | null {
    return this.host.faults().bootTargets ?? strings(this.baseBoot()['BootSourceOverrideTarget@Redfish.AllowableValues']);
  }
  enabledValues(): readonly string[] {
    return this.host.faults().bootEnabledValues ?? strings(this.baseBoot()['BootSourceOverrideEnabled@Redfish.AllowableValues']) ?? DEFAULT_ENABLED;
  }
  modes(): readonly string[] {
    return strings(this.baseBoot()['BootSourceOverrideMode@Redfish.AllowableValues']) ?? DEFAULT_MODES;
  }
  resetTypes(): readonly string[] {
    return this.host.faults().resetTypes ?? strings(this.baseResetAction()?.['ResetType@Redfish.AllowableValues']) ?? ALL_RESET_TYPES;
  }
  setPowerState(state: 'On' | 'Off'): void {
    this.cancel();
    this.state = state;
  }

  setBoot(boot: Partial<BootOverride>): void {
    this.override = { ...this.override, ...boot };
    this.generation++;
  }

  setPending(boot: Partial<BootOverride>): void {
    this.pending = { ...this.pending, ...boot };
    this.settingsGeneration++;
  }

  /** Power and boot effects of an accepted Reset; validation is the caller's job. */
  applyReset(type: string): void {
    const on = this.state === 'On' || this.state === 'PoweringOn';
    switch (type) {
      case 'On':
      case 'ForceOn':
        if (!on) this.powerOn();
        return;
      case 'ForceOff':
      case 'GracefulShutdown':
        if (on) this.powerOff();
        return;
      case 'PushPowerButton':
        if (on) this.powerOff();
        else this.powerOn();
        return;
      case 'ForceRestart':
      case 'GracefulRestart':
      case 'PowerCycle':
      case 'FullPowerCycle':
        // A restart of a machine that is off powers it on: what most BMCs do, and it still boots.
        if (on) this.powerOff(() => this.powerOn());
        else this.powerOn();
        return;
      default:
        // Nmi, Suspend, Pause, Resume: accepted, no power change.
        return;
    }
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private powerOn(): void {
    this.cancel();
    const delay = this.host.faults().powerOnDelayMs;
    if (delay <= 0) {
      this.state = 'On';
      this.booted();
      return;
    }
    this.state = 'PoweringOn';
    this.timer = setTimeout(() => {
      this.timer = null;
      this.state = 'On';
      this.booted();
    }, delay);
  }

  private powerOff(then?: () => void): void {
    this.cancel();
    const delay = this.host.faults().powerOffDelayMs;
    const done = (): void => {
      this.state = 'Off';
      then?.();
    };
    if (delay <= 0) {
      done();
      return;
    }
    this.state = 'PoweringOff';
    this.timer = setTimeout(() => {
      this.timer = null;
      done();
    }, delay);
  }

  /** The firmware reads the override as the machine comes up; `Once` is spent here. */
  private booted(): void {
    if (this.pending) {
      this.override = { ...this.override, ...this.pending };
      this.pending = null;
      this.settingsGeneration++;
      this.generation++;
    }
    const active = this.override.enabled !== 'Disabled';
    const record: BootRecord = { at: this.host.now(), target: active ? this.override.target : null, enabled: this.override.enabled, mode: this.override.mode };
    this.history.push(record);
    if (this.override.enabled === 'Once') {
      this.override = { ...this.override, enabled: 'Disabled', target: 'None' };
      this.generation++;
    }
    // Last, so a listener that reads the system sees the override already spent.
    this.host.booted(this.id, record);
  }

  private renderBoot(view: BootOverride): JsonObject {
    const faults = this.host.faults();
    const boot: Record<string, Json> = { ...this.baseBoot() };
    for (const [key, value] of this.bootExtra) boot[key] = value;
    boot.BootSourceOverrideTarget = view.target;
    boot.BootSourceOverrideEnabled = view.enabled;
    if (view.mode !== null) boot.BootSourceOverrideMode = view.mode;
    if (faults.bootTargets) boot['BootSourceOverrideTarget@Redfish.AllowableValues'] = [...faults.bootTargets];
    if (faults.bootEnabledValues) boot['BootSourceOverrideEnabled@Redfish.AllowableValues'] = [...faults.bootEnabledValues];
    return boot;
  }

  private renderActions(): JsonObject {
    const faults = this.host.faults();
    const actions: Record<string, Json> = isJsonObject(this.base.Actions) ? { ...this.base.Actions } : {};
    actions[RESET_ACTION] = faults.resetTypesViaActionInfo
      ? { target: this.resetPath, '@Redfish.ActionInfo': this.actionInfoPath }
      : { target: this.resetPath, 'ResetType@Redfish.AllowableValues': [...this.resetTypes()] };
    return actions;
  }

  render(): JsonObject {
    const body: Record<string, Json> = { ...this.base };
    for (const [key, value] of this.extra) body[key] = value;
    body.PowerState = this.state;
    body.Boot = this.renderBoot(this.override);
    body.Actions = this.renderActions();
    if (this.host.faults().bootOnSettingsObject !== false) {
      body['@Redfish.Settings'] = {
        '@odata.type': '#Settings.v1_3_5.Settings',
        SettingsObject: { '@odata.id': this.settingsPath },
        SupportedApplyTimes: ['OnReset'],
      };
    }
    return body;
  }

  /** The Settings object shows what will apply at the next reset. */
  renderSettings(): JsonObject {
    return {
      '@odata.id': this.settingsPath,
      '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
      Id: 'Settings',
      Name: `${this.name} pending settings`,
      Boot: this.renderBoot({ ...this.override, ...this.pending }),
    };
  }

  renderActionInfo(): JsonObject {
    return {
      '@odata.id': this.actionInfoPath,
      '@odata.type': '#ActionInfo.v1_3_0.ActionInfo',
      Id: 'ResetActionInfo',
      Name: 'Reset Action Info',
      Parameters: [{ Name: 'ResetType', Required: true, DataType: 'String', AllowableValues: [...this.resetTypes()] }],
    };
  }

  dispose(): void {
    this.cancel();
  }
}
