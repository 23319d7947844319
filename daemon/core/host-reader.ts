import type Database from 'better-sqlite3';
import type { HostView } from './schemas/host.js';

// Reads are the hot path (the shim and the CLI poll hosts; later, every PXE boot looks one up),
// so a host view is one prepared statement instead of several query-builder round trips.
const VIEW_SELECT = `
SELECT h.id, h.namespace, h.name, h.labels, h.bmc_address, h.bmc_username, h.system_id,
       h.insecure_skip_verify, h.ca_bundle, h.power_control, h.state, h.power_state,
       h.inspection_phase, h.netboot_mode, h.system_info, h.inspection_report, h.last_error, h.retry_at,
       h.created_at, h.updated_at, h.resource_version,
       EXISTS (SELECT 1 FROM bmc_credentials c WHERE c.host_id = h.id) AS has_password,
       m.namespace AS machine_namespace, m.name AS machine_name,
       (SELECT json_group_array(mac) FROM (SELECT mac FROM host_macs WHERE host_id = h.id ORDER BY position)) AS macs
FROM hosts h LEFT JOIN machines m ON m.host_id = h.id`;

interface ViewRow {
  id: number;
  namespace: string;
  name: string;
  labels: string;
  bmc_address: string | null;
  bmc_username: string | null;
  system_id: string | null;
  insecure_skip_verify: number;
  ca_bundle: string | null;
  power_control: HostView['powerControl'];
  state: HostView['status']['state'];
  power_state: string;
  inspection_phase: HostView['status']['inspectionPhase'];
  netboot_mode: HostView['status']['netbootMode'];
  system_info: string | null;
  inspection_report: string | null;
  last_error: string | null;
  retry_at: number | null;
  created_at: number;
  updated_at: number;
  resource_version: number;
  has_password: number;
  machine_namespace: string | null;
  machine_name: string | null;
  macs: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

function toView(row: ViewRow): HostView {
  return {
    namespace: row.namespace,
    name: row.name,
    labels: JSON.parse(row.labels) as Record<string, string>,
    redfishConnection: row.bmc_address
      ? {
          address: row.bmc_address,
          username: row.bmc_username ?? '',
          systemId: row.system_id,
          insecureSkipVerify: row.insecure_skip_verify === 1,
          caBundle: row.ca_bundle,
          hasPassword: row.has_password === 1,
        }
      : null,
    powerControl: row.power_control,
    bootMACAddresses: JSON.parse(row.macs) as string[],
    status: {
      state: row.state,
      powerState: row.power_state,
      inspectionPhase: row.inspection_phase,
      netbootMode: row.netboot_mode,
      system: json<HostView['status']['system']>(row.system_info),
      inspectionReport: json<unknown>(row.inspection_report),
      lastError: row.last_error,
      retryAt: row.retry_at === null ? null : iso(row.retry_at),
      machine: row.machine_namespace !== null && row.machine_name !== null ? { namespace: row.machine_namespace, name: row.machine_name } : null,
    },
    resourceVersion: row.resource_version,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** Host views from prepared statements; on the daemon's one connection, so it sees the open transaction. */
export class HostReader {
  private readonly byName: Database.Statement<[string, string], ViewRow>;
  private readonly byId: Database.Statement<[number], ViewRow>;
  private readonly byIds: Database.Statement<[string], ViewRow>;

  constructor(sqlite: Database.Database) {
    this.byName = sqlite.prepare(`${VIEW_SELECT} WHERE h.namespace = ? AND h.name = ?`);
    this.byId = sqlite.prepare(`${VIEW_SELECT} WHERE h.id = ?`);
    this.byIds = sqlite.prepare(`${VIEW_SELECT} WHERE h.id IN (SELECT value FROM json_each(?)) ORDER BY h.id`);
  }

  get(namespace: string, name: string): HostView | undefined {
    const row = this.byName.get(namespace, name);
    return row && toView(row);
  }

  getById(id: number): HostView | undefined {
    const row = this.byId.get(id);
    return row && toView(row);
  }

  /** Views of the given hosts, in id order. */
  getMany(ids: number[]): HostView[] {
    return ids.length === 0 ? [] : this.byIds.all(JSON.stringify(ids)).map(toView);
  }
}
