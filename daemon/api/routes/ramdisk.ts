import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { TokenMode, VerifiedBootToken } from '../../core/boot/boot-tokens.js';
import { DomainError } from '../../core/errors.js';
import { nameSchema, namespaceSchema } from '../../core/schemas/common.js';
import { hostRefParams } from '../../core/schemas/host.js';
import { bootedSchema, inspectionReportSchema, MAX_LOG_CHUNK_BYTES, MAX_REPORT_BYTES, nextActionSchema, progressSchema } from '../../core/schemas/ramdisk.js';
import type { RamdiskService } from '../../lifecycle/ramdisk-service.js';
import { bearerToken } from '../auth.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';
import { NOCLOUD_ROUTE } from '../server.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The boot token that authorised a ramdisk call. */
    bootAuth?: VerifiedBootToken;
  }
}

const unauthorizedResponse = { description: 'missing, wrong, expired, revoked or other host\u2019s token (one answer for all)' };

function authorised(request: FastifyRequest): VerifiedBootToken {
  if (!request.bootAuth) throw new DomainError('Unauthorized', 'a valid boot token for this host is required');
  return request.bootAuth;
}

/** The base URL the ramdisk reached us on, for URLs handed back to it. */
type BaseUrl = (request: FastifyRequest) => string;

const nocloudParams = z
  .object({ namespace: namespaceSchema, name: nameSchema, token: z.string().min(1).max(128), file: z.enum(['user-data', 'meta-data', 'vendor-data', 'network-config']) })
  .strict();

/** The ramdisk's API (boot-token authority) — see docs/ramdisk-contract.md. */
export function ramdiskRoutes(ramdisk: RamdiskService, baseUrl: BaseUrl): AnyRouteSpec[] {
  const guard =
    (modes?: readonly TokenMode[]) =>
    (params: { namespace: string; name: string }, request: FastifyRequest): void => {
      request.bootAuth = ramdisk.authenticate(params.namespace, params.name, bearerToken(request), modes);
    };
  const ramdiskUrl = (suffix: string) => `/api/v1/ramdisk/:namespace/:name/${suffix}`;
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/inspection/:namespace/:name',
      summary: 'Hardware report from the inspection ramdisk',
      description: 'Bearer boot token from the iPXE script. Every ramdisk boot reports first; a provisioning run validates the report of its own boot.',
      tag: 'ramdisk',
      auth: 'public',
      params: hostRefParams,
      body: inspectionReportSchema,
      bodyLimit: MAX_REPORT_BYTES,
      guard: guard(),
      responses: { 202: { description: 'accepted', schema: z.object({ state: z.string() }) }, 400: { description: 'invalid report' }, 401: unauthorizedResponse, 409: { description: 'no report expected now' } },
      handler: ({ body }, request, reply) => {
        void reply.status(202);
        return ramdisk.report(authorised(request), body);
      },
    }),
    defineRoute({
      method: 'GET',
      url: ramdiskUrl('next'),
      summary: "The ramdisk's next action (polled)",
      tag: 'ramdisk',
      auth: 'public',
      params: hostRefParams,
      guard: guard(),
      responses: { 200: { description: 'what to do', schema: nextActionSchema }, 401: unauthorizedResponse },
      handler: (_input, request, reply) => {
        void reply.header('cache-control', 'no-store');
        return ramdisk.next(authorised(request), baseUrl(request));
      },
    }),
    defineRoute({
      method: 'POST',
      url: ramdiskUrl('progress'),
      summary: 'Progress or failure of the current action',
      tag: 'ramdisk',
      auth: 'public',
      params: hostRefParams,
      body: progressSchema,
      guard: guard(),
      responses: { 204: { description: 'recorded' }, 401: unauthorizedResponse },
      handler: ({ body }, request, reply) => {
        ramdisk.progress(authorised(request), body);
        return reply.status(204).send();
      },
    }),
    defineRoute({
      method: 'POST',
      url: ramdiskUrl('logs'),
      summary: 'A chunk of the ramdisk log (text/plain)',
      tag: 'ramdisk',
      auth: 'public',
      params: hostRefParams,
      body: z.string().max(MAX_LOG_CHUNK_BYTES),
      bodyTypes: ['text/plain'],
      bodyLimit: MAX_LOG_CHUNK_BYTES,
      guard: guard(),
      responses: { 204: { description: 'kept' }, 401: unauthorizedResponse },
      handler: ({ body }, request, reply) => {
        ramdisk.logs(authorised(request), body);
        return reply.status(204).send();
      },
    }),
    defineRoute({
      method: 'POST',
      url: ramdiskUrl('booted'),
      summary: 'The target booted (from the ramdisk just before kexec or disk reboot, or from the installed OS)',
      tag: 'ramdisk',
      auth: 'public',
      params: hostRefParams,
      body: bootedSchema,
      guard: guard(['provision', 'os']),
      responses: { 204: { description: 'recorded' }, 401: unauthorizedResponse, 409: { description: 'no boot expected now' } },
      handler: ({ body }, request, reply) => {
        ramdisk.booted(authorised(request), body);
        return reply.status(204).send();
      },
    }),
    ...(['user-data', 'meta-data'] as const).map((file) =>
      defineRoute({
        method: 'GET',
        url: ramdiskUrl(file),
        summary: `NoCloud ${file} for the provisioned OS`,
        tag: 'ramdisk',
        auth: 'public',
        params: hostRefParams,
        guard: guard(['provision', 'os']),
        responses: { 200: { description: file, contentType: 'text/plain' }, 401: unauthorizedResponse, 409: { description: 'nothing provisioned' } },
        handler: (_input, request, reply) => {
          const auth = authorised(request);
          const body = file === 'user-data' ? ramdisk.userData(auth) : ramdisk.metaData(auth);
          return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(body);
        },
      }),
    ),
    defineRoute({
      method: 'GET',
      url: NOCLOUD_ROUTE,
      summary: 'NoCloud seed for cloud-init (ds=nocloud;s=…): the token rides in the path',
      description: "cloud-init's NoCloud seedfrom cannot send headers, so the OS token is part of the URL; the daemon never logs it.",
      tag: 'ramdisk',
      auth: 'public',
      params: nocloudParams,
      guard: (params, request) => {
        request.bootAuth = ramdisk.authenticate(params.namespace, params.name, params.token, ['provision', 'os']);
      },
      responses: { 200: { description: 'seed file', contentType: 'text/plain' }, 401: unauthorizedResponse },
      handler: ({ params }, request, reply) => {
        const auth = authorised(request);
        // No network-config: the OS keeps the network it booted with (cloud-init treats 404 as absent).
        if (params.file === 'network-config') throw new DomainError('NotFound', 'no network-config: the OS keeps the network it booted with');
        const body = params.file === 'user-data' ? ramdisk.userData(auth) : params.file === 'meta-data' ? ramdisk.metaData(auth) : '';
        return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(body);
      },
    }),
  ];
}
