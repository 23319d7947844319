import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { baseMessage, errorResponse } from './errors.js';
import type { BmcResponse } from './http.js';
import type { SessionInfo } from './types.js';

export type AuthResult =
  | { kind: 'none' }
  | { kind: 'basic'; username: string }
  | { kind: 'session'; session: SessionInfo }
  | { kind: 'invalid'; reason: 'credentials' | 'token' | 'basic-disabled' };

/** One request as the routes see it: body already read, path normalised, credentials already checked. */
export interface BmcRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  auth: AuthResult;
}

const objectSchema = z.record(z.string(), z.unknown());

/** The body as a JSON object, or the 400 a BMC would send for anything else. */
export function jsonObjectBody(req: BmcRequest): { ok: true; value: Record<string, unknown> } | { ok: false; response: BmcResponse } {
  let value: unknown;
  try {
    value = JSON.parse(req.body.toString('utf8'));
  } catch {
    return { ok: false, response: errorResponse(400, [baseMessage('MalformedJSON')]) };
  }
  const parsed = objectSchema.safeParse(value);
  if (!parsed.success) return { ok: false, response: errorResponse(400, [baseMessage('MalformedJSON')]) };
  return { ok: true, value: parsed.data };
}

export function notFound(path: string): BmcResponse {
  const segments = path.split('/').filter(Boolean);
  const type = segments.length > 2 ? (segments[segments.length - 2] ?? 'Resource') : 'Resource';
  return errorResponse(404, [baseMessage('ResourceNotFound', [type, segments[segments.length - 1] ?? path])]);
}

export function methodNotAllowed(allow: readonly string[]): BmcResponse {
  return errorResponse(405, [baseMessage('OperationNotAllowed')], { Allow: allow.join(', ') });
}

export const isRead = (method: string): boolean => method === 'GET' || method === 'HEAD';
