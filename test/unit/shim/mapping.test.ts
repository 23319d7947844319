import { describe, expect, it } from 'vitest';
import type { HostView } from '../../../daemon/core/schemas/host.js';
import type { MachineView } from '../../../daemon/core/schemas/machine.js';
import type { Beskar7Machine, PhysicalHost } from '../../../shim-operator/src/api/index.js';
import { setCondition } from '../../../shim-operator/src/controllers/conditions.js';
import { hostCreateOf, hostPatchOf, statusOf } from '../../../shim-operator/src/controllers/host-mapping.js';
import { machineCreateOf, machineStatusOf } from '../../../shim-operator/src/controllers/machine-mapping.js';

const host: PhysicalHost = {
  apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
  kind: 'PhysicalHost',
  metadata: { name: 'node-1', namespace: 'lab', labels: { 'topology.kubernetes.io/zone': 'a' } },
  spec: { powerControl: 'redfish', redfishConnection: { address: 'https://10.0.0.5', credentialsSecretRef: 'bmc', insecureSkipVerify: false }, bootMACAddresses: ['52-54-00-AA-BB-01'] },
};
const credentials = { username: 'root', password: 's3cret' };

const view = (over: Partial<HostView> = {}): HostView =>
  ({
    namespace: 'lab',
    name: 'node-1',
    labels: { 'topology.kubernetes.io/zone': 'a' },
    redfishConnection: { address: 'https://10.0.0.5', username: 'root', systemId: null, insecureSkipVerify: false, caBundle: null, hasPassword: true },
    powerControl: 'redfish',
    bootMACAddresses: ['52:54:00:aa:bb:01'],
    status: { state: 'Available', powerState: 'Off', inspectionPhase: null, netbootMode: null, system: null, inspectionReport: null, lastError: null, retryAt: null, machine: null },
    resourceVersion: 3,
    createdAt: '',
    updatedAt: '',
    ...over,
  });

describe('PhysicalHost ↔ daemon host', () => {
  it('creates the host with the CR\'s name, labels, normalised MACs and the Secret\'s login', () => {
    expect(hostCreateOf(host, credentials)).toEqual({
      namespace: 'lab',
      name: 'node-1',
      labels: { 'topology.kubernetes.io/zone': 'a' },
      powerControl: 'redfish',
      bootMACAddresses: ['52:54:00:aa:bb:01'],
      redfishConnection: { address: 'https://10.0.0.5', username: 'root', password: 's3cret', systemId: null, insecureSkipVerify: false, caBundle: null },
    });
  });

  it('patches nothing when the daemon already matches, and only what differs otherwise', () => {
    expect(hostPatchOf(host, view(), credentials, false)).toBeUndefined();
    expect(hostPatchOf(host, view(), credentials, true)).toEqual({ redfishConnection: { password: 's3cret' } });
    const drifted = view({ labels: { 'topology.kubernetes.io/zone': 'b', stale: 'x' }, redfishConnection: { address: 'https://10.0.0.9', username: 'root', systemId: null, insecureSkipVerify: false, caBundle: null, hasPassword: true } });
    expect(hostPatchOf(host, drifted, credentials, false)).toEqual({ labels: { 'topology.kubernetes.io/zone': 'a', stale: null }, redfishConnection: { address: 'https://10.0.0.5' } });
  });

  it('never clears MACs the daemon learnt from the BMC', () => {
    const learnt = { ...host, spec: { ...host.spec, bootMACAddresses: [] } };
    expect(hostPatchOf(learnt, view({ bootMACAddresses: ['52:54:00:aa:bb:07'] }), credentials, false)).toBeUndefined();
  });

  it('mirrors state and sums the report for the printer columns; only usable states are ready', () => {
    const report = {
      bootMACAddress: '52:54:00:aa:bb:01',
      cpus: { count: 2, cores: 32, threads: 64, model: 'x', architecture: 'x86_64', mhz: 2000 },
      memory: { totalBytes: 256 * 1024 ** 3, totalGB: 256 },
      disks: [
        { device: '/dev/sda', sizeBytes: 1, sizeGB: 480, type: 'SSD', model: null, serial: null },
        { device: '/dev/nvme0n1', sizeBytes: 1, sizeGB: 1920.4, type: 'NVMe', model: null, serial: null },
      ],
      nics: [],
      system: { manufacturer: null, model: null, serialNumber: null, biosVersion: null, bmcAddress: null },
    };
    const status = statusOf(view({ status: { ...view().status, state: 'Provisioned', inspectionPhase: 'Complete', inspectionReport: report, machine: { namespace: 'lab', name: 'm1' } } }));
    expect(status).toMatchObject({ state: 'Provisioned', ready: true, hardwareSummary: { cpuCores: 32, memoryGB: 256, diskGB: 2400.4 }, machineRef: { namespace: 'lab', name: 'm1' } });
    expect(statusOf(view({ status: { ...view().status, state: 'Error', lastError: 'BMC unreachable' } }))).toMatchObject({ ready: false, lastError: 'BMC unreachable' });
  });
});

describe('Beskar7Machine ↔ daemon machine', () => {
  const machine: Beskar7Machine = {
    apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
    kind: 'Beskar7Machine',
    metadata: { name: 'cp-0', namespace: 'lab' },
    spec: { targetImageURL: 'http://images/os.tar.gz', targetImageSHA256: 'a'.repeat(64), hardwareRequirements: { minCPUCores: 8 }, hostSelector: { matchLabels: { role: 'cp' } } },
  };

  it('turns the seed\'s targetImageURL into a kexec tarball, adds the failure domain to the selector, and carries the bootstrap data', () => {
    expect(machineCreateOf(machine, { clusterName: 'c1', failureDomain: 'zone-b', bootstrapData: '#cloud-config\n' })).toEqual({
      namespace: 'lab',
      name: 'cp-0',
      labels: { 'cluster.x-k8s.io/cluster-name': 'c1' },
      hardwareRequirements: { minCPUCores: 8 },
      hostSelector: { matchLabels: { role: 'cp', 'topology.kubernetes.io/zone': 'zone-b' } },
      image: { mode: 'kexec', tarball: { url: 'http://images/os.tar.gz', sha256: 'a'.repeat(64) }, cmdline: '' },
      bootstrapData: '#cloud-config\n',
    });
  });

  const machineView = (phase: MachineView['status']['phase'], over: Partial<MachineView['status']> = {}): MachineView =>
    ({ status: { phase, host: null, providerID: null, addresses: [], failureReason: null, failureMessage: null, ...over } }) as MachineView;

  it('is ready only when Provisioned, and provisioned stays true once it was', () => {
    expect(machineStatusOf(machineView('Provisioning'), undefined)).toMatchObject({ ready: false, initialization: { provisioned: false } });
    const up = machineStatusOf(machineView('Provisioned', { host: { namespace: 'lab', name: 'node-1' }, addresses: [{ type: 'InternalIP', address: '10.0.0.50' }] }), undefined);
    expect(up).toMatchObject({ ready: true, initialization: { provisioned: true }, hostRef: { name: 'node-1' }, addresses: [{ type: 'InternalIP', address: '10.0.0.50' }] });
    expect(machineStatusOf(machineView('Deprovisioning'), up)).toMatchObject({ ready: false, initialization: { provisioned: true } });
  });

  it('reports a failed machine with CAPI\'s failure fields', () => {
    expect(machineStatusOf(machineView('Failed', { failureReason: 'ChecksumMismatch', failureMessage: 'kernel sha256 differs' }), undefined)).toMatchObject({ failureReason: 'ChecksumMismatch', failureMessage: 'kernel sha256 differs' });
  });
});

describe('setCondition', () => {
  it('moves lastTransitionTime only when the status changes', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T01:00:00Z');
    const first = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Enrolling' }, 1, t1);
    const same = setCondition(first, { type: 'Ready', status: 'False', reason: 'Inspecting', message: 'booting' }, 2, t2);
    expect(same[0]).toMatchObject({ lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Inspecting', observedGeneration: 2 });
    const flipped = setCondition(same, { type: 'Ready', status: 'True', reason: 'Available' }, 2, t2);
    expect(flipped[0]?.lastTransitionTime).toBe('2026-01-01T01:00:00Z');
  });
});

describe('sameStatus', () => {
  it('ignores key order and undefined fields, not values or array order', async () => {
    const { sameStatus } = await import('../../../shim-operator/src/controllers/same-status.js');
    expect(sameStatus({ a: 1, b: { c: 2, d: [1, 2] }, e: undefined }, { b: { d: [1, 2], c: 2 }, a: 1 })).toBe(true);
    expect(sameStatus({ a: 1 }, { a: 2 })).toBe(false);
    expect(sameStatus({ d: [1, 2] }, { d: [2, 1] })).toBe(false);
  });
});
