import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { defineRoute, type AnyRouteSpec } from '../../daemon/api/route.js';
import type { BootPlanner, ScriptPlan } from '../../daemon/core/boot/boot-planner.js';
import { macSchema } from '../../daemon/core/schemas/common.js';
import type { IpxeTemplates } from '../ipxe/templates.js';

export interface BootHttpSettings {
  /** http://host:port for booting machines; null: derive it from the request's Host header. */
  baseUrl: () => string | null;
  inspectorKernel: string;
  inspectorInitrd: string;
  inspectorCmdline: string;
}

export interface BootHttpObserver {
  onScript?(kind: ScriptPlan['kind'] | 'chain'): void;
}

const macParams = z.object({ mac: macSchema }).strict();

// iPXE fetched the script from this very address, so when none is configured it is the
// address to send it back to.
const baseFor = (settings: BootHttpSettings, request: FastifyRequest): string => settings.baseUrl() ?? `http://${request.host}`;

function renderPlan(plan: ScriptPlan, templates: IpxeTemplates, base: string, settings: BootHttpSettings): string {
  switch (plan.kind) {
    case 'unknown':
      return templates.render('unknown', { mac: plan.mac });
    case 'local':
      return templates.render('local', { host: `${plan.namespace}/${plan.name}` });
    case 'ramdisk':
      return templates.render('ramdisk', {
        mode: plan.mode,
        host: `${plan.namespace}/${plan.name}`,
        mac: plan.mac,
        macHyphens: plan.mac.replaceAll(':', '-'),
        token: plan.token,
        apiBase: base,
        kernelUrl: `${base}/boot-assets/${settings.inspectorKernel}`,
        initrdUrl: `${base}/boot-assets/${settings.inspectorInitrd}`,
        cmdline: settings.inspectorCmdline,
      });
  }
}

/** The HTTP half of the boot path: the chain script and the per-host scripts. Public by design. */
export function bootRoutes(planner: BootPlanner, templates: IpxeTemplates, settings: BootHttpSettings, observer: BootHttpObserver = {}): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/boot.ipxe',
      summary: 'iPXE script that chains to the per-host script by MAC',
      tag: 'boot',
      auth: 'public',
      responses: { 200: { description: 'iPXE script', contentType: 'text/plain' } },
      handler: (_input, request, reply) => {
        observer.onScript?.('chain');
        return reply.type('text/plain; charset=utf-8').send(templates.render('chain', { baseUrl: baseFor(settings, request) }));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/ipxe/:mac',
      summary: "A machine's iPXE script for its host's current state",
      description:
        'A host armed for a network boot gets the inspector with a fresh boot token on its kernel command line; any other host, or an unknown MAC, a script that boots the local disk.',
      tag: 'boot',
      auth: 'public',
      params: macParams,
      responses: { 200: { description: 'iPXE script', contentType: 'text/plain' } },
      handler: ({ params }, request, reply) => {
        const plan = planner.scriptFor(params.mac);
        observer.onScript?.(plan.kind);
        // Scripts carry per-boot tokens: no cache may keep or share one.
        return reply
          .type('text/plain; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(renderPlan(plan, templates, baseFor(settings, request), settings));
      },
    }),
  ];
}
