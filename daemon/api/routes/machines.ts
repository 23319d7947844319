import type { MachineService } from '../../core/machines.js';
import { machineCreateSchema, machineListQuery, machineListSchema, machineRefParams, machineViewSchema } from '../../core/schemas/machine.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export function machineRoutes(machines: MachineService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/machines',
      summary: 'Create a machine (a claim for a host)',
      description: 'bootstrapData is write-only: stored sealed, served only to the provisioned host.',
      tag: 'machines',
      auth: 'api',
      body: machineCreateSchema,
      responses: { 201: { description: 'the machine', schema: machineViewSchema }, 409: { description: 'name taken' } },
      handler: ({ body }, _request, reply) => {
        const machine = machines.create(body);
        void reply.status(201).header('location', `/api/v1/machines/${machine.namespace}/${machine.name}`);
        return machine;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/machines',
      summary: 'List machines',
      tag: 'machines',
      auth: 'api',
      query: machineListQuery,
      responses: { 200: { description: 'one page of machines', schema: machineListSchema } },
      handler: ({ query }) =>
        machines.list({ namespace: query.namespace, phase: query.phase, labels: asArray(query.label), limit: query.limit, continue: query.continue }),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/machines/:namespace/:name',
      summary: 'Read a machine and its status',
      tag: 'machines',
      auth: 'api',
      params: machineRefParams,
      responses: { 200: { description: 'the machine', schema: machineViewSchema }, 404: { description: 'no such machine' } },
      handler: ({ params }) => machines.get(params.namespace, params.name),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/machines/:namespace/:name',
      summary: 'Delete a machine, releasing its host',
      description: 'Without a host: deleted (204). With one: 202 and phase Deleting while the host is deprovisioned (powered off, wiped when the machine asks); the machine is removed when the host is Available again (event Deleted).',
      tag: 'machines',
      auth: 'api',
      params: machineRefParams,
      responses: { 202: { description: 'deprovisioning its host', schema: machineViewSchema }, 204: { description: 'deleted' }, 404: { description: 'no such machine' } },
      handler: ({ params }, _request, reply) => {
        const view = machines.delete(params.namespace, params.name);
        if (view === null) return reply.status(204).send();
        void reply.status(202);
        return view;
      },
    }),
  ];
}
