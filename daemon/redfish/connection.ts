import { RedfishError, describeErrorBody } from './errors.js';
import { normaliseEtag } from './etag.js';
import { DEFAULT_RETRY, isTransient, parseRetryAfter, withRetry, type RetryPolicy } from './retry.js';
import { BmcTransport, type BmcEndpoint, type RawResponse } from './transport.js';

export interface BmcCredentials {
  username: string;
  password: string;
}

export interface ConnectionOptions {
  timeoutMs: number;
  retry: RetryPolicy;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown; what: string }) => void;
}

export type Json = Record<string, unknown>;

export interface Resource {
  body: Json;
  etag: string | null;
  path: string;
}

export interface WriteOptions {
  /** From the GET just before; sent as If-Match (quirk 1). */
  etag?: string | null;
  /** Whether sending it twice is harmless; decides retries after lost connections. */
  idempotent: boolean;
}

/** Trailing slashes and case differ between BMCs (quirk 15); compare paths in this form. */
export function samePath(a: string, b: string): boolean {
  const norm = (p: string) => p.replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}

/**
 * An authenticated conversation with one BMC: a session from Links.Sessions when the BMC has
 * a SessionService, Basic auth when it has none (sushy-tools), re-login once on 401, and a
 * logout that always runs. Turns non-2xx answers into RedfishErrors with the BMC's words.
 */
export class BmcConnection {
  private readonly transport: BmcTransport;
  private sessionToken: string | null = null;
  private sessionPath: string | null = null;
  private identityEncoding = true;
  private readonly basic: string;

  constructor(
    endpoint: BmcEndpoint,
    credentials: BmcCredentials,
    private readonly options: ConnectionOptions = { timeoutMs: 15_000, retry: DEFAULT_RETRY },
  ) {
    this.transport = new BmcTransport(endpoint);
    this.basic = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    this.credentials = credentials;
  }

  private readonly credentials: BmcCredentials;

  get address(): string {
    return this.transport.origin;
  }

  get usesSession(): boolean {
    return this.sessionToken !== null;
  }

  async open(): Promise<Json> {
    const root = await this.get('/redfish/v1/');
    const links = root.body.Links as Json | undefined;
    const sessionsLink = (links?.Sessions as Json | undefined)?.['@odata.id'];
    const service = (root.body.SessionService as Json | undefined)?.['@odata.id'];
    const path = typeof sessionsLink === 'string' ? sessionsLink : typeof service === 'string' ? `${service.replace(/\/+$/, '')}/Sessions` : null;
    if (path) await this.login(path);
    return root.body;
  }

  private async login(path: string): Promise<void> {
    let response: RawResponse;
    try {
      // A 503/429 (OpenBMC after a reboot, iDRAC out of sessions) proves no session was made: retried.
      response = await this.retrying(`POST ${path}`, false, () =>
        this.raw('POST', path, { UserName: this.credentials.username, Password: this.credentials.password }, {}, 'none'),
      );
    } catch (error) {
      // No usable SessionService (404/405/501, as sushy-tools): Basic auth on every request instead.
      if (error instanceof RedfishError && error.kind === 'http' && [400, 404, 405, 501].includes(error.status ?? 0)) return;
      throw error;
    }
    const token = response.headers['x-auth-token'];
    if (typeof token !== 'string' || token === '') return;
    this.sessionToken = token;
    const location = response.headers.location;
    const body = safeJson(response.text);
    this.sessionPath = typeof location === 'string' ? new URL(location, this.transport.origin).pathname : typeof body?.['@odata.id'] === 'string' ? body['@odata.id'] : null;
  }

  /** Ends the session (leaked sessions lock users out on some BMCs) and the sockets. */
  async close(): Promise<void> {
    try {
      // Authenticated by the session itself; a 401 here means it is already gone, not "log in again".
      // Retried like any idempotent request: a busy BMC must not keep a leaked session.
      const path = this.sessionPath;
      if (path && this.sessionToken) await this.retrying(`DELETE ${path}`, true, () => this.raw('DELETE', path, undefined, {}, 'no-relogin')).catch(() => undefined);
    } finally {
      this.sessionToken = null;
      this.sessionPath = null;
      this.transport.close();
    }
  }

  async get(path: string): Promise<Resource> {
    const response = await this.retrying(`GET ${path}`, true, () => this.raw('GET', path, undefined, {}, 'auto'));
    const body = safeJson(response.text);
    if (!body) throw new RedfishError(`BMC answered GET ${path} with a body that is not a JSON object`, 'protocol', response.status);
    const etag = normaliseEtag(firstHeader(response.headers.etag) ?? (typeof body['@odata.etag'] === 'string' ? body['@odata.etag'] : null));
    return { body, etag, path: response.path };
  }

  /**
   * A GET whose answer may carry no JSON at all: a task monitor answers 202 while the task
   * runs and 204 (or the resource) when it is done.
   */
  async poll(path: string): Promise<{ status: number; body: Json | null }> {
    const response = await this.retrying(`GET ${path}`, true, () => this.raw('GET', path, undefined, {}, 'auto'));
    return { status: response.status, body: safeJson(response.text) };
  }

  async patch(path: string, body: Json, options: WriteOptions): Promise<RawResponse> {
    const headers: Record<string, string> = options.etag ? { 'if-match': options.etag } : {};
    return this.retrying(`PATCH ${path}`, options.idempotent, () => this.raw('PATCH', path, body, headers, 'auto'));
  }

  async post(path: string, body: Json, options: WriteOptions): Promise<RawResponse> {
    return this.retrying(`POST ${path}`, options.idempotent, () => this.raw('POST', path, body, {}, 'auto', options.idempotent));
  }

  private retrying<T>(what: string, idempotent: boolean, work: () => Promise<T>): Promise<T> {
    // A lost connection may hide a request that did happen: only repeat what is harmless twice.
    const retryable = (error: unknown) =>
      isTransient(error) && (idempotent || (error instanceof RedfishError && error.kind === 'http' && [429, 503].includes(error.status ?? 0)));
    return withRetry(work, this.options.retry, retryable, (info) => this.options.onRetry?.({ ...info, what }));
  }

  private async raw(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body: unknown,
    headers: Record<string, string>,
    authentication: 'none' | 'auto' | 'no-relogin',
    idempotent = method !== 'POST',
  ): Promise<RawResponse> {
    for (let attempt = 0; ; attempt++) {
      const auth: Record<string, string> = authentication === 'none' ? {} : this.sessionToken ? { 'x-auth-token': this.sessionToken } : { authorization: this.basic };
      // identity keeps iDRAC from appending -gzip to ETags (quirk 2); some HPE answer it with 406 (quirk 13).
      const encoding: Record<string, string> = this.identityEncoding ? { 'accept-encoding': 'identity' } : {};
      const response = await this.transport.send({ method, path, headers: { ...encoding, ...auth, ...headers }, body, timeoutMs: this.options.timeoutMs, idempotent });
      if (response.status === 406 && this.identityEncoding) {
        this.identityEncoding = false;
        continue;
      }
      if (response.status === 401 && authentication === 'auto' && this.sessionToken && attempt === 0) {
        // Session expired or was dropped by the BMC: log in again once.
        this.sessionToken = null;
        await this.open();
        continue;
      }
      if (response.status >= 400) {
        const { message, messageId } = describeErrorBody(response.text);
        const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
        throw new RedfishError(`BMC ${this.address} answered ${method} ${path} with ${response.status}: ${message}`, 'http', response.status, messageId, retryAfterMs);
      }
      return response;
    }
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeJson(text: string): Json | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : null;
  } catch {
    return null;
  }
}
