import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonObject } from './tree.js';

export interface RedfishMessage {
  '@odata.type': string;
  MessageId: string;
  Message: string;
  MessageArgs: string[];
  Severity: string;
  Resolution: string;
  RelatedProperties?: string[];
}

/**
 * An answer before it is written. Handlers build these instead of writing directly, so faults
 * (error body styles, lower-case links, drop-after-handling) can reshape or discard them in one place.
 */
export interface BmcResponse {
  status: number;
  headers: Record<string, string>;
  /** Objects are sent as JSON; strings as they are, under the Content-Type in `headers`. */
  body: JsonObject | string | null;
  /** Present on Redfish error answers, so the BMC's error body style can rewrite them. */
  error?: RedfishMessage[];
}

export const JSON_TYPE = 'application/json; charset=utf-8';

export function jsonResponse(status: number, body: JsonObject, headers: Record<string, string> = {}): BmcResponse {
  return { status, headers, body };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): BmcResponse {
  return { status, headers, body: null };
}

export class BodyTooLarge extends Error {}

/** Whole request body, bounded: the emulator must not be the thing that runs out of memory in a scale test. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge(`request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => reject(new Error('connection closed before the body was read')));
  });
}

export function writeResponse(res: ServerResponse, response: BmcResponse): void {
  const headers: Record<string, string> = { 'OData-Version': '4.0', ...response.headers };
  let payload: Buffer | null = null;
  if (typeof response.body === 'string') {
    payload = Buffer.from(response.body);
  } else if (response.body !== null) {
    payload = Buffer.from(JSON.stringify(response.body));
    headers['Content-Type'] ??= JSON_TYPE;
  }
  headers['Content-Length'] = String(payload?.length ?? 0);
  res.writeHead(response.status, headers);
  res.end(payload ?? undefined);
}
