import { describe, expect, it } from 'vitest';
import { requirementProblems, selectorMatches } from '../../../daemon/lifecycle/matching.js';
import { inspectionReportSchema } from '../../../daemon/core/schemas/ramdisk.js';

const report = inspectionReportSchema.parse({
  bootMACAddress: '52:54:00:00:00:01',
  cpus: { count: 2, cores: 16, threads: 32, model: 'Xeon', architecture: 'x86_64', mhz: 2400 },
  memory: { totalBytes: 64 * 2 ** 30, totalGB: 64 },
  disks: [
    { device: '/dev/sda', sizeBytes: 4000 * 2 ** 30, sizeGB: 4000, type: 'HDD', model: null, serial: null },
    { device: '/dev/nvme0n1', sizeBytes: 480 * 2 ** 30, sizeGB: 480, type: 'NVMe', model: null, serial: null },
  ],
  nics: [
    { interface: 'eth0', macAddress: '52:54:00:00:00:01', linkStatus: 'up', speedMbps: 10000, driver: 'ixgbe' },
    { interface: 'eth1', macAddress: '52:54:00:00:00:02', linkStatus: 'down', speedMbps: 25000, driver: 'mlx5_core' },
  ],
  system: {},
});

describe('hardware requirements', () => {
  it('accepts hardware that meets every requirement', () => {
    expect(requirementProblems(report, { minCPUCores: 16, minMemoryGB: 64, minDiskGB: 400, diskType: 'NVMe', architecture: 'x86_64', minNICSpeedMbps: 10000 })).toEqual([]);
    expect(requirementProblems(report, {})).toEqual([]);
  });

  it('names each shortfall', () => {
    const problems = requirementProblems(report, { minCPUCores: 32, minMemoryGB: 128, architecture: 'aarch64' });
    expect(problems).toEqual(['needs 32 CPU cores, has 16', 'needs 128 GB memory, has 64 GB', 'needs architecture aarch64, has x86_64']);
  });

  it('asks size and type of one disk together: a big HDD and a small NVMe are not a big NVMe', () => {
    expect(requirementProblems(report, { minDiskGB: 1000, diskType: 'NVMe' })).toHaveLength(1);
    expect(requirementProblems(report, { minDiskGB: 1000 })).toEqual([]);
    expect(requirementProblems(report, { diskType: 'SSD' })[0]).toContain('has /dev/sda HDD 4000 GB, /dev/nvme0n1 NVMe 480 GB');
  });

  it('counts only NICs whose link is up', () => {
    expect(requirementProblems(report, { minNICSpeedMbps: 25000 })[0]).toContain('fastest up is 10000 Mb/s');
  });
});

describe('label selectors', () => {
  const labels = { zone: 'a', role: 'worker', 'topology.kubernetes.io/zone': 'z1' };
  it('follows Kubernetes semantics', () => {
    expect(selectorMatches(labels, {})).toBe(true);
    expect(selectorMatches(labels, { matchLabels: { zone: 'a', role: 'worker' } })).toBe(true);
    expect(selectorMatches(labels, { matchLabels: { zone: 'b' } })).toBe(false);
    expect(selectorMatches(labels, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] })).toBe(true);
    expect(selectorMatches(labels, { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] })).toBe(false);
    expect(selectorMatches(labels, { matchExpressions: [{ key: 'gpu', operator: 'NotIn', values: ['yes'] }] })).toBe(true);
    expect(selectorMatches(labels, { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'Exists', values: [] }] })).toBe(true);
    expect(selectorMatches(labels, { matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist', values: [] }] })).toBe(true);
    expect(selectorMatches(labels, { matchExpressions: [{ key: 'role', operator: 'DoesNotExist', values: [] }] })).toBe(false);
    // Inherited properties are not labels.
    expect(selectorMatches({}, { matchExpressions: [{ key: 'constructor', operator: 'Exists', values: [] }] })).toBe(false);
  });
});
