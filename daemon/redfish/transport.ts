import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { RedfishError } from './errors.js';

export interface BmcEndpoint {
  /** Base URL: scheme, host, port. */
  address: string;
  insecureSkipVerify: boolean;
  caBundle: string | null;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The URL path that answered, after redirects. */
  path: string;
}

export interface RawRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  /** False for requests that must not happen twice (a restart): sent on a fresh socket, never resent. */
  idempotent: boolean;
}

const MAX_REDIRECTS = 5;
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * HTTP(S) to one BMC: a keep-alive agent trusting the host's CA bundle (or, only when asked,
 * nothing), same-origin redirects followed (sushy-tools answers a system's name with 307 to
 * its UUID), bounded bodies and a deadline per request.
 */
export class BmcTransport {
  private readonly base: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  /** Without an agent, TLS settings go on the request itself. */
  private readonly tlsOptions: { rejectUnauthorized: boolean; ca?: string } | null;

  constructor(endpoint: BmcEndpoint) {
    this.base = new URL(endpoint.address);
    const tls = this.base.protocol === 'https:';
    this.tlsOptions = tls ? { rejectUnauthorized: !endpoint.insecureSkipVerify, ...(endpoint.caBundle ? { ca: endpoint.caBundle } : {}) } : null;
    this.agent = tls
      ? new HttpsAgent({
          keepAlive: true,
          maxSockets: 2,
          rejectUnauthorized: !endpoint.insecureSkipVerify,
          ...(endpoint.caBundle ? { ca: endpoint.caBundle } : {}),
        })
      : new HttpAgent({ keepAlive: true, maxSockets: 2 });
  }

  get origin(): string {
    return this.base.origin;
  }

  close(): void {
    this.agent.destroy();
  }

  async send(request: RawRequest): Promise<RawResponse> {
    let path = request.path;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const response = await this.onceOnFreshSocketIfStale({ ...request, path });
      const location = response.headers.location;
      if (![301, 302, 307, 308].includes(response.status) || !location) return response;
      const next = new URL(location, this.base);
      if (next.origin !== this.base.origin) {
        throw new RedfishError(`BMC redirected ${request.method} ${path} to another host (${next.origin}); not followed`, 'protocol', response.status);
      }
      path = `${next.pathname}${next.search}`;
    }
    throw new RedfishError(`BMC redirected ${request.method} ${request.path} more than ${MAX_REDIRECTS} times`, 'protocol');
  }

  /**
   * A kept-alive socket the BMC already closed fails before the request reaches it (quirk 13);
   * Node marks such requests `reusedSocket`, and sending once more on a new socket is safe for
   * every method, since the BMC never saw the first.
   */
  private async onceOnFreshSocketIfStale(request: RawRequest): Promise<RawResponse> {
    try {
      return await this.once(request);
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error;
      // Only idempotent requests ever ride a reused socket (see once()), so resending is safe.
      return this.once(request);
    }
  }

  private once(request: RawRequest): Promise<RawResponse> {
    const url = new URL(request.path, this.base);
    const body = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: request.method,
          // A reset on a reused socket that dies is ambiguous (stale, or answer lost after the
          // BMC acted?): non-idempotent requests take a socket of their own, so it never is.
          agent: request.idempotent ? this.agent : false,
          ...(request.idempotent || !this.tlsOptions ? {} : this.tlsOptions),
          headers: {
            accept: 'application/json',
            'odata-version': '4.0',
            ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
            ...request.headers,
          },
          timeout: request.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              req.destroy(new RedfishError(`BMC response to ${request.method} ${url.pathname} is larger than ${MAX_BODY_BYTES} bytes`, 'protocol'));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), path: url.pathname }));
          res.on('error', (error) => reject(toTransportError(error, request.method, url.pathname)));
        },
      );
      req.on('timeout', () => req.destroy(new RedfishError(`BMC did not answer ${request.method} ${url.pathname} within ${request.timeoutMs} ms`, 'timeout')));
      req.on('error', (error) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (request.idempotent && req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) reject(new StaleSocketError());
        else reject(toTransportError(error, request.method, url.pathname));
      });
      req.end(body);
    });
  }
}

class StaleSocketError extends Error {}

function toTransportError(error: Error, method: string, path: string): RedfishError {
  if (error instanceof RedfishError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const tls = code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME/.test(code);
  const hint = tls ? ' (TLS verification failed: give the BMC CA in caBundle, or set insecureSkipVerify)' : '';
  return new RedfishError(`${method} ${path} failed: ${code ?? error.message}${hint}`, 'transport');
}
