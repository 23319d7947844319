import type { IncomingHttpHeaders } from 'node:http';
import { bodyEtag, checkIfMatch, etagHeader, etagToken } from './etag.js';
import { baseMessage, errorResponse } from './errors.js';
import { jsonResponse } from './http.js';
import type { BmcResponse } from './http.js';
import type { Random } from './prng.js';
import { seededRandom } from './prng.js';
import { SessionStore } from './sessions.js';
import { EmulatedSystem } from './system.js';
import type { SystemHost } from './system.js';
import { TaskStore } from './tasks.js';
import { ROOT, isJsonObject, lookup } from './tree.js';
import type { Json, JsonObject, MockupTree } from './tree.js';
import type { BmcConfig, BmcFaults, BmcStats, BootEvent, BootRecord } from './types.js';

export type SystemRouteKind = 'system' | 'reset' | 'settings' | 'actionInfo';
export type SessionMode = 'enabled' | 'links-only' | 'absent';

const DEFAULT_SESSION_TIMEOUT_MS = 30 * 60_000;

export function emptyStats(): BmcStats {
  return {
    requests: 0,
    byRoute: new Map(),
    byStatus: new Map(),
    inFlight: 0,
    maxInFlight: 0,
    resets: [],
    bootPatches: [],
    sessionsCreated: 0,
    sessionsDeleted: 0,
    loginFailures: 0,
    droppedConnections: 0,
    injectedErrors: 0,
  };
}

export interface CoreOptions {
  index: number;
  config: BmcConfig;
  tree: MockupTree;
  faults: BmcFaults;
  seed: number;
  clock: () => number;
  onBoot?: ((event: BootEvent) => void) | undefined;
}

/**
 * All state of one emulated BMC. The tree is shared and frozen; everything this BMC changed lives
 * here (overlay, generations, systems, sessions, tasks), which keeps a BMC to a few kilobytes.
 */
export class BmcCore implements SystemHost {
  readonly index: number;
  readonly config: BmcConfig;
  readonly tree: MockupTree;
  readonly initialFaults: BmcFaults;
  activeFaults: BmcFaults;
  readonly random: Random;
  readonly systems: EmulatedSystem[];
  readonly sessions: SessionStore;
  readonly sessionMode: SessionMode;
  readonly sessionsPath: string | null;
  readonly sessionTimeoutMs: number;
  readonly tasks = new TaskStore();
  readonly stats: BmcStats = emptyStats();
  private readonly clock: () => number;
  private readonly onBoot: ((event: BootEvent) => void) | undefined;
  private readonly systemRoutes = new Map<string, { system: EmulatedSystem; kind: SystemRouteKind }>();
  /** Copy-on-write: a resource is cloned into the overlay the first time this BMC writes it. */
  private readonly overlay = new Map<string, JsonObject>();
  private readonly generations = new Map<string, number>();

  constructor(options: CoreOptions) {
    this.index = options.index;
    this.config = options.config;
    this.tree = options.tree;
    this.initialFaults = options.faults;
    this.activeFaults = options.faults;
    this.random = seededRandom(options.seed);
    this.clock = options.clock;
    this.onBoot = options.onBoot;
    this.systems = this.tree.systemPaths.map((path) => {
      const base = this.tree.resources.get(path);
      if (!base) throw new Error(`system ${path} vanished from the tree`);
      return new EmulatedSystem(path, base, this, options.config.initialPowerState);
    });
    for (const system of this.systems) {
      this.systemRoutes.set(system.path.toLowerCase(), { system, kind: 'system' });
      this.systemRoutes.set(system.resetPath.toLowerCase(), { system, kind: 'reset' });
      this.systemRoutes.set(system.settingsPath.toLowerCase(), { system, kind: 'settings' });
      this.systemRoutes.set(system.actionInfoPath.toLowerCase(), { system, kind: 'actionInfo' });
    }
    const service = this.tree.resources.get(`${ROOT}/SessionService`);
    const mode = options.config.sessionService;
    this.sessionMode = mode === 'auto' ? (service ? 'enabled' : 'absent') : mode;
    this.sessionsPath = this.sessionMode === 'enabled' ? `${ROOT}/SessionService/Sessions` : this.sessionMode === 'links-only' ? `${ROOT}/Sessions` : null;
    const mockupTimeout = typeof service?.SessionTimeout === 'number' ? service.SessionTimeout * 1000 : null;
    this.sessionTimeoutMs = options.config.sessionTimeoutMs ?? mockupTimeout ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.sessions = new SessionStore(options.config.sessionLimit, this.sessionTimeoutMs, () => this.clock());
  }

  now(): number {
    return this.clock();
  }

  faults(): BmcFaults {
    return this.activeFaults;
  }

  booted(system: string, record: BootRecord): void {
    if (!this.onBoot) return;
    try {
      this.onBoot({ bmc: this.index, system, record: { ...record } });
    } catch (error) {
      // A listener's bug must not leave a system half-booted or fail the BMC's answer; surface it instead.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  chance(probability: number): boolean {
    return probability > 0 && this.random() < probability;
  }

  systemRoute(path: string): { system: EmulatedSystem; kind: SystemRouteKind } | undefined {
    return this.systemRoutes.get(path.toLowerCase());
  }

  /** Canonical path of a tree resource, whatever the case or trailing slash the client used. */
  findResource(path: string): string | undefined {
    return lookup(this.tree, path);
  }

  resource(canonical: string): JsonObject | undefined {
    return this.overlay.get(canonical) ?? this.tree.resources.get(canonical);
  }

  generation(canonical: string): number {
    return this.generations.get(canonical) ?? 0;
  }

  write(canonical: string, body: JsonObject): void {
    this.overlay.set(canonical, body);
    this.generations.set(canonical, this.generation(canonical) + 1);
  }

  /** 200 with the body and its ETag, in the header and (if configured) as `@odata.etag`. */
  resourceResponse(path: string, body: JsonObject, generation: number, headers: IncomingHttpHeaders, status = 200): BmcResponse {
    const token = etagToken(this.index, path, generation);
    const faults = this.activeFaults;
    const out: JsonObject = faults.etagInBody ? { ...body, '@odata.etag': bodyEtag(token, faults) } : body;
    return jsonResponse(status, out, { ETag: etagHeader(token, faults, headers) });
  }

  /** 428/412 when the request's If-Match does not satisfy this BMC; undefined when it may proceed. */
  precondition(path: string, generation: number, headers: IncomingHttpHeaders): BmcResponse | undefined {
    const ifMatch = headers['if-match'];
    const verdict = checkIfMatch(ifMatch, etagToken(this.index, path, generation), this.activeFaults);
    if (verdict === 'missing') return errorResponse(428, [baseMessage('PreconditionRequired')]);
    if (verdict === 'mismatch') return errorResponse(412, [baseMessage('PreconditionFailed')]);
    return undefined;
  }

  serviceRoot(): JsonObject {
    const base = this.tree.resources.get(ROOT) ?? {};
    const root: Record<string, Json> = { ...base };
    const links: Record<string, Json> = isJsonObject(base.Links) ? { ...base.Links } : {};
    if (this.sessionMode === 'enabled') root.SessionService ??= { '@odata.id': `${ROOT}/SessionService` };
    else delete root.SessionService;
    if (this.sessionsPath) links.Sessions = { '@odata.id': this.sessionsPath };
    else delete links.Sessions;
    if (Object.keys(links).length > 0) root.Links = links;
    else delete root.Links;
    return root;
  }

  dispose(): void {
    for (const system of this.systems) system.dispose();
    this.sessions.clear();
  }
}
