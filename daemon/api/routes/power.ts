import { z } from 'zod';
import type { PowerService } from '../../core/power.js';
import { hostRefParams } from '../../core/schemas/host.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

const powerBody = z.object({ action: z.enum(['on', 'off', 'reset']) }).strict();

export function powerRoutes(power: PowerService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/hosts/:namespace/:name/power',
      summary: 'Power a host on, off (graceful, then forced) or reset it',
      description:
        'Accepted at once; the outcome arrives as host status (powerState, lastError) and events: PowerChanged, PowerFailed, or PowerActionNeeded when a person (manual) or the ramdisk (wol off) must act.',
      tag: 'hosts',
      auth: 'api',
      params: hostRefParams,
      body: powerBody,
      responses: { 202: { description: 'accepted', schema: z.object({ accepted: z.literal(true), action: powerBody.shape.action }) }, 404: { description: 'no such host' } },
      handler: ({ params, body }, _request, reply) => {
        power.request(params.namespace, params.name, body.action);
        void reply.status(202);
        return { accepted: true as const, action: body.action };
      },
    }),
  ];
}
