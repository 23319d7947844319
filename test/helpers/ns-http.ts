import { inNamespace, runChild } from './child.js';

export interface NsResponse {
  status: number;
  body: string;
}

export interface NsRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  token?: string;
  body?: string;
  timeoutMs?: number;
  signal: AbortSignal;
}

/** One HTTP request made with curl inside a namespace, where the daemon listens; status 0 = no answer. */
export async function nsHttp(ns: string, url: string, request: NsRequest): Promise<NsResponse> {
  const seconds = (request.timeoutMs ?? 5000) / 1000;
  const command = [
    'curl', '-sS', '--max-time', String(seconds), '-o', '-', '-w', '\n%{http_code}', '-X', request.method ?? 'GET',
    ...(request.token ? ['-H', `authorization: Bearer ${request.token}`] : []),
    ...(request.body === undefined ? [] : ['-H', 'content-type: application/json', '--data-binary', '@-']),
    url,
  ];
  const done = await runChild('curl', inNamespace(ns, command), { keepStdout: true, input: request.body, timeoutMs: (seconds + 5) * 1000, signal: request.signal });
  const cut = done.stdout.lastIndexOf('\n');
  const status = Number(done.stdout.slice(cut + 1));
  return { status: Number.isInteger(status) ? status : 0, body: done.stdout.slice(0, Math.max(0, cut)) };
}
