import { randomBytes } from 'node:crypto';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../core/event-bus.js';
import type { HostService } from '../core/hosts.js';
import type { MachineService } from '../core/machines.js';
import type { Store } from '../core/store.js';
import type { TokenService } from '../core/tokens.js';
import type { DaemonMetrics } from '../metrics/registry.js';
import { installAuth } from './auth.js';
import { installErrorHandling } from './errors.js';
import { buildOpenApi } from './openapi.js';
import { registerRoutes, type AnyRouteSpec } from './route.js';
import { docsRoutes } from './routes/docs.js';
import { EventStreams } from './routes/events.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { hostRoutes } from './routes/hosts.js';
import { machineRoutes } from './routes/machines.js';
import { tokenRoutes } from './routes/tokens.js';

export interface ApiDependencies {
  config: Config;
  version: string;
  logger: Logger;
  store: Store;
  bus: EventBus;
  metrics: DaemonMetrics;
  hosts: HostService;
  machines: MachineService;
  tokens: TokenService;
  readiness: Readiness;
  /** Routes of other adapters on this listener (the HTTP boot path). */
  extraRoutes?: AnyRouteSpec[];
  /** Read-only file trees, served with Content-Length and Range (images, iPXE binaries). */
  staticDirs?: { prefix: string; root: string }[];
}

function requestIds(): () => string {
  const prefix = randomBytes(3).toString('hex');
  let next = 0;
  return () => `${prefix}-${(next++).toString(36)}`;
}

/** NoCloud seed URLs carry a token in the path (cloud-init cannot send headers): never log it. */
export const NOCLOUD_ROUTE = '/api/v1/nocloud/:namespace/:name/:token/:file';

/**
 * The URL as it may be logged. Decided by the route that matched, not by the text, so an encoded
 * path (/api/v1/%6Eocloud/…) that reaches the same handler is redacted too.
 */
export function loggableUrl(url: string, route: string | undefined): string {
  if (route !== NOCLOUD_ROUTE) return url;
  const query = url.indexOf('?');
  const segments = (query < 0 ? url : url.slice(0, query)).split('/');
  // ['', 'api', 'v1', 'nocloud', ns, name, token, file]
  if (segments.length > 6) segments[6] = '<redacted>';
  return segments.join('/');
}

/** The HTTP adapter: routes translate requests to core calls and nothing more. */
export function buildApi(deps: ApiDependencies): FastifyInstance {
  const { config, metrics } = deps;
  const app = Fastify({
    // pino's Logger and fastify's base logger differ only in optional typing details.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's two lines per request are replaced by one of ours (onResponse below).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.http.bodyLimitBytes,
    // Unique per daemon run and cheap: a random prefix and a counter, not 48 random bits per request.
    genReqId: requestIds(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
  });
  // PATCH bodies may declare themselves as JSON merge patches (RFC 7386).
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  installErrorHandling(app);
  installAuth(app, deps.tokens, metrics, { publicHealth: config.http.publicHealth, publicMetrics: config.http.publicMetrics });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpRequests.inc({ method: request.method, route, status: reply.statusCode });
    metrics.httpDuration.observe({ method: request.method, route }, seconds);
    if (config.log.requests) {
      request.log.info(
        { method: request.method, url: loggableUrl(request.url, request.routeOptions.url), route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, tokenId: request.tokenId },
        'http request',
      );
    }
  });

  const streams = new EventStreams(deps.store, deps.bus, metrics, config.http.sseHeartbeatSeconds * 1000);
  // Long-lived streams would hold the server open; end them first so close() can drain.
  app.addHook('preClose', async () => streams.closeAll());

  for (const { prefix, root } of deps.staticDirs ?? []) {
    // Boot artefacts are public like the scripts that name them; listings and dotfiles are not.
    void app.register(fastifyStatic, { root, prefix, decorateReply: false, index: false, dotfiles: 'deny', list: false, acceptRanges: true, cacheControl: false });
  }

  const apiSpecs: AnyRouteSpec[] = [
    ...hostRoutes(deps.hosts),
    ...machineRoutes(deps.machines),
    ...tokenRoutes(deps.tokens),
    ...streams.routes(),
    ...healthRoutes(deps.readiness, metrics),
    ...(deps.extraRoutes ?? []),
  ];
  let openApi: Record<string, unknown> | undefined;
  const docs = docsRoutes(() => (openApi ??= buildOpenApi([...apiSpecs, ...docs], deps.version)));
  registerRoutes(app, [...apiSpecs, ...docs]);
  return app;
}
