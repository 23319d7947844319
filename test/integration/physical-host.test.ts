import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostView } from '../../daemon/core/schemas/host.js';
import { GROUP_VERSION, type PhysicalHost } from '../../shim-operator/src/api/index.js';
import { HOST_FINALIZER, PHYSICAL_HOSTS } from '../../shim-operator/src/controllers/physical-host-controller.js';
import type { KubeObject, Resource } from '../../shim-operator/src/kube/kube-api.js';
import { ShimManager } from '../../shim-operator/src/manager.js';
import { dmtfMockup } from '../bmc/data.js';
import { startBmcEmulator } from '../bmc/index.js';
import type { BmcEmulator } from '../bmc/types.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from './eventually.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { TcpLink } from './tcp-link.js';

// The PhysicalHost controller against a real kube-apiserver + etcd and a real daemon (in-process,
// with emulated Redfish BMCs), the daemon reached through a link the test can cut.

const SECRETS: Resource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
const EVENTS: Resource = { group: '', version: 'v1', plural: 'events', kind: 'Event' };
const NAMESPACES: Resource = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };
const NS = 'hosts-test';

let plane: ControlPlane;
let bmc: BmcEmulator;
let daemon: TestDaemon;
let link: TcpLink;
let shim: ShimManager;

const log = pino({ level: process.env.B7_TEST_LOG ?? 'silent' });

beforeAll(async () => {
  plane = await startControlPlane();
  await plane.installCrds();
  await plane.api.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  bmc = await startBmcEmulator({ mockup: dmtfMockup('public-rackmount1'), count: 3, initialPowerState: 'Off' });
  daemon = await startTestDaemon();
  const port = Number(new URL(daemon.url).port);
  link = new TcpLink({ host: '127.0.0.1', port });
  await link.open();
  shim = new ShimManager(
    plane.config,
    {
      daemons: [{ name: 'lab', url: link.url, token: daemon.token }],
      defaultDaemon: 'lab',
      leaseNamespace: 'default',
      leaseName: 'beskar7-shim',
      identity: 'shim-test',
      workers: 4,
      leaderElection: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 },
    },
    log,
  );
  shim.start();
  await shim.leading;
}, 180_000);

afterAll(async () => {
  await shim?.stop();
  await link?.cut();
  await daemon?.stop();
  await bmc?.stop();
  await plane?.stop();
}, 60_000);

const getHost = (name: string) => plane.api.getOrUndefined<PhysicalHost & KubeObject>(PHYSICAL_HOSTS, NS, name);
const daemonHost = async (name: string) => {
  const res = await daemon.api('GET', `/api/v1/hosts/${NS}/${name}`);
  return res.status === 200 ? (res.body as HostView) : undefined;
};

async function createHost(name: string, bmcIndex: number, extra: { secret?: string; labels?: Record<string, string> } = {}) {
  const target = bmc.bmcs[bmcIndex];
  if (!target) throw new Error(`no BMC ${bmcIndex}`);
  const secret = extra.secret ?? `${name}-bmc`;
  if (extra.secret === undefined) {
    await plane.api.create(SECRETS, NS, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secret, namespace: NS },
      data: { username: Buffer.from(target.username).toString('base64'), password: Buffer.from(target.password).toString('base64') },
    } as KubeObject);
  }
  await plane.api.create(PHYSICAL_HOSTS, NS, {
    apiVersion: GROUP_VERSION,
    kind: 'PhysicalHost',
    metadata: { name, namespace: NS, labels: extra.labels ?? { 'topology.kubernetes.io/zone': 'zone-a' } },
    spec: { redfishConnection: { address: target.url, credentialsSecretRef: secret }, bootMACAddresses: [`52:54:00:aa:00:0${bmcIndex}`] },
  } as KubeObject);
}

describe('PhysicalHost controller', () => {
  it('registers the host with the daemon (credentials from the Secret, write-only) and mirrors its state into status', async () => {
    await createHost('rack1-node1', 0);
    const inDaemon = await eventually(() => daemonHost('rack1-node1'), (h) => h?.status.state === 'Available', 'daemon host Available');
    expect(inDaemon?.redfishConnection).toMatchObject({ address: bmc.bmcs[0]?.url, username: bmc.bmcs[0]?.username, hasPassword: true });
    expect(inDaemon?.labels).toEqual({ 'topology.kubernetes.io/zone': 'zone-a' });
    expect(JSON.stringify(inDaemon)).not.toContain(bmc.bmcs[0]?.password ?? 'x');

    const host = await eventually(() => getHost('rack1-node1'), (h) => h?.status?.state === 'Available' && h.status.ready === true, 'PhysicalHost status Available');
    expect(host?.metadata.finalizers).toContain(HOST_FINALIZER);
    expect(host?.status?.powerState).toBe('Off');
    expect(host?.status?.system?.manufacturer).toBeTruthy();
    expect(host?.status?.observedGeneration).toBe(host?.metadata.generation);
    const conditions = Object.fromEntries((host?.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions.Synced).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(conditions.Ready).toMatchObject({ status: 'True', reason: 'Available' });
    const events = await plane.api.list<KubeObject & { reason: string; involvedObject: { name: string } }>(EVENTS, NS);
    expect(events.items.some((e) => e.reason === 'Registered' && e.involvedObject.name === 'rack1-node1')).toBe(true);
  });

  it('keeps labels and MACs in step with the CR, and sends a changed password', async () => {
    await plane.api.mergePatch(PHYSICAL_HOSTS, NS, 'rack1-node1', { metadata: { labels: { 'topology.kubernetes.io/zone': 'zone-b', role: 'worker' } }, spec: { bootMACAddresses: ['52:54:00:aa:00:10'] } });
    const updated = await eventually(() => daemonHost('rack1-node1'), (h) => h?.labels.role === 'worker', 'labels synced');
    expect(updated?.labels).toEqual({ 'topology.kubernetes.io/zone': 'zone-b', role: 'worker' });
    expect(updated?.bootMACAddresses).toEqual(['52:54:00:aa:00:10']);
  });

  it('says so in a condition and an event when the credentials Secret is missing, and recovers when it appears', async () => {
    await createHost('rack1-node2', 1, { secret: 'not-there-yet' });
    const blocked = await eventually(() => getHost('rack1-node2'), (h) => h?.status?.conditions?.some((c) => c.type === 'Synced' && c.status === 'False') === true, 'Synced False');
    expect(blocked?.status?.conditions?.find((c) => c.type === 'Synced')).toMatchObject({ reason: 'CredentialsSecretNotFound' });
    expect(await daemonHost('rack1-node2')).toBeUndefined();
    // The Warning is written just after the condition: wait for it rather than race it.
    await eventually(
      () => plane.api.list<KubeObject & { reason: string; type: string }>(EVENTS, NS),
      (events) => events.items.some((e) => e.reason === 'CredentialsSecretNotFound' && e.type === 'Warning'),
      'a CredentialsSecretNotFound Warning event',
    );
  });

  it('deletes the daemon host before letting the CR go (finalizer)', async () => {
    await plane.api.delete(PHYSICAL_HOSTS, NS, 'rack1-node2');
    await eventually(() => getHost('rack1-node2'), (h) => h === undefined, 'CR gone');
    await plane.api.delete(PHYSICAL_HOSTS, NS, 'rack1-node1');
    await eventually(() => getHost('rack1-node1'), (h) => h === undefined, 'CR with a daemon host gone', 60_000);
    expect(await daemonHost('rack1-node1')).toBeUndefined();
  });

  it('reports an unreachable daemon in conditions, and recovers when it is back', async () => {
    await createHost('rack1-node3', 2);
    await eventually(() => getHost('rack1-node3'), (h) => h?.status?.ready === true, 'ready before the outage');
    await link.cut();
    const down = await eventually(
      () => getHost('rack1-node3'),
      (h) => h?.status?.conditions?.some((c) => c.type === 'Synced' && c.reason === 'DaemonUnreachable') === true,
      'DaemonUnreachable',
      60_000,
    );
    expect(down?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'Unknown', reason: 'DaemonUnreachable' });
    await link.open();
    await eventually(() => getHost('rack1-node3'), (h) => h?.status?.conditions?.some((c) => c.type === 'Synced' && c.status === 'True') === true, 'Synced again', 90_000);
  }, 180_000);

  it('runs the controllers in one replica only: a second shim waits for the Lease', async () => {
    const second = new ShimManager(
      plane.config,
      { daemons: [{ name: 'lab', url: link.url, token: daemon.token }], defaultDaemon: 'lab', leaseNamespace: 'default', leaseName: 'beskar7-shim', identity: 'shim-second', workers: 1, leaderElection: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 } },
      log,
    );
    second.start();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(shim.isLeader).toBe(true);
    expect(second.isLeader).toBe(false);
    await shim.stop();
    await second.leading;
    expect(second.isLeader).toBe(true);
    // The new leader carries on: a new host is registered by it.
    await createHost('rack2-node1', 0, { labels: { rack: 'r2' } });
    await eventually(() => getHost('rack2-node1'), (h) => h?.status?.ready === true, 'registered by the second replica', 60_000);
    shim = second;
  }, 120_000);
});

