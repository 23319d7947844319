import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_VERSION, type Beskar7Cluster, type Beskar7Machine, type PhysicalHost } from '../../shim-operator/src/api/index.js';
import { BESKAR7_CLUSTERS, CONTROL_PLANE_LABEL } from '../../shim-operator/src/controllers/beskar7-cluster-controller.js';
import { BESKAR7_MACHINES, CAPI_CLUSTERS, CAPI_MACHINES, MACHINE_FINALIZER } from '../../shim-operator/src/controllers/beskar7-machine-controller.js';
import { PHYSICAL_HOSTS } from '../../shim-operator/src/controllers/physical-host-controller.js';
import type { KubeObject, Resource } from '../../shim-operator/src/kube/kube-api.js';
import type { Lab } from '../helpers/lab.js';
import { installCapiStandIns } from './capi-crds.js';
import { eventually } from './eventually.js';
import { b64, SECRETS, startLabShim, type LabShim } from './lab-shim.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';

// Beskar7Machine against a real kube-apiserver and a real daemon whose hosts are emulated BMCs with
// simulated machines that network-boot and run the ramdisk protocol over HTTP.

const EVENTS: Resource = { group: '', version: 'v1', plural: 'events', kind: 'Event' };
const NS = 'machines-test';
const ZONES = ['zone-a', 'zone-b'];

let plane: ControlPlane;
let lab: Lab;
let labShim: LabShim | undefined;

const getMachine = (name: string) => plane.api.getOrUndefined<Beskar7Machine & KubeObject>(BESKAR7_MACHINES, NS, name);
const getHost = (name: string) => plane.api.getOrUndefined<PhysicalHost & KubeObject>(PHYSICAL_HOSTS, NS, name);

beforeAll(async () => {
  plane = await startControlPlane();
  await plane.installCrds();
  await installCapiStandIns(plane);
  // Two hosts, one per zone, registered through their PhysicalHosts.
  labShim = await startLabShim(plane, { namespace: NS, hosts: ZONES.length, identity: 'machines-test', labelsOf: (i) => ({ 'topology.kubernetes.io/zone': ZONES[i] ?? '' }) });
  lab = labShim.lab;
  await plane.api.create(CAPI_CLUSTERS, NS, { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', metadata: { name: 'c1', namespace: NS }, spec: {} } as KubeObject);
}, 300_000);

afterAll(async () => {
  await labShim?.stop();
  await plane?.stop();
}, 60_000);

/** A CAPI Machine and its Beskar7Machine, owned as CAPI would own it. */
async function createMachinePair(name: string, options: { zone?: string; bootstrap?: string | null }) {
  if (options.bootstrap !== null) {
    await plane.api.create(SECRETS, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-bootstrap`, namespace: NS }, data: { value: b64(options.bootstrap ?? `#cloud-config\nhostname: ${name}\n`) } } as KubeObject);
  }
  const capi = await plane.api.create<KubeObject>(CAPI_MACHINES, NS, {
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'Machine',
    metadata: { name, namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': 'c1' } },
    spec: {
      clusterName: 'c1',
      ...(options.zone ? { failureDomain: options.zone } : {}),
      bootstrap: options.bootstrap === null ? {} : { dataSecretName: `${name}-bootstrap` },
      infrastructureRef: { apiVersion: GROUP_VERSION, kind: 'Beskar7Machine', name },
    },
  } as KubeObject);
  await plane.api.create(BESKAR7_MACHINES, NS, {
    apiVersion: GROUP_VERSION,
    kind: 'Beskar7Machine',
    metadata: {
      name,
      namespace: NS,
      labels: { 'cluster.x-k8s.io/cluster-name': 'c1' },
      ownerReferences: [{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Machine', name, uid: capi.metadata.uid ?? '', controller: true }],
    },
    spec: { image: { mode: 'kexec', kernel: lab.kexecImage.kernel, initrd: lab.kexecImage.initrd, cmdline: 'console=ttyS0' }, hardwareRequirements: { minCPUCores: 1 } },
  } as KubeObject);
}

describe('Beskar7Machine controller', () => {
  it('provisions a host in the Machine\'s failure domain with its bootstrap data, then sets providerID, ready, provisioned and addresses', async () => {
    await createMachinePair('m1', { zone: 'zone-b' });
    const ready = await eventually(() => getMachine('m1'), (m) => m?.status?.ready === true && m.spec.providerID !== undefined, 'm1 ready', 120_000);
    expect(ready?.spec.providerID).toBe(`beskar7://${NS}/host-1`);
    expect(ready?.status).toMatchObject({ phase: 'Provisioned', initialization: { provisioned: true }, hostRef: { namespace: NS, name: 'host-1' } });
    expect(ready?.status?.addresses?.[0]?.type).toBe('InternalIP');
    expect(ready?.metadata.finalizers).toContain(MACHINE_FINALIZER);
    const conditions = Object.fromEntries((ready?.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions.Ready).toMatchObject({ status: 'True', reason: 'Provisioned' });
    expect(conditions.HostClaimed).toMatchObject({ status: 'True', message: `${NS}/host-1` });
    // The daemon got the bootstrap data from the Machine's secret.
    const userData = await lab.d.api('GET', `/api/v1/machines/${NS}/m1`);
    expect((userData.body as { hasBootstrapData: boolean }).hasBootstrapData).toBe(true);
    // The PhysicalHost shows who holds it.
    const host = await eventually(() => getHost('host-1'), (h) => h?.status?.machineRef?.name === 'm1', 'host-1 machineRef');
    expect(host?.status?.state).toBe('Provisioned');
    // The event is written just after the status it describes: wait for it rather than race it.
    const reasons = (items: (KubeObject & { reason: string; involvedObject: { name: string } })[]) => items.filter((e) => e.involvedObject.name === 'm1').map((e) => e.reason);
    await eventually(
      () => plane.api.list<KubeObject & { reason: string; involvedObject: { name: string } }>(EVENTS, NS),
      (events) => ['Created', 'Provisioned'].every((r) => reasons(events.items).includes(r)),
      'm1 events Created and Provisioned',
    );
  }, 180_000);

  it('waits for the Machine\'s bootstrap data before asking the daemon for anything', async () => {
    await createMachinePair('m2', { bootstrap: null });
    const waiting = await eventually(() => getMachine('m2'), (m) => m?.status?.conditions?.some((c) => c.reason === 'WaitingForBootstrapData') === true, 'm2 waiting');
    expect(waiting?.status?.ready).toBeUndefined();
    expect((await lab.d.api('GET', `/api/v1/machines/${NS}/m2`)).status).toBe(404);
    await plane.api.create(SECRETS, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'm2-bootstrap', namespace: NS }, data: { value: b64('#cloud-config\n') } } as KubeObject);
    await plane.api.mergePatch(CAPI_MACHINES, NS, 'm2', { spec: { bootstrap: { dataSecretName: 'm2-bootstrap' } } });
    const ready = await eventually(() => getMachine('m2'), (m) => m?.status?.ready === true, 'm2 ready once the bootstrap data is there', 120_000);
    expect(ready?.spec.providerID).toBe(`beskar7://${NS}/host-0`);
  }, 180_000);

  it('gives the Beskar7Cluster failure domains from the hosts\' zones, and its endpoint from a ready control-plane machine', async () => {
    const capiCluster = await plane.api.get<KubeObject>(CAPI_CLUSTERS, NS, 'c1');
    await plane.api.create(BESKAR7_CLUSTERS, NS, {
      apiVersion: GROUP_VERSION,
      kind: 'Beskar7Cluster',
      metadata: { name: 'c1', namespace: NS, ownerReferences: [{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', name: 'c1', uid: capiCluster.metadata.uid ?? '', controller: true }] },
      spec: {},
    } as KubeObject);
    const getCluster = () => plane.api.getOrUndefined<Beskar7Cluster & KubeObject>(BESKAR7_CLUSTERS, NS, 'c1');
    const waiting = await eventually(getCluster, (c) => c?.status?.conditions?.some((x) => x.type === 'Ready') === true, 'c1 reconciled');
    expect(waiting?.status?.ready).toBe(false);
    expect(waiting?.status?.failureDomains).toEqual({ 'zone-a': { controlPlane: true }, 'zone-b': { controlPlane: true } });
    expect(waiting?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForControlPlaneEndpoint' });
    // m2 (ready, on host-0) becomes a control-plane machine, as KubeadmControlPlane labels its machines.
    await plane.api.mergePatch(BESKAR7_MACHINES, NS, 'm2', { metadata: { labels: { [CONTROL_PLANE_LABEL]: '' } } });
    const m2 = await getMachine('m2');
    const address = m2?.status?.addresses?.[0]?.address;
    const ready = await eventually(getCluster, (c) => c?.status?.ready === true, 'c1 ready');
    expect(ready?.spec.controlPlaneEndpoint).toEqual({ host: address, port: 6443 });
    expect(ready?.status?.initialization).toEqual({ provisioned: true });
  }, 120_000);

  it('releases the host before the finalizer lets a deleted Beskar7Machine go', async () => {
    await plane.api.delete(BESKAR7_MACHINES, NS, 'm1');
    await eventually(() => getMachine('m1'), (m) => m === undefined, 'm1 gone', 120_000);
    expect((await lab.d.api('GET', `/api/v1/machines/${NS}/m1`)).status).toBe(404);
    await eventually(() => getHost('host-1'), (h) => h?.status?.state === 'Available' && h.status.machineRef === undefined, 'host-1 back in the pool', 60_000);
  }, 180_000);
});
