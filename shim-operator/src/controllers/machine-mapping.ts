import type { MachineView } from '../../../daemon/core/schemas/machine.js';
import type { Beskar7Machine, Beskar7MachineStatus } from '../api/index.js';
import type { MachineCreateInput } from '../daemon-client/index.js';

// Beskar7Machine ↔ daemon machine, both ways, with no I/O.

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const CLUSTER_LABEL = 'cluster.x-k8s.io/cluster-name';

export interface MachineContext {
  clusterName: string | undefined;
  /** The CAPI Machine's failure domain: hosts are chosen in that zone. */
  failureDomain: string | undefined;
  /** The bootstrap data (cloud-init or ignition) from the CAPI Machine's secret. */
  bootstrapData: string | undefined;
}

/** The daemon machine a Beskar7Machine asks for (same namespace and name). */
export function machineCreateOf(machine: Beskar7Machine, context: MachineContext): MachineCreateInput {
  const { spec, metadata } = machine;
  const image: MachineCreateInput['image'] = spec.image
    ? spec.image.mode === 'kexec'
      ? { ...spec.image, cmdline: spec.image.cmdline ?? '' }
      : { ...spec.image, format: spec.image.format ?? 'raw', rootDeviceHints: spec.image.rootDeviceHints ?? {} }
    : // The seed's short form: a tar.gz with kernel and initrd, kexec'd.
      { mode: 'kexec', tarball: { url: spec.targetImageURL ?? '', sha256: spec.targetImageSHA256 ?? '' }, cmdline: '' };
  const matchLabels = { ...(spec.hostSelector?.matchLabels ?? {}), ...(context.failureDomain ? { [ZONE_LABEL]: context.failureDomain } : {}) };
  const selector = {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
    ...(spec.hostSelector?.matchExpressions?.length ? { matchExpressions: spec.hostSelector.matchExpressions.map((e) => ({ ...e, values: e.values ?? [] })) } : {}),
  };
  return {
    namespace: metadata.namespace ?? 'default',
    name: metadata.name,
    labels: context.clusterName ? { [CLUSTER_LABEL]: context.clusterName } : {},
    hardwareRequirements: { ...(spec.hardwareRequirements ?? {}) },
    hostSelector: selector,
    image,
    ...(context.bootstrapData !== undefined ? { bootstrapData: context.bootstrapData } : spec.configurationURL ? { configurationURL: spec.configurationURL } : {}),
    ...(spec.deprovision?.wipe ? { deprovision: { wipe: { method: spec.deprovision.wipe.method, disks: spec.deprovision.wipe.disks ?? [] } } } : {}),
  };
}

const ADDRESS_TYPES = new Set(['Hostname', 'ExternalIP', 'InternalIP', 'ExternalDNS', 'InternalDNS']);

/** The daemon's view of the machine as Beskar7Machine status fields (conditions are the controller's). */
export function machineStatusOf(view: MachineView, previous: Beskar7MachineStatus | undefined): Omit<Beskar7MachineStatus, 'conditions'> {
  const provisioned = view.status.phase === 'Provisioned';
  const addresses = (view.status.addresses as { type?: string; address?: string }[])
    .filter((a): a is { type: 'InternalIP'; address: string } => typeof a.address === 'string' && ADDRESS_TYPES.has(a.type ?? ''))
    .slice(0, 32);
  const status: Omit<Beskar7MachineStatus, 'conditions'> = {
    phase: view.status.phase,
    ready: provisioned,
    // Never reset once true (CAPI v1beta2 contract), even while the host is re-provisioned.
    initialization: { provisioned: provisioned || previous?.initialization?.provisioned === true },
  };
  if (addresses.length > 0) status.addresses = addresses;
  if (view.status.host) status.hostRef = { namespace: view.status.host.namespace, name: view.status.host.name };
  if (view.status.phase === 'Failed') {
    status.failureReason = (view.status.failureReason ?? 'ProvisioningFailed').slice(0, 256);
    status.failureMessage = (view.status.failureMessage ?? 'the daemon failed the machine').slice(0, 10_240);
  }
  return status;
}
