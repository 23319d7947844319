/**
 * Public types of the BMC emulator. Everything a test (or the Redfish client's author) needs to
 * start emulated BMCs, bend their behaviour and assert on what they received.
 */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export type PowerState = 'On' | 'Off' | 'PoweringOn' | 'PoweringOff';

export type ResetType =
  | 'On'
  | 'ForceOn'
  | 'ForceOff'
  | 'GracefulShutdown'
  | 'GracefulRestart'
  | 'ForceRestart'
  | 'PowerCycle'
  | 'FullPowerCycle'
  | 'Nmi'
  | 'PushPowerButton'
  | 'Suspend'
  | 'Pause'
  | 'Resume';

/**
 * `enabled`: SessionService in the root, sessions at /redfish/v1/SessionService/Sessions.
 * `links-only`: no SessionService (404); the root's `Links.Sessions` points at /redfish/v1/Sessions (iDRAC 7/8),
 * so a client that hard-codes the usual path fails.
 * `absent`: no sessions at all, Basic only (sushy-tools).
 * `auto`: `enabled` when the mockup has a SessionService, else `absent`.
 */
export type SessionServiceMode = 'enabled' | 'links-only' | 'absent' | 'auto';

/** Header format of the ETag (quirk 2). `gzip` is iDRAC behind mod_deflate: `"abc-gzip"` unless the client asked for identity. */
export type EtagStyle = 'strong' | 'weak' | 'gzip';

/** Shape of every error body the BMC sends (quirk 14). */
export type ErrorBodyStyle = 'standard' | 'extended-info-object' | 'empty' | 'html' | 'text-as-json';

export interface TaskFaults {
  /** Which operations answer 202 + task monitor instead of finishing at once. */
  on: ReadonlyArray<'reset' | 'patch'>;
  /** Polls of the task that still report Running before it completes. */
  runningPolls: number;
  /** First polls of the task URL that answer 404 (iDRAC10 creates the task lazily). */
  notFoundPolls: number;
  retryAfterSeconds: number | null;
  /** End the task in Exception and leave the state unchanged. */
  fail: boolean;
  /** What the 202's Location names: the Task resource (iDRAC jobs) or a DMTF task monitor (202 until done, then 204). */
  location: 'task' | 'monitor';
}

/**
 * Every knob that can change while the BMC runs (`bmc.setFaults`). Defaults: a well-behaved BMC.
 * Probabilistic knobs draw from the BMC's own seeded PRNG, so one BMC's sequence does not depend on
 * traffic to the others.
 */
export interface BmcFaults {
  // --- power timing (quirk 9)
  /** Time spent in PoweringOn before On; 0 switches at once. */
  powerOnDelayMs: number;
  /** Time spent in PoweringOff before Off; 0 switches at once. */
  powerOffDelayMs: number;

  // --- transport (quirks 12, 13)
  /** Added before every answer: fixed, or uniformly drawn from [min, max]. */
  latencyMs: number | readonly [number, number];
  /** Probability that a request's connection is destroyed without any response. */
  dropProbability: number;
  /** Drop only after the request took effect (the answer is lost, the reset happened). */
  dropAfterHandling: boolean;
  /** Probability that a request arriving on a reused keep-alive connection finds it reset. */
  staleKeepAliveProbability: number;
  /** Send `Connection: close` and close after every response (sushy-tools). */
  closeConnections: boolean;
  /** Probability of an injected server error instead of the real answer. */
  serverErrorProbability: number;
  /** 503 is a Redfish error with optional Retry-After; 500 is an HTML page (Intel). */
  serverErrorStatus: 500 | 503;
  retryAfterSeconds: number | null;
  /** Methods the server errors apply to; null = all. */
  serverErrorMethods: readonly HttpMethod[] | null;
  /** 406 to `Accept-Encoding: identity` (HPE Gen10+). */
  rejectIdentityEncoding: boolean;

  // --- ETag / If-Match (quirks 1, 2)
  etagStyle: EtagStyle;
  /** Also put the ETag in the body as `@odata.etag`. */
  etagInBody: boolean;
  /** PATCH without If-Match → 428. */
  requireIfMatch: boolean;
  /** A weak `W/"…"` If-Match never matches (strict RFC comparison) → 412. */
  rejectWeakIfMatch: boolean;
  /** Any If-Match, even the right one, → 412 (newer XCC). */
  rejectAllIfMatch: boolean;

  // --- async operations (quirk 17)
  tasks: TaskFaults | null;

  // --- boot override (quirks 3–7)
  /** 2xx but nothing changes (Supermicro, AMI). */
  bootOverrideIgnored: boolean;
  /**
   * Boot is read-only on the System (400 PropertyNotWritable); writes go to `<system>/Settings`, named by
   * `@Redfish.Settings`. `onReset`: pending values apply at the next power-on or reset; `immediate`: at once.
   */
  bootOnSettingsObject: false | 'onReset' | 'immediate';
  /** Any PATCH carrying BootSourceOverrideMode → 400 PropertyNotWritable. */
  bootModeWriteRejected: boolean;
  /** Mode falls back to Legacy unless sent together with Target and Enabled (Supermicro). */
  bootModeResetUnlessFull: boolean;
  /** `Once` is stored as `Continuous` and therefore never consumed (sushy-tools). */
  onceReadsAsContinuous: boolean;
  /** Replace the mockup's `BootSourceOverrideTarget@Redfish.AllowableValues`. */
  bootTargets: readonly string[] | null;
  /** Advertise and enforce `BootSourceOverrideEnabled@Redfish.AllowableValues` (some forbid `Once`). */
  bootEnabledValues: readonly string[] | null;

  // --- reset (quirks 8, 9)
  /** Replace the mockup's `ResetType@Redfish.AllowableValues`. */
  resetTypes: readonly ResetType[] | null;
  /** Publish reset types only behind `@Redfish.ActionInfo` (AMI, OpenBMC). */
  resetTypesViaActionInfo: boolean;
  /** PowerCycle → 501 before anything else (sushy-tools). */
  powerCycleNotImplemented: boolean;
  /** A Reset within this many ms of the previous accepted one → 400 InvalidOperationForSystemState (iLO). */
  resetCooldownMs: number;
  /** A Reset while PoweringOn/PoweringOff → 500 (iDRAC busy). */
  busyWhileTransitioning: boolean;

  // --- representation (quirks 14–16)
  errorBodyStyle: ErrorBodyStyle;
  /** Links (`@odata.id`, action targets, Location) lower-case with a trailing slash (iLO). */
  lowercaseLinks: boolean;
  /** `/Systems/<Name>` → 307 to `/Systems/<Id>` (sushy-tools). */
  redirectSystemName: boolean;

  // --- success statuses
  patchStatus: 200 | 204;
  resetStatus: 200 | 204;
}

/** What `setFaults` and the options take: any subset; `tasks` fields not given take their defaults. */
export type BmcFaultsPatch = Partial<Omit<BmcFaults, 'tasks'>> & { tasks?: Partial<TaskFaults> | null };

/** One-shot fault for the next matching request(s): deterministic where probabilities are not. */
export type ScriptedFault =
  | { kind: 'status'; status: number; retryAfterSeconds?: number; body?: 'redfish' | 'html' | 'empty' }
  | { kind: 'drop'; afterHandling?: boolean }
  | { kind: 'delay'; ms: number };

export interface ScriptedFaultMatch {
  /** How many matching requests get the fault (default 1). */
  times?: number;
  method?: HttpMethod;
  /** Exact normalised path, or a pattern tested against it. */
  path?: string | RegExp;
}

/** Static configuration of one BMC (fixed for its lifetime). */
export interface BmcConfig {
  /** A DMTF `public-*` mockup, `sushy-tools-capture/tree`, or any tree of `<uri>/index.json` files. */
  mockup: string;
  https: boolean;
  username: string;
  password: string;
  /** Accept HTTP Basic; false means sessions only. */
  basicAuth: boolean;
  sessionService: SessionServiceMode;
  /** Live sessions allowed at once; one more → 503 SessionLimitExceeded (iDRAC). */
  sessionLimit: number;
  /** Idle expiry; null takes SessionService.SessionTimeout from the mockup (seconds), else 30 min. */
  sessionTimeoutMs: number | null;
  /** Power state at start; null keeps the mockup's. */
  initialPowerState: 'On' | 'Off' | null;
  /** Entries kept in `bmc.requestLog`. */
  requestLogSize: number;
}

export type BmcOverrides = Partial<BmcConfig> & { faults?: BmcFaultsPatch };

export interface BmcEmulatorOptions extends Partial<Omit<BmcConfig, 'mockup'>> {
  /** Default mockup for every BMC. */
  mockup: string;
  /** How many BMCs (default: `bmcs.length`, else 1). */
  count?: number;
  /** Per-index overrides of the defaults. */
  bmcs?: ReadonlyArray<BmcOverrides | undefined>;
  /** Faults every BMC starts with. */
  faults?: BmcFaultsPatch;
  /** BMC i listens on portBase + i; default: an ephemeral port each. */
  portBase?: number;
  /** PRNG seed; BMC i uses a seed derived from it and i. */
  seed?: number;
  /** Bring your own certificate instead of a generated self-signed one. */
  tls?: { keyPem: string; certPem: string };
  /** Called after every request (for tracing). */
  onRequest?: (event: RequestLogEntry & { bmc: number }) => void;
  /**
   * Called synchronously each time a system powers on (power-on, restart, power cycle) with the record
   * just pushed to its `bootHistory`: what a simulated machine would boot. `system` is the System's Id.
   * A throw does not disturb the emulator; it is rethrown asynchronously (an uncaught exception).
   */
  onBoot?: (event: BootEvent) => void;
}

export interface BootEvent {
  /** Index of the BMC. */
  bmc: number;
  /** Id of the ComputerSystem. */
  system: string;
  record: BootRecord;
}

export interface BootOverride {
  target: string;
  enabled: string;
  mode: string | null;
}

export interface BootRecord {
  /** ms since the emulator started. */
  at: number;
  /** What the override said at power-on; `null` when no override was active (normal boot order). */
  target: string | null;
  enabled: string;
  mode: string | null;
}

export interface ResetRecord {
  at: number;
  system: string;
  resetType: string | null;
  /** HTTP status the BMC answered. */
  status: number;
}

export interface BootPatchRecord {
  at: number;
  system: string;
  /** Where the client wrote: the System or its Settings object. */
  via: 'system' | 'settings';
  boot: Readonly<Record<string, unknown>>;
  status: number;
  /** False when the BMC answered success but ignored it (bootOverrideIgnored) or failed it. */
  applied: boolean;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  /** HTTP status, or `dropped` when the connection was destroyed without an answer. */
  status: number | 'dropped';
  durationMs: number;
  auth: 'none' | 'basic' | 'session' | 'invalid';
  ifMatch: string | null;
  acceptEncoding: string | null;
  /** First 512 bytes of the request body. */
  body: string | null;
}

export interface SessionInfo {
  id: string;
  token: string;
  username: string;
  createdAt: number;
  lastUsedAt: number;
}

export interface BmcStats {
  requests: number;
  /** `"<METHOD> <normalised path>"` → count. */
  byRoute: Map<string, number>;
  byStatus: Map<number, number>;
  inFlight: number;
  /** Highest number of requests this BMC was answering at once. */
  maxInFlight: number;
  resets: ResetRecord[];
  bootPatches: BootPatchRecord[];
  sessionsCreated: number;
  sessionsDeleted: number;
  loginFailures: number;
  droppedConnections: number;
  injectedErrors: number;
}

export interface SystemHandle {
  readonly id: string;
  readonly path: string;
  readonly name: string;
  readonly powerState: PowerState;
  readonly boot: BootOverride;
  /** Values written to the Settings object and not applied yet. */
  readonly pendingBoot: Readonly<Partial<BootOverride>> | null;
  readonly bootHistory: readonly BootRecord[];
  /** Set the state directly (no transition, no boot record): arrange a test. */
  setPowerState(state: 'On' | 'Off'): void;
  setBoot(boot: Partial<BootOverride>): void;
}

export interface EmulatedBmc {
  readonly index: number;
  /** `http(s)://127.0.0.1:<port>`: the client requests `${url}/redfish/v1/...`. */
  readonly url: string;
  readonly port: number;
  readonly https: boolean;
  readonly username: string;
  readonly password: string;
  readonly config: Readonly<BmcConfig>;
  readonly systems: readonly SystemHandle[];
  /** By Id, by index, or the first. */
  system(idOrIndex?: string | number): SystemHandle;
  readonly faults: Readonly<BmcFaults>;
  setFaults(patch: BmcFaultsPatch): void;
  /** Back to the faults the BMC started with. */
  resetFaults(): void;
  failNext(fault: ScriptedFault, match?: ScriptedFaultMatch): void;
  liveSessions(): SessionInfo[];
  /** Forget every session, as a BMC reboot or idle timeout would. */
  expireSessions(): void;
  readonly stats: Readonly<BmcStats>;
  /** Requests received, filtered by method and/or path. */
  requestCount(method?: HttpMethod, path?: string | RegExp): number;
  readonly requestLog: readonly RequestLogEntry[];
  resetStats(): void;
}

export interface BmcEmulator {
  readonly bmcs: readonly EmulatedBmc[];
  /** PEM of the certificate the HTTPS BMCs present (self-signed: it is its own CA); null without HTTPS. */
  readonly caPem: string | null;
  /** Wall time startBmcEmulator took. */
  readonly startupMs: number;
  /** Client connections currently open across all BMCs. */
  openConnections(): number;
  totals(): { requests: number; inFlight: number; maxInFlight: number };
  /** Close every listener and connection and cancel every timer; resolves when all are gone. */
  stop(): Promise<void>;
}
