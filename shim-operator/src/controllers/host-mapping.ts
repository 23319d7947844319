import type { HostView } from '../../../daemon/core/schemas/host.js';
import { inspectionReportSchema, type PhysicalHost, type PhysicalHostStatus } from '../api/index.js';
import type { HostCreateInput, HostPatchInput } from '../daemon-client/index.js';

// PhysicalHost ↔ daemon host, both ways, with no I/O: the controller decides, these translate.

export interface Credentials {
  username: string;
  password: string;
}

const normalMac = (mac: string) => mac.toLowerCase().replaceAll('-', ':');

/** The daemon host a PhysicalHost asks for (same namespace and name; its labels become the host's). */
export function hostCreateOf(host: PhysicalHost, credentials: Credentials | undefined): HostCreateInput {
  const { spec, metadata } = host;
  const redfish = spec.redfishConnection;
  return {
    namespace: metadata.namespace ?? 'default',
    name: metadata.name,
    labels: { ...(metadata.labels ?? {}) },
    powerControl: spec.powerControl,
    bootMACAddresses: (spec.bootMACAddresses ?? []).map(normalMac),
    ...(redfish && credentials
      ? {
          redfishConnection: {
            address: redfish.address,
            username: credentials.username,
            password: credentials.password,
            systemId: redfish.systemId ?? null,
            insecureSkipVerify: redfish.insecureSkipVerify,
            caBundle: redfish.caBundle ?? null,
          },
        }
      : {}),
  };
}

/**
 * What must change in the daemon for it to match the PhysicalHost; undefined when nothing does.
 * The password is sent only when the credentials Secret changed since it was last sent.
 */
export function hostPatchOf(host: PhysicalHost, current: HostView, credentials: Credentials | undefined, sendPassword: boolean): HostPatchInput | undefined {
  const want = hostCreateOf(host, credentials);
  const patch: HostPatchInput = {};
  const labels: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(want.labels ?? {})) if (current.labels[key] !== value) labels[key] = value;
  for (const key of Object.keys(current.labels)) if (!(key in (want.labels ?? {}))) labels[key] = null;
  if (Object.keys(labels).length > 0) patch.labels = labels;
  if (want.powerControl !== undefined && want.powerControl !== current.powerControl) patch.powerControl = want.powerControl;
  const macs = want.bootMACAddresses ?? [];
  // An empty list asks the daemon to learn the MACs from the BMC: never wipe what it learnt.
  if (macs.length > 0 && macs.join(',') !== current.bootMACAddresses.map(normalMac).join(',')) patch.bootMACAddresses = macs;
  const redfish = want.redfishConnection;
  if (redfish) {
    const have = current.redfishConnection;
    const connection: NonNullable<HostPatchInput['redfishConnection']> = {};
    if (have?.address !== redfish.address) connection.address = redfish.address;
    if (have?.username !== redfish.username) connection.username = redfish.username;
    if ((have?.systemId ?? null) !== (redfish.systemId ?? null)) connection.systemId = redfish.systemId ?? null;
    if (have?.insecureSkipVerify !== redfish.insecureSkipVerify) connection.insecureSkipVerify = redfish.insecureSkipVerify;
    if ((have?.caBundle ?? null) !== (redfish.caBundle ?? null)) connection.caBundle = redfish.caBundle ?? null;
    if (sendPassword || have?.hasPassword !== true) connection.password = redfish.password;
    if (Object.keys(connection).length > 0) patch.redfishConnection = connection;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

const READY_STATES = new Set(['Available', 'Claimed', 'Inspecting', 'Inspected', 'Provisioning', 'Provisioned']);

/** The daemon's view of the host as PhysicalHost status fields (conditions are the controller's). */
export function statusOf(view: HostView): Omit<PhysicalHostStatus, 'conditions' | 'observedGeneration'> {
  const report = inspectionReportSchema.safeParse(view.status.inspectionReport);
  const status: Omit<PhysicalHostStatus, 'conditions' | 'observedGeneration'> = {
    state: view.status.state,
    powerState: view.status.powerState,
    ready: READY_STATES.has(view.status.state),
  };
  if (view.status.inspectionPhase) status.inspectionPhase = view.status.inspectionPhase;
  if (report.success) {
    status.inspectionReport = report.data;
    status.hardwareSummary = {
      cpuCores: report.data.cpus.cores,
      memoryGB: report.data.memory.totalGB,
      diskGB: Math.round(report.data.disks.reduce((sum, d) => sum + d.sizeGB, 0) * 10) / 10,
    };
  }
  if (view.status.system) status.system = { ...view.status.system };
  if (view.status.machine) status.machineRef = { namespace: view.status.machine.namespace, name: view.status.machine.name };
  if (view.status.lastError) status.lastError = view.status.lastError.slice(0, 4096);
  return status;
}
