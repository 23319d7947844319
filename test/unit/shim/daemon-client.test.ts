import { createServer, type Server } from 'node:http';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonApiError, DaemonClient, isConflict, isRetryableStatus, type HostCreateInput, type MachineCreateInput } from '../../../shim-operator/src/daemon-client/index.js';
import { startTestDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { LoopbackProxy } from './loopback-proxy.js';

let d: TestDaemon;
let client: DaemonClient;

beforeAll(async () => {
  d = await startTestDaemon();
  client = new DaemonClient({ url: d.url, token: d.token, timeoutMs: 5000 });
});
afterAll(async () => d.stop());

/** A host without a BMC, so the lifecycle engine does not retry unroutable Redfish calls in the background. */
const manualHost = (name: string, labels: Record<string, string> = {}): HostCreateInput => ({ namespace: 'shim', name, labels, powerControl: 'manual' });

const redfishHost = (name: string): HostCreateInput => ({
  namespace: 'shim',
  name,
  labels: { 'topology.kubernetes.io/zone': 'zone-a' },
  redfishConnection: { address: 'https://192.0.2.10', username: 'admin', password: 'bmc-secret-pw' },
});

// A selector no host matches: the machine stays Pending instead of claiming a test host.
const unclaimableMachine = (name: string): MachineCreateInput => ({
  namespace: 'shim',
  name,
  hostSelector: { matchLabels: { 'shim-test/never': 'matches' } },
  image: { mode: 'kexec', kernel: { url: 'http://images.example/vmlinuz', sha256: 'a'.repeat(64) }, initrd: { url: 'http://images.example/initrd', sha256: 'b'.repeat(64) } },
  bootstrapData: '#cloud-config\n',
});

async function caught(promise: Promise<unknown>): Promise<DaemonApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DaemonApiError) return error;
    throw error;
  }
  throw new Error('expected a DaemonApiError, got success');
}

describe('DaemonClient hosts', () => {
  it('creates, reads, patches and deletes a host through the daemon view schema', async () => {
    const created = await client.createHost(redfishHost('crud-1'));
    expect(created).toMatchObject({ namespace: 'shim', name: 'crud-1', powerControl: 'redfish', redfishConnection: { address: 'https://192.0.2.10', hasPassword: true } });
    expect(JSON.stringify(created)).not.toContain('bmc-secret-pw');

    const read = await client.getHost('shim', 'crud-1');
    expect(read?.name).toBe('crud-1');
    expect(read?.resourceVersion).toBeGreaterThanOrEqual(created.resourceVersion);

    const current = read?.resourceVersion ?? 0;
    const patched = await client.updateHost('shim', 'crud-1', { labels: { role: 'worker', 'topology.kubernetes.io/zone': null }, resourceVersion: current });
    expect(patched.labels).toEqual({ role: 'worker' });
    expect(patched.resourceVersion).toBeGreaterThan(current);

    const stale = await caught(client.updateHost('shim', 'crud-1', { labels: { role: 'infra' }, resourceVersion: current }));
    expect(stale).toMatchObject({ status: 409, error: 'Conflict', retryable: false, isConflict: true });
    expect(isConflict(stale)).toBe(true);

    const gone = d.untilEvent((event) => event.namespace === 'shim' && event.name === 'crud-1' && event.type === 'Deleted');
    const deleting = await client.deleteHost('shim', 'crud-1');
    expect(deleting?.status.state).toBe('Deleting');
    await gone;
    expect(await client.getHost('shim', 'crud-1')).toBeUndefined();
    expect(await client.deleteHost('shim', 'crud-1')).toBeUndefined();
  });

  it('answers undefined for a host that does not exist', async () => {
    expect(await client.getHost('shim', 'no-such-host')).toBeUndefined();
    expect(await client.getHost('no-such-namespace', 'x')).toBeUndefined();
  });

  it('gives a distinguishable 409 on a duplicate create', async () => {
    await client.createHost(manualHost('dup-1'));
    const error = await caught(client.createHost(manualHost('dup-1')));
    expect(error).toMatchObject({ status: 409, error: 'Conflict', retryable: false, isConflict: true, isNotFound: false, request: 'POST /api/v1/hosts' });
    expect(error.message).toContain('dup-1');
  });

  it('passes the daemon validation problems through as details, not retryable', async () => {
    const error = await caught(client.createHost({ namespace: 'shim', name: 'Not_A_DNS_Name', powerControl: 'manual' }));
    expect(error).toMatchObject({ status: 400, error: 'BadRequest', retryable: false, isConflict: false });
    expect(error.details).toContainEqual(expect.objectContaining({ field: 'body.name' }));
  });

  it('pages through hosts by label, following continue until null', async () => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    for (const name of names) await client.createHost(manualHost(name, { 'shim-test/paging': 'yes' }));
    await client.createHost(manualHost('page-other', { 'shim-test/paging': 'no' }));

    const first = await client.listHosts({ labelSelector: { 'shim-test/paging': 'yes' }, limit: 2 });
    expect(first.items.map((host) => host.name)).toEqual(['page-a', 'page-b']);
    expect(first.continue).not.toBeNull();
    const second = await client.listHosts({ labelSelector: { 'shim-test/paging': 'yes' }, limit: 2, continue: first.continue ?? undefined });
    expect(second.items.map((host) => host.name)).toEqual(['page-c', 'page-d']);

    const requested: string[] = [];
    const countingFetch: typeof fetch = (input, init) => {
      requested.push(input instanceof Request ? input.url : String(input));
      return fetch(input, init);
    };
    const counting = new DaemonClient({ url: d.url, token: d.token, timeoutMs: 5000, fetch: countingFetch });
    const all = await counting.allHosts({ namespace: 'shim', labelSelector: { 'shim-test/paging': 'yes' }, limit: 2 });
    expect(all.map((host) => host.name)).toEqual(names);
    expect(requested).toHaveLength(3);
    expect(await counting.allHosts({ labelSelector: { 'shim-test/paging': 'yes', 'shim-test/absent': 'x' } })).toEqual([]);
  });
});

describe('DaemonClient machines', () => {
  it('creates, reads, lists and deletes machines; 404 is undefined; 409 on a duplicate', async () => {
    const created = await client.createMachine(unclaimableMachine('m-1'));
    expect(created).toMatchObject({ namespace: 'shim', name: 'm-1', hasBootstrapData: true, status: { phase: 'Pending', host: null } });
    expect(JSON.stringify(created)).not.toContain('cloud-config');
    await client.createMachine(unclaimableMachine('m-2'));
    await client.createMachine(unclaimableMachine('m-3'));

    expect((await client.getMachine('shim', 'm-2'))?.name).toBe('m-2');
    expect(await client.getMachine('shim', 'm-none')).toBeUndefined();
    expect((await caught(client.createMachine(unclaimableMachine('m-1')))).isConflict).toBe(true);

    const page = await client.listMachines({ namespace: 'shim', limit: 2 });
    expect(page.items.map((machine) => machine.name)).toEqual(['m-1', 'm-2']);
    expect(page.continue).not.toBeNull();
    expect((await client.allMachines({ namespace: 'shim', phase: 'Pending', limit: 2 })).map((machine) => machine.name)).toEqual(['m-1', 'm-2', 'm-3']);

    // Holding no host, it is deleted at once (204), which reads the same as already gone (404).
    expect(await client.deleteMachine('shim', 'm-3')).toBeUndefined();
    expect(await client.getMachine('shim', 'm-3')).toBeUndefined();
    expect(await client.deleteMachine('shim', 'm-3')).toBeUndefined();
  });
});

describe('DaemonClient failures', () => {
  it('answers 401 for a wrong token with a non-retryable error that never shows the token', async () => {
    const wrongToken = `b7_0123456789abcdef_${'Z'.repeat(43)}`;
    const intruder = new DaemonClient({ url: d.url, token: wrongToken, timeoutMs: 5000 });
    const error = await caught(intruder.getHost('shim', 'dup-1'));
    expect(error).toMatchObject({ status: 401, error: 'Unauthorized', retryable: false, isUnauthorized: true });
    for (const rendering of [error.message, String(error), error.stack ?? '', inspect(error, { depth: 5 }), JSON.stringify(error), JSON.stringify(error.details)]) {
      expect(rendering).not.toContain(wrongToken);
    }
    // The client itself does not show its token when logged.
    expect(inspect(intruder, { depth: 5 })).not.toContain(wrongToken);
    expect(inspect(client, { depth: 5 })).not.toContain(d.token);
  });

  it('times out a request that gets no answer, as a retryable error', async () => {
    const proxy = await LoopbackProxy.start(d.url);
    try {
      proxy.mode = 'blackhole';
      const stalled = new DaemonClient({ url: proxy.url, token: d.token, timeoutMs: 200 });
      const error = await caught(stalled.getHost('shim', 'dup-1'));
      expect(error).toMatchObject({ status: null, error: 'Timeout', retryable: true, request: 'GET /api/v1/hosts/shim/dup-1' });
      expect(error.message).toContain('200 ms');
      expect(error.message).not.toContain(d.token);
      expect(proxy.accepted.blackhole).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.close();
    }
  });

  it('reports a refused or reset connection as retryable Unreachable', async () => {
    const proxy = await LoopbackProxy.start(d.url);
    const proxyUrl = proxy.url;
    proxy.mode = 'reject';
    try {
      const error = await caught(new DaemonClient({ url: proxyUrl, token: d.token, timeoutMs: 5000 }).getHost('shim', 'dup-1'));
      expect(error).toMatchObject({ status: null, error: 'Unreachable', retryable: true });
      expect(error.message).not.toContain(d.token);
    } finally {
      await proxy.close();
    }
    // Nothing listens on that port any more: connection refused.
    const refused = await caught(new DaemonClient({ url: proxyUrl, token: d.token, timeoutMs: 5000 }).getHost('shim', 'dup-1'));
    expect(refused).toMatchObject({ status: null, error: 'Unreachable', retryable: true });
  });

  it('reports an abort by the caller as non-retryable Aborted', async () => {
    const proxy = await LoopbackProxy.start(d.url);
    try {
      proxy.mode = 'blackhole';
      const controller = new AbortController();
      const pending = caught(new DaemonClient({ url: proxy.url, token: d.token, timeoutMs: 10_000 }).getHost('shim', 'dup-1', { signal: controller.signal }));
      controller.abort();
      expect(await pending).toMatchObject({ status: null, error: 'Aborted', retryable: false });
    } finally {
      await proxy.close();
    }
  });

  it('refuses an answer that does not match the daemon schema (not a beskar7 daemon)', async () => {
    // Some other HTTP service at the configured URL: 200s, but not the daemon's views.
    const impostor: Server = createServer((request, response) => {
      response.writeHead(request.url?.startsWith('/api/v1/hosts/') ? 200 : 503, { 'content-type': 'application/json' });
      response.end(request.url?.startsWith('/api/v1/hosts/') ? JSON.stringify({ name: 'x' }) : 'overloaded');
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      const address = impostor.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const confused = new DaemonClient({ url: `http://127.0.0.1:${port}`, token: d.token, timeoutMs: 5000 });
      const invalid = await caught(confused.getHost('shim', 'x'));
      expect(invalid).toMatchObject({ status: 200, error: 'InvalidResponse', retryable: false });
      expect(invalid.details.length).toBeGreaterThan(0);
      const unavailable = await caught(confused.listHosts());
      expect(unavailable).toMatchObject({ status: 503, error: 'HTTP503', retryable: true });
    } finally {
      await new Promise<void>((resolve) => impostor.close(() => resolve()));
    }
  });

  it('classifies 5xx, 429 and 408 as retryable, other statuses not', () => {
    expect([500, 502, 503, 504, 429, 408].map(isRetryableStatus)).toEqual([true, true, true, true, true, true]);
    expect([400, 401, 403, 404, 409, 413, 415, 302].map(isRetryableStatus)).toEqual([false, false, false, false, false, false, false, false]);
  });

  it('rejects unusable connection settings up front', () => {
    expect(() => new DaemonClient({ url: 'ftp://daemon', token: 't', timeoutMs: 1 })).toThrow(TypeError);
    expect(() => new DaemonClient({ url: 'http://user:pw@daemon', token: 't', timeoutMs: 1 })).toThrow(TypeError);
    expect(() => new DaemonClient({ url: 'http://daemon', token: ' ', timeoutMs: 1 })).toThrow(TypeError);
    expect(() => new DaemonClient({ url: 'http://daemon', token: 't', timeoutMs: 0 })).toThrow(TypeError);
    expect(new DaemonClient({ url: 'http://daemon:8082/beskar7/', token: 't', timeoutMs: 1 }).url).toBe('http://daemon:8082/beskar7');
  });
});
