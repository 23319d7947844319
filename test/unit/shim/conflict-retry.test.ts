import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { HostView } from '../../../daemon/core/schemas/host.js';
import { HOST_FINALIZER, PhysicalHostController } from '../../../shim-operator/src/controllers/physical-host-controller.js';
import type { DaemonRegistry } from '../../../shim-operator/src/controllers/daemons.js';
import type { EventRecorder } from '../../../shim-operator/src/kube/event-recorder.js';
import type { Informer } from '../../../shim-operator/src/kube/informer.js';
import { KubeApiError, type KubeApi, type KubeObject } from '../../../shim-operator/src/kube/kube-api.js';
import { runWorkers, WorkQueue } from '../../../shim-operator/src/runtime/work-queue.js';

// A 409 on a status write (someone changed the PhysicalHost meanwhile) fails that reconcile; the
// queue brings the key back with backoff and the next reconcile, from the fresh object, succeeds.
// The apiserver side is a stand-in here because a conflict cannot be provoked on cue against a real
// one; test/integration runs the same controller against a real apiserver.

const host: KubeObject & { spec: unknown; status?: unknown } = {
  apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
  kind: 'PhysicalHost',
  metadata: { name: 'node-1', namespace: 'lab', resourceVersion: '7', generation: 1, finalizers: [HOST_FINALIZER] },
  spec: { powerControl: 'manual', bootMACAddresses: ['52:54:00:00:00:01'] },
};

const daemonHost = {
  namespace: 'lab',
  name: 'node-1',
  labels: {},
  redfishConnection: null,
  powerControl: 'manual',
  bootMACAddresses: ['52:54:00:00:00:01'],
  status: { state: 'Available', powerState: 'Off', inspectionPhase: null, netbootMode: null, system: null, inspectionReport: null, lastError: null, retryAt: null, machine: null },
  resourceVersion: 1,
  createdAt: '',
  updatedAt: '',
} as HostView;

describe('a conflicting status write', () => {
  it('is retried from the fresh object until it goes through', async () => {
    let current = structuredClone(host);
    const writes: string[] = [];
    let conflictsLeft = 2;
    const api = {
      replaceStatus: (_resource: unknown, body: KubeObject & { spec: unknown; status?: unknown }) => {
        writes.push(body.metadata.resourceVersion ?? '');
        if (conflictsLeft > 0) {
          conflictsLeft -= 1;
          // Someone else wrote meanwhile: a newer version now, and ours is stale.
          current = { ...current, metadata: { ...current.metadata, resourceVersion: String(Number(current.metadata.resourceVersion) + 1) } };
          return Promise.reject(new KubeApiError(409, 'Conflict', 'the object has been modified'));
        }
        current = { ...body, metadata: { ...body.metadata, resourceVersion: String(Number(body.metadata.resourceVersion) + 1) } };
        return Promise.resolve(current);
      },
    } as unknown as KubeApi;
    const hosts = { get: () => structuredClone(current) } as unknown as Informer<KubeObject>;
    const daemons = { get: () => ({ name: 'lab', client: { url: 'http://daemon', getHost: () => Promise.resolve(daemonHost) } }) } as unknown as DaemonRegistry;
    const recorder = { record: () => Promise.resolve() } as unknown as EventRecorder;
    const controller = new PhysicalHostController({ api, hosts, daemons, recorder, log: pino({ level: 'silent' }) });

    const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 50, retriesPerSecond: 1000, burst: 100 });
    const failures: string[] = [];
    const workers = runWorkers(
      queue,
      1,
      async (key) => {
        const outcome = await controller.reconcile(key);
        if ((current.status as { state?: string } | undefined)?.state === 'Available') queue.shutDown();
        return outcome;
      },
      (_key, error) => failures.push((error as Error).message),
    );
    queue.add('lab/node-1');
    await workers;
    expect(failures).toEqual(['PhysicalHost changed while reconciling; retrying', 'PhysicalHost changed while reconciling; retrying']);
    // Each attempt carried the version it had read: 7 (stale), 8 (stale), 9 (current).
    expect(writes).toEqual(['7', '8', '9']);
    expect(current.status).toMatchObject({ state: 'Available', ready: true, powerState: 'Off' });
    expect(queue.failuresOf('lab/node-1')).toBe(0);
  });
});
