import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { authenticate } from './auth.js';
import { BmcCore, emptyStats } from './core.js';
import type { CoreOptions } from './core.js';
import { applyErrorStyle, baseMessage, errorResponse, htmlErrorPage } from './errors.js';
import { mergeFaults } from './faults.js';
import { BodyTooLarge, readBody, writeResponse } from './http.js';
import type { BmcResponse } from './http.js';
import { lowerLink, lowercaseBodyLinks } from './links.js';
import type { AuthResult, BmcRequest } from './request.js';
import { route } from './routes.js';
import { isJsonObject, normalisePath } from './tree.js';
import type {
  BmcConfig,
  BmcFaults,
  BmcFaultsPatch,
  BmcStats,
  EmulatedBmc,
  HttpMethod,
  RequestLogEntry,
  ScriptedFault,
  ScriptedFaultMatch,
  SessionInfo,
  SystemHandle,
} from './types.js';

const BODY_LIMIT = 1024 * 1024;

interface Scripted {
  fault: ScriptedFault;
  remaining: number;
  method: HttpMethod | undefined;
  path: string | RegExp | undefined;
}

/** Hooks into the emulator that owns this BMC: connection bookkeeping shared across BMCs. */
export interface BmcHost {
  readonly signal: AbortSignal;
  /** Requests already served on this connection (for the stale keep-alive fault). */
  useSocket(socket: Socket): number;
  inFlightChanged(delta: number): void;
  onRequest?: (event: RequestLogEntry & { bmc: number }) => void;
}

function redactPasswords(text: string): string {
  return text.replace(/("Password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"<redacted>"');
}

function scriptedResponse(fault: Extract<ScriptedFault, { kind: 'status' }>): BmcResponse {
  const headers: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(fault.retryAfterSeconds) };
  if (fault.body === 'empty') return { status: fault.status, headers, body: null };
  if (fault.body === 'html') return { status: fault.status, headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8' }, body: htmlErrorPage(fault.status, 'Injected error') };
  const message = fault.status === 503 ? baseMessage('ServiceTemporarilyUnavailable', [String(fault.retryAfterSeconds ?? 0)]) : baseMessage('GeneralError');
  return errorResponse(fault.status, [message], headers);
}

/** One emulated BMC: the HTTP pipeline (faults, auth, logging) around its state and routes. */
export class Bmc implements EmulatedBmc {
  readonly url: string;
  private readonly core: BmcCore;
  private readonly scripted: Scripted[] = [];
  private log: RequestLogEntry[] = [];

  constructor(
    options: CoreOptions,
    readonly port: number,
    private readonly host: BmcHost,
  ) {
    this.core = new BmcCore(options);
    this.url = `${options.config.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  }

  get index(): number {
    return this.core.index;
  }
  get https(): boolean {
    return this.core.config.https;
  }
  get username(): string {
    return this.core.config.username;
  }
  get password(): string {
    return this.core.config.password;
  }
  get config(): Readonly<BmcConfig> {
    return this.core.config;
  }
  get systems(): readonly SystemHandle[] {
    return this.core.systems;
  }
  get faults(): Readonly<BmcFaults> {
    return this.core.activeFaults;
  }
  get stats(): Readonly<BmcStats> {
    return this.core.stats;
  }
  get requestLog(): readonly RequestLogEntry[] {
    return this.log;
  }

  system(idOrIndex: string | number = 0): SystemHandle {
    const systems = this.core.systems;
    const found = typeof idOrIndex === 'number' ? systems[idOrIndex] : systems.find((s) => s.id === idOrIndex);
    if (!found) throw new Error(`BMC ${this.index} has no system ${String(idOrIndex)} (it has: ${systems.map((s) => s.id).join(', ') || 'none'})`);
    return found;
  }

  setFaults(patch: BmcFaultsPatch): void {
    this.core.activeFaults = mergeFaults(this.core.activeFaults, patch);
  }

  resetFaults(): void {
    this.core.activeFaults = this.core.initialFaults;
    this.scripted.length = 0;
  }

  failNext(fault: ScriptedFault, match: ScriptedFaultMatch = {}): void {
    this.scripted.push({ fault, remaining: match.times ?? 1, method: match.method, path: match.path });
  }

  liveSessions(): SessionInfo[] {
    return this.core.sessions.live();
  }

  expireSessions(): void {
    this.core.sessions.clear();
  }

  requestCount(method?: HttpMethod, path?: string | RegExp): number {
    let total = 0;
    for (const [key, count] of this.core.stats.byRoute) {
      const space = key.indexOf(' ');
      const m = key.slice(0, space);
      const p = key.slice(space + 1);
      if (method !== undefined && m !== method) continue;
      if (path !== undefined && (typeof path === 'string' ? normalisePath(path) !== p : !path.test(p))) continue;
      total += count;
    }
    return total;
  }

  resetStats(): void {
    // In place: requests in flight hold a reference and must still find their counters.
    const stats = this.core.stats;
    Object.assign(stats, { ...emptyStats(), inFlight: stats.inFlight, maxInFlight: stats.inFlight });
    this.log = [];
  }

  dispose(): void {
    this.core.dispose();
  }

  private takeScripted(method: string, path: string): ScriptedFault | undefined {
    const index = this.scripted.findIndex(
      (s) => (s.method === undefined || s.method === method) && (s.path === undefined || (typeof s.path === 'string' ? normalisePath(s.path) === path : s.path.test(path))),
    );
    const entry = this.scripted[index];
    if (!entry) return undefined;
    entry.remaining--;
    if (entry.remaining <= 0) this.scripted.splice(index, 1);
    return entry.fault;
  }

  private latency(faults: BmcFaults, scripted: ScriptedFault | undefined): number {
    if (scripted?.kind === 'delay') return scripted.ms;
    const latency = faults.latencyMs;
    if (typeof latency === 'number') return latency;
    const [min, max] = latency;
    return min + Math.floor(this.core.random() * (max - min + 1));
  }

  private decorate(response: BmcResponse, faults: BmcFaults): BmcResponse {
    let out = applyErrorStyle(response, faults.errorBodyStyle);
    if (faults.lowercaseLinks) {
      const body = isJsonObject(out.body) ? lowercaseBodyLinks(out.body) : out.body;
      const headers = out.headers.Location ? { ...out.headers, Location: lowerLink(out.headers.Location) } : out.headers;
      out = { ...out, headers, body };
    }
    if (faults.closeConnections) out = { ...out, headers: { ...out.headers, Connection: 'close' } };
    return out;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const core = this.core;
    const stats = core.stats;
    const started = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const path = normalisePath(req.url ?? '/');
    const reused = this.host.useSocket(req.socket) > 0;
    stats.requests++;
    const routeKey = `${method} ${path}`;
    stats.byRoute.set(routeKey, (stats.byRoute.get(routeKey) ?? 0) + 1);
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    this.host.inFlightChanged(1);
    res.once('close', () => {
      stats.inFlight--;
      this.host.inFlightChanged(-1);
    });

    let auth: AuthResult = { kind: 'none' };
    let body: Buffer = Buffer.alloc(0);
    const finish = (status: number | 'dropped'): void => {
      if (status !== 'dropped') stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
      const text = body.length > 0 ? redactPasswords(body.subarray(0, 512).toString('utf8')) : null;
      const entry: RequestLogEntry = {
        at: core.now(),
        method,
        path,
        status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        auth: auth.kind,
        ifMatch: req.headers['if-match'] ?? null,
        acceptEncoding: req.headers['accept-encoding'] ?? null,
        body: text,
      };
      this.log.push(entry);
      if (this.log.length > core.config.requestLogSize) this.log.splice(0, this.log.length - core.config.requestLogSize);
      this.host.onRequest?.({ ...entry, bmc: core.index });
    };
    const drop = (): void => {
      stats.droppedConnections++;
      req.socket.destroy();
      finish('dropped');
    };

    try {
      body = await readBody(req, BODY_LIMIT);
    } catch (error) {
      if (error instanceof BodyTooLarge && !res.headersSent) {
        writeResponse(res, { status: 413, headers: { Connection: 'close' }, body: null });
        finish(413);
      } else {
        req.socket.destroy();
      }
      return;
    }

    const faults = core.activeFaults;
    const scripted = this.takeScripted(method, path);
    const randomDrop = core.chance(faults.dropProbability);
    const dropBefore =
      (scripted?.kind === 'drop' && scripted.afterHandling !== true) || (randomDrop && !faults.dropAfterHandling) || (reused && core.chance(faults.staleKeepAliveProbability));
    const dropAfter = (scripted?.kind === 'drop' && scripted.afterHandling === true) || (randomDrop && faults.dropAfterHandling);
    const wait = this.latency(faults, scripted);
    if (wait > 0) {
      try {
        await sleep(wait, undefined, { signal: this.host.signal });
      } catch {
        req.socket.destroy();
        return;
      }
    }
    if (dropBefore) {
      drop();
      return;
    }

    auth = authenticate(core, req.headers);
    let response: BmcResponse;
    if (scripted?.kind === 'status') {
      stats.injectedErrors++;
      response = scriptedResponse(scripted);
    } else if ((faults.serverErrorMethods === null || faults.serverErrorMethods.includes(method as HttpMethod)) && core.chance(faults.serverErrorProbability)) {
      stats.injectedErrors++;
      response =
        faults.serverErrorStatus === 500
          ? { status: 500, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: htmlErrorPage(500, 'Internal Server Error') }
          : scriptedResponse({ kind: 'status', status: 503, ...(faults.retryAfterSeconds === null ? {} : { retryAfterSeconds: faults.retryAfterSeconds }) });
    } else {
      const request: BmcRequest = { method, path, headers: req.headers, body, auth };
      response = route(core, request);
    }
    if (dropAfter) {
      drop();
      return;
    }
    if (req.socket.destroyed) {
      finish('dropped');
      return;
    }
    writeResponse(res, this.decorate(response, faults));
    finish(response.status);
  }
}
