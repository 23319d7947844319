import { eq } from 'drizzle-orm';
import type Database from 'better-sqlite3';
import { hosts, machines } from '../../db/schema.js';
import { hardwareRequirementsSchema, hostSelectorSchema } from '../core/schemas/machine.js';
import { inspectionReportSchema, type InspectionReport } from '../core/schemas/ramdisk.js';
import type { LifecycleStore } from './lifecycle-store.js';
import { requirementProblems, selectorMatches, type HardwareRequirements, type HostSelector } from './matching.js';

interface Candidate {
  id: number;
  version: number;
  labels: Record<string, string>;
  report: InspectionReport | null;
}

interface Wanted {
  version: number;
  selector: HostSelector;
  requirements: HardwareRequirements;
}

interface VersionRow {
  id: number;
  resource_version: number;
}

/** Claims per pass: a pass is one transaction, and the event loop (ramdisk calls, the API) must not wait long on it. */
const CLAIMS_PER_PASS = 64;

/**
 * Gives waiting machines hosts, in one transaction per pass: each machine (oldest first) takes
 * the first free host its selector accepts and, when the host's stored report says anything,
 * whose hardware meets its requirements — hosts known to fit before hosts not inspected yet.
 * machines.host_id is UNIQUE, so even a bug here could not hand one host to two machines.
 * Parsed labels, reports and requirements are cached by row version, so a pass over thousands
 * of hosts reads little more than their ids.
 */
export class Claimer {
  // Only rows seen in the last pass are kept, so deleted or claimed rows drop out by themselves.
  private candidates = new Map<number, Candidate>();
  private wanted = new Map<number, Wanted>();
  private readonly freeHosts: Database.Statement<[], VersionRow>;
  private readonly waitingMachines: Database.Statement<[], VersionRow & { rejected_host_ids: string }>;
  private readonly hostDetail: Database.Statement<[number], { labels: string; inspection_report: string | null }>;
  private readonly machineDetail: Database.Statement<[number], { host_selector: string; hardware_requirements: string }>;

  constructor(private readonly lifecycle: LifecycleStore) {
    const sqlite = lifecycle.store.sqlite;
    this.freeHosts = sqlite.prepare(
      `SELECT h.id, h.resource_version FROM hosts h LEFT JOIN machines m ON m.host_id = h.id
       WHERE h.state = 'Available' AND h.requested_action IS NULL AND m.id IS NULL ORDER BY h.id`,
    );
    this.waitingMachines = sqlite.prepare(
      `SELECT id, resource_version, rejected_host_ids FROM machines
       WHERE host_id IS NULL AND phase = 'Pending' AND deletion_requested_at IS NULL ORDER BY id`,
    );
    this.hostDetail = sqlite.prepare('SELECT labels, inspection_report FROM hosts WHERE id = ?');
    this.machineDetail = sqlite.prepare('SELECT host_selector, hardware_requirements FROM machines WHERE id = ?');
  }

  /** One pass; returns the hosts it claimed and whether machines and hosts may remain to pair. */
  pass(): { claimed: number[]; more: boolean } {
    const claimed: number[] = [];
    let more = false;
    this.lifecycle.store.write((tx, record) => {
      const waiting = this.waitingMachines.all();
      if (waiting.length === 0) return;
      const previous = this.candidates;
      this.candidates = new Map();
      const free = this.freeHosts.all().map((row) => this.candidate(row, previous));
      if (free.length === 0) return;
      const previousWanted = this.wanted;
      this.wanted = new Map();
      const taken = new Set<number>();
      for (const machine of waiting) {
        if (taken.size === free.length) break;
        if (claimed.length === CLAIMS_PER_PASS) {
          more = true;
          break;
        }
        const wanted = this.wantedBy(machine, previousWanted);
        const rejected = new Set(JSON.parse(machine.rejected_host_ids) as number[]);
        let choice: Candidate | undefined;
        let unknown: Candidate | undefined;
        for (const candidate of free) {
          if (taken.has(candidate.id) || rejected.has(candidate.id) || !selectorMatches(candidate.labels, wanted.selector)) continue;
          if (candidate.report === null) {
            unknown ??= candidate;
            continue;
          }
          if (requirementProblems(candidate.report, wanted.requirements).length === 0) {
            choice = candidate;
            break;
          }
        }
        choice ??= unknown;
        if (!choice) continue;
        taken.add(choice.id);
        const host = tx.select().from(hosts).where(eq(hosts.id, choice.id)).get();
        if (!host) continue;
        const attached = tx.update(machines).set({ hostId: host.id }).where(eq(machines.id, machine.id)).returning().get();
        this.lifecycle.apply(tx, record, host, attached, {
          host: { state: 'Claimed' },
          reason: `claimed by machine ${attached.namespace}/${attached.name}`,
          events: [
            {
              subject: 'machine',
              type: 'Claimed',
              message: `claimed host ${host.namespace}/${host.name}${choice.report ? ' (its stored report meets the requirements)' : ' (not inspected yet: validated after it boots)'}`,
              data: { host: `${host.namespace}/${host.name}` },
            },
          ],
        });
        claimed.push(host.id);
      }
    });
    return { claimed, more };
  }

  private candidate(row: VersionRow, previous: Map<number, Candidate>): Candidate {
    const cached = previous.get(row.id);
    if (cached?.version === row.resource_version) {
      this.candidates.set(row.id, cached);
      return cached;
    }
    const detail = this.hostDetail.get(row.id);
    const parsed = detail?.inspection_report ? inspectionReportSchema.safeParse(JSON.parse(detail.inspection_report)) : null;
    const candidate: Candidate = {
      id: row.id,
      version: row.resource_version,
      labels: detail ? (JSON.parse(detail.labels) as Record<string, string>) : {},
      report: parsed?.success ? parsed.data : null,
    };
    this.candidates.set(row.id, candidate);
    return candidate;
  }

  private wantedBy(row: VersionRow, previous: Map<number, Wanted>): Wanted {
    const cached = previous.get(row.id);
    if (cached?.version === row.resource_version) {
      this.wanted.set(row.id, cached);
      return cached;
    }
    const detail = this.machineDetail.get(row.id);
    const wanted: Wanted = {
      version: row.resource_version,
      selector: hostSelectorSchema.parse(detail ? JSON.parse(detail.host_selector) : {}),
      requirements: hardwareRequirementsSchema.parse(detail ? JSON.parse(detail.hardware_requirements) : {}),
    };
    this.wanted.set(row.id, wanted);
    return wanted;
  }
}
