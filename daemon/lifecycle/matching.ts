import type { z } from 'zod';
import type { hardwareRequirementsSchema, hostSelectorSchema } from '../core/schemas/machine.js';
import type { InspectionReport } from '../core/schemas/ramdisk.js';

export type HardwareRequirements = z.output<typeof hardwareRequirementsSchema>;
export type HostSelector = z.output<typeof hostSelectorSchema>;

/** Kubernetes label-selector semantics: every matchLabels pair and every expression must hold. */
export function selectorMatches(labels: Readonly<Record<string, string>>, selector: HostSelector): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expression.key);
    const value = labels[expression.key];
    switch (expression.operator) {
      case 'In':
        if (!has || value === undefined || !expression.values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && expression.values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/**
 * Why the hardware falls short of the requirements; empty when it meets them. Disk size and
 * type are asked of one disk together: a big HDD and a small SSD do not make a big SSD.
 */
export function requirementProblems(report: InspectionReport, requirements: HardwareRequirements): string[] {
  const problems: string[] = [];
  if (requirements.minCPUCores !== undefined && report.cpus.cores < requirements.minCPUCores) {
    problems.push(`needs ${requirements.minCPUCores} CPU cores, has ${report.cpus.cores}`);
  }
  if (requirements.minMemoryGB !== undefined && report.memory.totalGB < requirements.minMemoryGB) {
    problems.push(`needs ${requirements.minMemoryGB} GB memory, has ${report.memory.totalGB} GB`);
  }
  if (requirements.architecture !== undefined && report.cpus.architecture !== requirements.architecture) {
    problems.push(`needs architecture ${requirements.architecture}, has ${report.cpus.architecture}`);
  }
  if (requirements.minDiskGB !== undefined || requirements.diskType !== undefined) {
    const fits = report.disks.some(
      (disk) => (requirements.minDiskGB === undefined || disk.sizeGB >= requirements.minDiskGB) && (requirements.diskType === undefined || disk.type === requirements.diskType),
    );
    if (!fits) {
      const wanted = [requirements.diskType, requirements.minDiskGB !== undefined ? `≥ ${requirements.minDiskGB} GB` : undefined].filter(Boolean).join(' ');
      const have = report.disks.map((d) => `${d.device} ${d.type} ${d.sizeGB} GB`).join(', ') || 'no disks';
      problems.push(`needs a ${wanted} disk, has ${have}`);
    }
  }
  if (requirements.minNICSpeedMbps !== undefined) {
    const fastest = Math.max(0, ...report.nics.filter((nic) => nic.linkStatus === 'up').map((nic) => nic.speedMbps ?? 0));
    if (fastest < requirements.minNICSpeedMbps) problems.push(`needs a NIC with link at ${requirements.minNICSpeedMbps} Mb/s, fastest up is ${fastest} Mb/s`);
  }
  return problems;
}

export interface RootDeviceHints {
  deviceName?: string | undefined;
  model?: string | undefined;
  serialNumber?: string | undefined;
  minSizeGB?: number | undefined;
  rotational?: boolean | undefined;
}

/** Why no disk of the report can take a disk image by these hints; empty when one can. */
export function rootDeviceProblems(report: InspectionReport, hints: RootDeviceHints): string[] {
  const fits = report.disks.some(
    (disk) =>
      (hints.deviceName === undefined || disk.device === hints.deviceName) &&
      (hints.model === undefined || (disk.model ?? '').includes(hints.model)) &&
      (hints.serialNumber === undefined || disk.serial === hints.serialNumber) &&
      (hints.minSizeGB === undefined || disk.sizeGB >= hints.minSizeGB) &&
      (hints.rotational === undefined || (disk.type === 'HDD') === hints.rotational),
  );
  if (fits) return [];
  if (report.disks.length === 0) return ['has no disk for the image'];
  return [`no disk matches the root device hints ${JSON.stringify(hints)}`];
}
