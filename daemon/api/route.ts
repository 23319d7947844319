import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { DomainError, type FieldProblem } from '../core/errors.js';

/** Who may call a route: `api` needs a bearer API token, `public` nobody, the others follow config. */
export type RouteAuth = 'api' | 'public' | 'health' | 'metrics';

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  summary: string;
  description?: string;
  tag: string;
  auth: RouteAuth;
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, RouteResponse>;
  /** Largest request body this route takes, when it differs from http.bodyLimitBytes. */
  bodyLimit?: number;
  /** Media types the body may have besides JSON (a string body schema goes with text/plain). */
  bodyTypes?: string[];
  /**
   * Runs after the path is parsed and before query and body are validated: authority checks
   * whose answer must not depend on what the body holds (the ramdisk's boot tokens). Fastify has
   * parsed the body by then, so malformed JSON or an oversized body is still answered first (400,
   * 413) — which says nothing about tokens.
   */
  guard?: (params: z.output<P>, request: FastifyRequest) => void;
  handler: (
    input: { params: z.output<P>; query: z.output<Q>; body: z.output<B> },
    request: FastifyRequest,
    reply: FastifyReply,
  ) => unknown;
}

// Erased form kept for the OpenAPI generator, which only reads the schemas.
export type AnyRouteSpec = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
}

export function toFieldProblems(location: string, error: z.ZodError): FieldProblem[] {
  return error.issues.flatMap((issue) => {
    const base = [location, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: `${base}.${key}`, message: 'is not a known field' }));
    }
    return [{ field: base, message: issue.message }];
  });
}

function parsePart<T extends z.ZodType>(location: string, schema: T | undefined, value: unknown): z.output<T> {
  if (!schema) return undefined as z.output<T>;
  const result = schema.safeParse(value ?? (location === 'body' ? undefined : {}));
  if (!result.success) {
    const details = toFieldProblems(location, result.error);
    const first = details[0];
    throw new DomainError('BadRequest', first ? `invalid ${location}: ${first.field} ${first.message}` : `invalid ${location}`, details);
  }
  return result.data;
}

/** Defines a route whose params, query and body are parsed by zod before the handler runs. */
export function defineRoute<P extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined>(
  spec: RouteSpec<P, Q, B>,
): AnyRouteSpec {
  return spec;
}

export function registerRoutes(app: FastifyInstance, specs: AnyRouteSpec[]): void {
  for (const spec of specs) {
    app.route({
      method: spec.method,
      url: spec.url,
      config: { auth: spec.auth },
      ...(spec.bodyLimit !== undefined ? { bodyLimit: spec.bodyLimit } : {}),
      handler: async (request, reply) => {
        const params = parsePart('params', spec.params, request.params);
        spec.guard?.(params, request);
        const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
        const accepted = ['application/json', 'application/merge-patch+json', ...(spec.bodyTypes ?? [])];
        if (spec.body && mediaType && !accepted.includes(mediaType)) {
          throw new DomainError('UnsupportedMediaType', `unsupported Content-Type ${mediaType}; send ${spec.bodyTypes?.[0] ?? 'application/json'}`);
        }
        if (spec.body && (request.body === undefined || request.body === null)) {
          throw new DomainError('BadRequest', 'a JSON request body is required (Content-Type: application/json)', [
            { field: 'body', message: 'is missing' },
          ]);
        }
        const input = {
          params,
          query: parsePart('query', spec.query, request.query),
          body: parsePart('body', spec.body, request.body),
        };
        const result = await spec.handler(input, request, reply);
        if (reply.sent) return reply;
        return result;
      },
    });
  }
}
