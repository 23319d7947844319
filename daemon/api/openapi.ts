import { z } from 'zod';
import type { AnyRouteSpec } from './route.js';

type JsonSchema = Record<string, unknown>;

const toSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' }) as JsonSchema;
  delete json.$schema;
  return json;
};

const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error', 'message', 'details'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    details: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
  },
};

function parameters(spec: AnyRouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [location, schema] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (!schema) continue;
    const json = toSchema(schema, 'input');
    const required = new Set((json.required as string[] | undefined) ?? []);
    for (const [name, property] of Object.entries((json.properties as Record<string, JsonSchema> | undefined) ?? {})) {
      out.push({ name, in: location, required: location === 'path' || required.has(name), schema: property });
    }
  }
  return out;
}

/** OpenAPI 3.1 document built from the same zod schemas that validate requests. */
export function buildOpenApi(specs: AnyRouteSpec[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of specs) {
    const path = spec.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const responses: Record<string, JsonSchema> = {};
    for (const [status, response] of Object.entries(spec.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { [response.contentType ?? 'application/json']: { schema: toSchema(response.schema, 'output') } } } : {}),
      };
    }
    if (spec.params || spec.query || spec.body) responses['400'] ??= { description: 'invalid input', content: { 'application/json': { schema: errorSchema } } };
    if (spec.auth === 'api') responses['401'] ??= { description: 'missing or invalid API token', content: { 'application/json': { schema: errorSchema } } };
    (paths[path] ??= {})[spec.method.toLowerCase()] = {
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: [spec.tag],
      operationId: `${spec.method.toLowerCase()}${spec.url.replace(/\/:?([a-zA-Z0-9]+)/g, (_m, part: string) => part.charAt(0).toUpperCase() + part.slice(1))}`,
      ...(spec.auth === 'api' ? { security: [{ bearer: [] }] } : { security: [] }),
      parameters: parameters(spec),
      ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(spec.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Beskar7 provisioning daemon', version, description: 'Bare-metal provisioning for immutable Kubernetes.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token from `beskar7 token create`' } }, schemas: { Error: errorSchema } },
    paths,
  };
}
