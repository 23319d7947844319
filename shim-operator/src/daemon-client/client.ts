import { z } from 'zod';
import { eventViewSchema, type EventView } from '../../../daemon/core/schemas/event.js';
import { hostListSchema, hostViewSchema, type hostCreateSchema, type hostPatchSchema, type hostStates, type HostView } from '../../../daemon/core/schemas/host.js';
import { machineListSchema, machineViewSchema, type machineCreateSchema, type machinePhases, type MachineView } from '../../../daemon/core/schemas/machine.js';
import { DaemonApiError, problemsOf } from './errors.js';
import { DaemonTransport, type DaemonConnectionOptions, type DaemonReply, type DaemonRequest } from './transport.js';

/** What the caller sends; the daemon fills in defaults and is the one that validates. */
export type HostCreateInput = z.input<typeof hostCreateSchema>;
export type HostPatchInput = z.input<typeof hostPatchSchema>;
export type MachineCreateInput = z.input<typeof machineCreateSchema>;

export interface Page<T> {
  items: T[];
  /** Cursor of the next page; null on the last one. */
  continue: string | null;
}

interface ListFilter {
  namespace?: string;
  /** Equality only (`key=value`, ANDed): the daemon has no set-based selectors. */
  labelSelector?: Record<string, string>;
}

interface PageOptions {
  /** Page size (the daemon's default is 1000). */
  limit?: number;
  continue?: string;
}

export type HostListOptions = ListFilter & PageOptions & { state?: (typeof hostStates)[number] };
export type MachineListOptions = ListFilter & PageOptions & { phase?: (typeof machinePhases)[number] };

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface EventLogPage {
  items: EventView[];
  /** Id of the last event on the page (or the given `since` when empty): the next page's `since`. */
  next: number;
}

const eventLogSchema = z.object({ items: z.array(eventViewSchema), next: z.number().int() });

const API = '/api/v1';
const ref = (namespace: string, name: string) => `${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;

function listQuery(options: ListFilter & PageOptions, extra: Record<string, string | undefined>): URLSearchParams {
  const query = new URLSearchParams();
  if (options.namespace !== undefined) query.set('namespace', options.namespace);
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) query.set(key, value);
  for (const [key, value] of Object.entries(options.labelSelector ?? {})) query.append('label', `${key}=${value}`);
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.continue !== undefined) query.set('continue', options.continue);
  return query;
}

/**
 * Client of ONE daemon's REST API. Every answer is validated against the daemon's own view
 * schemas; failures are DaemonApiError. The shim holds one of these per daemon.
 */
export class DaemonClient {
  readonly transport: DaemonTransport;

  constructor(options: DaemonConnectionOptions) {
    this.transport = new DaemonTransport(options);
  }

  get url(): string {
    return this.transport.baseUrl;
  }

  // Hosts

  /** The host, or undefined when the daemon has none by that name. */
  async getHost(namespace: string, name: string, options: RequestOptions = {}): Promise<HostView | undefined> {
    const reply = await this.call({ method: 'GET', path: `${API}/hosts/${ref(namespace, name)}`, accept: [404], ...options });
    return reply.status === 404 ? undefined : this.parse(hostViewSchema, reply);
  }

  /** 409 (isConflict) when the name or a boot MAC is taken. */
  async createHost(body: HostCreateInput, options: RequestOptions = {}): Promise<HostView> {
    const reply = await this.call({ method: 'POST', path: `${API}/hosts`, body, ...options });
    return this.parse(hostViewSchema, reply);
  }

  /**
   * JSON merge patch: fields left out stay, a label set to null is removed. With
   * `resourceVersion` the patch applies only to that version (else 409, isConflict).
   */
  async updateHost(namespace: string, name: string, patch: HostPatchInput, options: RequestOptions = {}): Promise<HostView> {
    const reply = await this.call({ method: 'PATCH', path: `${API}/hosts/${ref(namespace, name)}`, body: patch, contentType: 'application/merge-patch+json', ...options });
    return this.parse(hostViewSchema, reply);
  }

  /**
   * Starts deletion (the host goes to Deleting, is powered off, then removed with event
   * Deleted). Undefined when the host is already gone; 409 while a machine claims it.
   */
  async deleteHost(namespace: string, name: string, options: RequestOptions = {}): Promise<HostView | undefined> {
    const reply = await this.call({ method: 'DELETE', path: `${API}/hosts/${ref(namespace, name)}`, accept: [404], ...options });
    return reply.status === 404 ? undefined : this.parse(hostViewSchema, reply);
  }

  async listHosts(options: HostListOptions = {}, request: RequestOptions = {}): Promise<Page<HostView>> {
    const reply = await this.call({ method: 'GET', path: `${API}/hosts`, query: listQuery(options, { state: options.state }), ...request });
    return this.parse(hostListSchema, reply);
  }

  /** Every page, in the daemon's order. Not a snapshot: hosts may come and go between pages. */
  async allHosts(options: Omit<HostListOptions, 'continue'> = {}, request: RequestOptions = {}): Promise<HostView[]> {
    return this.collect((cursor) => this.listHosts({ ...options, continue: cursor }, request));
  }

  // Machines

  async getMachine(namespace: string, name: string, options: RequestOptions = {}): Promise<MachineView | undefined> {
    const reply = await this.call({ method: 'GET', path: `${API}/machines/${ref(namespace, name)}`, accept: [404], ...options });
    return reply.status === 404 ? undefined : this.parse(machineViewSchema, reply);
  }

  /** 409 (isConflict) when the name is taken. */
  async createMachine(body: MachineCreateInput, options: RequestOptions = {}): Promise<MachineView> {
    const reply = await this.call({ method: 'POST', path: `${API}/machines`, body, ...options });
    return this.parse(machineViewSchema, reply);
  }

  /**
   * The machine while its host is deprovisioned (phase Deleting; event Deleted follows), or
   * undefined once it is gone (deleted at once because it held no host, or already absent).
   */
  async deleteMachine(namespace: string, name: string, options: RequestOptions = {}): Promise<MachineView | undefined> {
    const reply = await this.call({ method: 'DELETE', path: `${API}/machines/${ref(namespace, name)}`, accept: [404], ...options });
    return reply.status === 202 ? this.parse(machineViewSchema, reply) : undefined;
  }

  async listMachines(options: MachineListOptions = {}, request: RequestOptions = {}): Promise<Page<MachineView>> {
    const reply = await this.call({ method: 'GET', path: `${API}/machines`, query: listQuery(options, { phase: options.phase }), ...request });
    return this.parse(machineListSchema, reply);
  }

  async allMachines(options: Omit<MachineListOptions, 'continue'> = {}, request: RequestOptions = {}): Promise<MachineView[]> {
    return this.collect((cursor) => this.listMachines({ ...options, continue: cursor }, request));
  }

  // Events

  /** Events with id > since, oldest first, at most `limit` (1..500, default 100). */
  async readEventLog(options: { since: number; limit?: number }, request: RequestOptions = {}): Promise<EventLogPage> {
    const query = new URLSearchParams({ since: String(options.since) });
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const reply = await this.call({ method: 'GET', path: `${API}/events/log`, query, ...request });
    return this.parse(eventLogSchema, reply);
  }

  /**
   * The server-sent event stream after `afterEventId` (via Last-Event-ID), body unread.
   * `signal` ends the stream: give each stream its own. followEvents is the usual consumer.
   */
  openEventStream(afterEventId: number, signal: AbortSignal): Promise<Response> {
    return this.transport.open(
      { method: 'GET', path: `${API}/events`, headers: { 'last-event-id': String(afterEventId), 'cache-control': 'no-cache' }, signal },
      'text/event-stream',
    );
  }

  private call(request: DaemonRequest): Promise<DaemonReply> {
    return this.transport.exchange(request);
  }

  private parse<T extends z.ZodType>(schema: T, reply: DaemonReply): z.output<T> {
    const parsed = schema.safeParse(reply.body);
    if (parsed.success) return parsed.data;
    throw new DaemonApiError({
      status: reply.status,
      error: 'InvalidResponse',
      // Issues name fields and expectations, not values, so no secret can ride along.
      message: `${reply.request}: the daemon's answer does not match its schema (daemon and shim versions differ?)`,
      details: problemsOf(parsed.error),
      retryable: false,
      request: reply.request,
    });
  }

  private async collect<T>(page: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const next = await page(cursor);
      items.push(...next.items);
      cursor = next.continue ?? undefined;
    } while (cursor !== undefined);
    return items;
  }
}
