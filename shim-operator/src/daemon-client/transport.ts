import { DaemonApiError, errorBodySchema, isRetryableStatus } from './errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface DaemonConnectionOptions {
  /** Base URL of one daemon's API listener; a path prefix (behind a reverse proxy) is kept. */
  url: string;
  /** Bearer API token of that daemon. */
  token: string;
  /** Budget of each request: connect, headers and the whole body (for streams: until the headers). */
  timeoutMs: number;
  /** Injected for tests and custom agents; defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface DaemonRequest {
  method: HttpMethod;
  /** Absolute API path, e.g. `/api/v1/hosts`; segments already encoded. */
  path: string;
  query?: URLSearchParams;
  /** Sent as JSON. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Non-2xx statuses handed back to the caller instead of thrown (404 for reads). */
  accept?: readonly number[];
}

export interface DaemonReply {
  /** `METHOD /path`, for messages. */
  request: string;
  status: number;
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown;
}

/** Aborts a request on its timeout or on the caller's signal, and remembers which came first. */
class RequestDeadline {
  readonly controller = new AbortController();
  timedOut = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unlink: () => void;

  constructor(
    readonly timeoutMs: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, timeoutMs);
    const forward = () => this.controller.abort();
    if (callerSignal?.aborted) forward();
    callerSignal?.addEventListener('abort', forward, { once: true });
    this.unlink = () => callerSignal?.removeEventListener('abort', forward);
  }

  get callerAborted(): boolean {
    return !this.timedOut && this.callerSignal?.aborted === true;
  }

  /** Stops the clock but keeps the caller's signal linked: a stream lives on after its headers. */
  stopClock(): void {
    clearTimeout(this.timer);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.unlink();
  }
}

/** HTTP to one daemon: auth, timeouts, and every failure turned into a DaemonApiError. */
export class DaemonTransport {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  // A private field: util.inspect and JSON.stringify of the client never show the token.
  readonly #token: string;
  readonly #fetch: typeof fetch;

  constructor(options: DaemonConnectionOptions) {
    const url = URL.canParse(options.url) ? new URL(options.url) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new TypeError('daemon url must be an http:// or https:// URL');
    if (url.username || url.password) throw new TypeError('daemon url must not carry credentials; pass the token separately');
    if (url.search || url.hash) throw new TypeError('daemon url must not have a query or fragment');
    if (options.token.trim() === '') throw new TypeError('daemon token must not be empty');
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) throw new TypeError('timeoutMs must be a positive number');
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    this.#token = options.token;
    this.#fetch = options.fetch ?? fetch;
  }

  /** One request with its whole body within timeoutMs. */
  async exchange(request: DaemonRequest): Promise<DaemonReply> {
    const deadline = new RequestDeadline(this.timeoutMs, request.signal);
    try {
      const response = await this.send(request, 'application/json', deadline);
      const text = await response.text();
      if (!response.ok && !request.accept?.includes(response.status)) throw this.httpError(request, response, text);
      return { request: this.describe(request), status: response.status, body: this.parseJson(request, response.status, text) };
    } catch (error) {
      throw this.failure(request, error, deadline);
    } finally {
      deadline.dispose();
    }
  }

  /**
   * Headers within timeoutMs; the body is left unread for the caller to stream. The signal ends
   * the stream, so give each stream a signal of its own.
   */
  async open(request: DaemonRequest & { signal: AbortSignal }, accept: string): Promise<Response> {
    const deadline = new RequestDeadline(this.timeoutMs, request.signal);
    try {
      const response = await this.send(request, accept, deadline);
      if (!response.ok) throw this.httpError(request, response, await response.text());
      deadline.stopClock();
      return response;
    } catch (error) {
      deadline.dispose();
      throw this.failure(request, error, deadline);
    }
  }

  /** The token must never reach a message, whatever a server or a proxy echoes back. */
  redact(text: string): string {
    return text.replaceAll(this.#token, '<redacted>');
  }

  private send(request: DaemonRequest, accept: string, deadline: RequestDeadline): Promise<Response> {
    const query = request.query?.toString();
    const headers: Record<string, string> = { accept, authorization: `Bearer ${this.#token}`, ...request.headers };
    if (request.body !== undefined) headers['content-type'] = request.contentType ?? 'application/json';
    return this.#fetch(`${this.baseUrl}${request.path}${query ? `?${query}` : ''}`, {
      method: request.method,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      // A redirect would carry the bearer token to wherever it points; the daemon never sends one.
      redirect: 'manual',
      signal: deadline.controller.signal,
    });
  }

  private describe(request: DaemonRequest): string {
    return `${request.method} ${request.path}`;
  }

  private parseJson(request: DaemonRequest, status: number, text: string): unknown {
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new DaemonApiError({
        status,
        error: 'InvalidResponse',
        message: `${this.describe(request)}: the answer is not JSON; is ${this.baseUrl} a beskar7 daemon?`,
        retryable: false,
        request: this.describe(request),
      });
    }
  }

  private httpError(request: DaemonRequest, response: Response, text: string): DaemonApiError {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = errorBodySchema.safeParse(json);
    const status = response.status;
    const body = parsed.success ? parsed.data : { error: `HTTP${status}`, message: `HTTP ${status} ${response.statusText}`.trim(), details: [] };
    return new DaemonApiError({
      status,
      error: body.error,
      message: this.redact(`${this.describe(request)}: ${body.message}`),
      details: body.details.map((problem) => ({ field: problem.field, message: this.redact(problem.message) })),
      retryable: isRetryableStatus(status),
      request: this.describe(request),
    });
  }

  private failure(request: DaemonRequest, error: unknown, deadline: RequestDeadline): DaemonApiError {
    if (error instanceof DaemonApiError) return error;
    const described = this.describe(request);
    if (deadline.timedOut) {
      return new DaemonApiError({ status: null, error: 'Timeout', message: `${described}: no answer from ${this.baseUrl} within ${deadline.timeoutMs} ms`, retryable: true, request: described });
    }
    if (deadline.callerAborted) {
      return new DaemonApiError({ status: null, error: 'Aborted', message: `${described}: aborted by the caller`, retryable: false, request: described });
    }
    // fetch reports network failures as TypeError('fetch failed') with the system error as its cause.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new DaemonApiError({ status: null, error: 'Unreachable', message: this.redact(`${described}: cannot reach ${this.baseUrl}: ${reason}`), retryable: true, request: described });
  }
}
