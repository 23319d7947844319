import { notFound } from '../../core/errors.js';
import { hostRefParams } from '../../core/schemas/host.js';
import type { RamdiskService } from '../../lifecycle/ramdisk-service.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

export function hostLogRoutes(ramdisk: RamdiskService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/hosts/:namespace/:name/logs',
      summary: "The host's ramdisk log (newest lifecycle.logBytesPerHost kept)",
      tag: 'hosts',
      auth: 'api',
      params: hostRefParams,
      responses: { 200: { description: 'log text', contentType: 'text/plain' }, 404: { description: 'no such host' } },
      handler: ({ params }, _request, reply) => {
        const text = ramdisk.logText(params.namespace, params.name);
        if (text === null) throw notFound('host', `${params.namespace}/${params.name}`);
        return reply.type('text/plain; charset=utf-8').send(text);
      },
    }),
  ];
}
