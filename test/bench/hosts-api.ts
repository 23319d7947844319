import type autocannon from 'autocannon';
import { MAC_SERIES, NAMESPACE, hostBody, macFor, postedHostName, seededHostName } from './host-fixtures.js';
import { runLoad, type LoadSummary } from './load.js';

export interface Target {
  baseUrl: string;
  token: string;
}

export interface LoadShape {
  connections: number;
  durationSeconds: number;
  signal: AbortSignal;
}

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** GET /api/v1/hosts/{namespace}/{name}, each request for a random one of the seeded hosts, so no single row stays hot in a cache. */
export function benchGetHost(target: Target, seeded: number, shape: LoadShape, title = 'GET /api/v1/hosts/{namespace}/{name}'): Promise<LoadSummary> {
  const request: autocannon.Request = {
    method: 'GET',
    setupRequest: (raw) => ({ ...raw, path: `/api/v1/hosts/${NAMESPACE}/${seededHostName(Math.floor(Math.random() * seeded))}` }),
  };
  return runLoad({ title, url: target.baseUrl, headers: auth(target.token), request, ...shape });
}

/** POST /api/v1/hosts, each request a host never seen before (new name, new boot MAC), so every one must be a 201. */
export function benchPostHost(target: Target, shape: LoadShape, title = 'POST /api/v1/hosts'): Promise<LoadSummary> {
  let next = 0;
  const request: autocannon.Request = {
    method: 'POST',
    path: '/api/v1/hosts',
    setupRequest: (raw) => {
      const index = next++;
      return { ...raw, body: hostBody(postedHostName(index), macFor(MAC_SERIES.posted, index), index) };
    },
  };
  const headers = { ...auth(target.token), 'content-type': 'application/json' };
  return runLoad({ title, url: target.baseUrl, headers, request, ...shape });
}
