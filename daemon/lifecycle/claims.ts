import { and, asc, eq, isNull } from 'drizzle-orm';
import { hosts, machines } from '../../db/schema.js';
import { hardwareRequirementsSchema, hostSelectorSchema } from '../core/schemas/machine.js';
import { inspectionReportSchema, type InspectionReport } from '../core/schemas/ramdisk.js';
import type { LifecycleStore } from './lifecycle-store.js';
import { requirementProblems, selectorMatches } from './matching.js';

interface Candidate {
  id: number;
  labels: Record<string, string>;
  report: InspectionReport | null;
}

/**
 * Gives waiting machines hosts, in one transaction: each machine (oldest first) takes the
 * first free host its selector accepts and, when the host's stored report says anything,
 * whose hardware meets its requirements — hosts known to fit before hosts not inspected yet.
 * machines.host_id is UNIQUE, so even a bug here could not hand one host to two machines.
 * Returns the ids of the hosts claimed.
 */
export function runClaimPass(lifecycle: LifecycleStore): number[] {
  const claimed: number[] = [];
  lifecycle.store.write((tx, record) => {
    const waiting = tx
      .select()
      .from(machines)
      .where(and(isNull(machines.hostId), eq(machines.phase, 'Pending'), isNull(machines.deletionRequestedAt)))
      .orderBy(asc(machines.id))
      .all();
    if (waiting.length === 0) return;
    const free = tx
      .select({ id: hosts.id, labels: hosts.labels, report: hosts.inspectionReport })
      .from(hosts)
      .leftJoin(machines, eq(machines.hostId, hosts.id))
      .where(and(eq(hosts.state, 'Available'), isNull(hosts.requestedAction), isNull(machines.id)))
      .orderBy(asc(hosts.id))
      .all();
    if (free.length === 0) return;
    const candidates: Candidate[] = free.map((row) => {
      const parsed = inspectionReportSchema.safeParse(row.report);
      return { id: row.id, labels: row.labels, report: parsed.success ? parsed.data : null };
    });
    const taken = new Set<number>();
    for (const machine of waiting) {
      if (taken.size === candidates.length) break;
      const selector = hostSelectorSchema.parse(machine.hostSelector);
      const requirements = hardwareRequirementsSchema.parse(machine.hardwareRequirements);
      const rejected = new Set(machine.rejectedHostIds);
      let choice: Candidate | undefined;
      let unknown: Candidate | undefined;
      for (const candidate of candidates) {
        if (taken.has(candidate.id) || rejected.has(candidate.id) || !selectorMatches(candidate.labels, selector)) continue;
        if (candidate.report === null) {
          unknown ??= candidate;
          continue;
        }
        if (requirementProblems(candidate.report, requirements).length === 0) {
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
      lifecycle.apply(tx, record, host, attached, {
        host: { state: 'Claimed' },
        reason: `claimed by machine ${machine.namespace}/${machine.name}`,
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
  return claimed;
}
