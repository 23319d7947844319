import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../core/errors.js';
import type { TokenService } from '../core/tokens.js';
import type { DaemonMetrics } from '../metrics/registry.js';
import type { RouteAuth } from './route.js';

export interface AuthPolicy {
  publicHealth: boolean;
  publicMetrics: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Id of the API token that authenticated the request, for the log line. */
    tokenId?: string;
  }
}

function needsToken(auth: RouteAuth | undefined, url: string, policy: AuthPolicy): boolean {
  switch (auth) {
    case 'public':
      return false;
    case 'health':
      return !policy.publicHealth;
    case 'metrics':
      return !policy.publicMetrics;
    case 'api':
      return true;
    default:
      // Unmatched paths under /api/ are guarded too, so a 404 reveals nothing to strangers.
      return url.startsWith('/api/');
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function installAuth(app: FastifyInstance, tokens: TokenService, metrics: DaemonMetrics, policy: AuthPolicy): void {
  app.addHook('onRequest', async (request) => {
    if (!needsToken(request.routeOptions.config.auth, request.url, policy)) return;
    const presented = bearerToken(request);
    const tokenId = presented ? tokens.verify(presented) : null;
    if (!tokenId) {
      metrics.authFailures.inc();
      // One answer for every failure: missing, malformed, unknown, revoked.
      throw new DomainError('Unauthorized', 'a valid API token is required: Authorization: Bearer <token>');
    }
    request.tokenId = tokenId;
  });
}
