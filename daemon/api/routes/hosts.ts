import type { HostService } from '../../core/hosts.js';
import { hostCreateSchema, hostListQuery, hostListSchema, hostPatchSchema, hostRefParams, hostViewSchema } from '../../core/schemas/host.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export function hostRoutes(hosts: HostService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/hosts',
      summary: 'Register a host',
      description: 'The BMC password is write-only: stored sealed (AES-256-GCM), never returned or logged.',
      tag: 'hosts',
      auth: 'api',
      body: hostCreateSchema,
      responses: { 201: { description: 'the registered host', schema: hostViewSchema }, 409: { description: 'name or boot MAC taken' } },
      handler: ({ body }, _request, reply) => {
        const host = hosts.register(body);
        void reply.status(201).header('location', `/api/v1/hosts/${host.namespace}/${host.name}`);
        return host;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/hosts',
      summary: 'List hosts',
      description: 'Filters combine with AND; `label` may repeat. Pages follow `continue` until it is null.',
      tag: 'hosts',
      auth: 'api',
      query: hostListQuery,
      responses: { 200: { description: 'one page of hosts', schema: hostListSchema } },
      handler: ({ query }) =>
        hosts.list({ namespace: query.namespace, state: query.state, labels: asArray(query.label), limit: query.limit, continue: query.continue }),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/hosts/:namespace/:name',
      summary: 'Read a host and its status',
      tag: 'hosts',
      auth: 'api',
      params: hostRefParams,
      responses: { 200: { description: 'the host', schema: hostViewSchema }, 404: { description: 'no such host' } },
      handler: ({ params }) => hosts.get(params.namespace, params.name),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/v1/hosts/:namespace/:name',
      summary: 'Change labels, BMC settings, credentials, power control or boot MACs',
      description: 'JSON merge patch: fields left out stay; a label set to null is removed. Give resourceVersion to fail with 409 on a concurrent change.',
      tag: 'hosts',
      auth: 'api',
      params: hostRefParams,
      body: hostPatchSchema,
      responses: { 200: { description: 'the updated host', schema: hostViewSchema }, 404: { description: 'no such host' }, 409: { description: 'conflict' } },
      handler: ({ params, body }) => hosts.patch(params.namespace, params.name, body),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/hosts/:namespace/:name',
      summary: 'Forget a host',
      description: 'Accepted: the host goes to Deleting, is powered off and then removed (event Deleted). Refused with 409 while a machine claims the host.',
      tag: 'hosts',
      auth: 'api',
      params: hostRefParams,
      responses: { 202: { description: 'deletion under way', schema: hostViewSchema }, 404: { description: 'no such host' }, 409: { description: 'claimed by a machine' } },
      handler: ({ params }, _request, reply) => {
        const view = hosts.delete(params.namespace, params.name);
        void reply.status(202);
        return view;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/hosts/:namespace/:name/inspect',
      summary: '(Re-)inspect a host now',
      description: 'Boots an Available host into the inspection ramdisk; a host still enrolling is inspected right after. Refused (409) while a machine claims it.',
      tag: 'hosts',
      auth: 'api',
      params: hostRefParams,
      responses: { 202: { description: 'inspection requested', schema: hostViewSchema }, 404: { description: 'no such host' }, 409: { description: 'host busy or claimed' } },
      handler: ({ params }, _request, reply) => {
        const view = hosts.requestInspection(params.namespace, params.name);
        void reply.status(202);
        return view;
      },
    }),
  ];
}

