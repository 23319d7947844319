import { z } from 'zod';
import type { DaemonMetrics } from '../../metrics/registry.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

export interface Readiness {
  /** null when ready, else why not (shown to the probe). */
  notReadyReason(): string | null;
}

export function healthRoutes(readiness: Readiness, metrics: DaemonMetrics): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness: the process answers',
      tag: 'operations',
      auth: 'health',
      responses: { 200: { description: 'alive', schema: z.object({ status: z.literal('ok') }) } },
      handler: () => ({ status: 'ok' as const }),
    }),
    defineRoute({
      method: 'GET',
      url: '/readyz',
      summary: 'Readiness: the database answers and the daemon is not shutting down',
      tag: 'operations',
      auth: 'health',
      responses: {
        200: { description: 'ready', schema: z.object({ status: z.literal('ready') }) },
        503: { description: 'not ready, with the reason' },
      },
      handler: (_input, _request, reply) => {
        const reason = readiness.notReadyReason();
        if (reason) return reply.status(503).send({ error: 'Unavailable', message: reason, details: [] });
        return { status: 'ready' as const };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics',
      tag: 'operations',
      auth: 'metrics',
      responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain' } },
      handler: async (_input, _request, reply) => {
        const text = await metrics.registry.metrics();
        return reply.type(metrics.registry.contentType).send(text);
      },
    }),
  ];
}
