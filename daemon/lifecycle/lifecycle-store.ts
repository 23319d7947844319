import { eq, sql } from 'drizzle-orm';
import { hosts, machines } from '../../db/schema.js';
import type { BootTokens } from '../core/boot/boot-tokens.js';
import type { NewEvent, Store, Tx } from '../core/store.js';

export type HostRow = typeof hosts.$inferSelect;
export type MachineRow = typeof machines.$inferSelect;
export type HostState = HostRow['state'];
type HostUpdate = Partial<Omit<typeof hosts.$inferInsert, 'id' | 'namespace' | 'name' | 'createdAt'>>;
type MachineUpdate = Partial<Omit<typeof machines.$inferInsert, 'id' | 'namespace' | 'name' | 'createdAt'>>;

export interface Change {
  host?: HostUpdate;
  /** Update the claiming machine, delete it, or detach it from the host (it keeps its phase). */
  machine?: MachineUpdate | 'delete';
  /** Why the state changes (the StateChanged event's message). */
  reason?: string;
  /** Further events, for the host unless they say otherwise. */
  events?: (Omit<NewEvent, 'kind' | 'namespace' | 'name'> & { subject?: 'host' | 'machine' })[];
  /** End the host's boot tokens (its ramdisk can no longer act); `boot` spares the installed OS's tokens. */
  revokeTokens?: 'boot' | 'all';
}

/** Machine phase that follows from its host's state, while nothing terminal happened to it. */
function machinePhaseFor(hostState: string, machine: MachineRow): string {
  if (machine.phase === 'Failed') return 'Failed';
  if (machine.deletionRequestedAt !== null) return 'Deleting';
  switch (hostState) {
    case 'Claimed':
    case 'Inspecting':
    case 'Inspected':
      return 'Claimed';
    case 'Provisioning':
      return 'Provisioning';
    case 'Provisioned':
      return 'Provisioned';
    case 'Deprovisioning':
      return 'Deprovisioning';
    default:
      return machine.phase;
  }
}

/**
 * The lifecycle's only way to change a host: read the host and its machine, decide, write
 * both with their events in one transaction. Decisions are synchronous, so a decision and the
 * state it was made on can never drift apart; BMC calls happen between decisions.
 */
export class LifecycleStore {
  private closed = false;
  // Prepared once: these run on every ramdisk call and every engine step.
  private readonly hostById;
  private readonly machineByHost;

  constructor(
    readonly store: Store,
    private readonly tokens: BootTokens,
  ) {
    this.hostById = store.db.select().from(hosts).where(eq(hosts.id, sql.placeholder('id'))).prepare();
    this.machineByHost = store.db.select().from(machines).where(eq(machines.hostId, sql.placeholder('id'))).prepare();
  }

  /** After close() nothing is written: a step still awaiting a BMC when the daemon stops just ends (it is redone on start). */
  close(): void {
    this.closed = true;
  }

  load(hostId: number): { host: HostRow; machine: MachineRow | null } | null {
    if (this.closed) return null;
    const host = this.hostById.get({ id: hostId });
    if (!host) return null;
    const machine = this.machineByHost.get({ id: hostId }) ?? null;
    return { host, machine };
  }

  /**
   * Runs `decide` on the current rows inside a write transaction and applies what it returns;
   * null means "nothing to do". Returns the host row as written, or null.
   */
  mutate(hostId: number, decide: (host: HostRow, machine: MachineRow | null, tx: Tx) => Change | null): HostRow | null {
    if (this.closed) return null;
    return this.store.write((tx, record) => {
      // One connection: statements prepared on it read the transaction's own view.
      const host = this.hostById.get({ id: hostId });
      if (!host) return null;
      const machine = this.machineByHost.get({ id: hostId }) ?? null;
      const change = decide(host, machine, tx);
      if (!change) return null;
      return this.apply(tx, record, host, machine, change);
    });
  }

  /** Removes the host when `why` (given the current row) says so, with its Deleted event. */
  remove(hostId: number, why: (host: HostRow) => string | null): void {
    if (this.closed) return;
    this.store.write((tx, record) => {
      const row = tx.select().from(hosts).where(eq(hosts.id, hostId)).get();
      const message = row ? why(row) : null;
      if (!row || message === null) return;
      tx.delete(hosts).where(eq(hosts.id, hostId)).run();
      record({ kind: 'host', namespace: row.namespace, name: row.name, type: 'Deleted', message, data: {} });
    });
  }

  /** apply() for callers already inside a transaction (claims). */
  apply(tx: Tx, record: (event: NewEvent) => void, host: HostRow, machine: MachineRow | null, change: Change): HostRow {
    const now = Date.now();
    const updated = tx
      .update(hosts)
      .set({ ...change.host, updatedAt: now, resourceVersion: host.resourceVersion + 1 })
      .where(eq(hosts.id, host.id))
      .returning()
      .get();
    const hostEvent = { kind: 'host' as const, namespace: host.namespace, name: host.name };
    if (updated.state !== host.state) {
      record({
        ...hostEvent,
        type: 'StateChanged',
        message: `${host.state} → ${updated.state}${change.reason ? `: ${change.reason}` : ''}`,
        data: { from: host.state, to: updated.state, ...(machine ? { machine: `${machine.namespace}/${machine.name}` } : {}) },
      });
    }
    if (change.revokeTokens === 'all') this.tokens.revoke(host.id);
    else if (change.revokeTokens === 'boot') this.tokens.revokeBoot(host.id);

    if (machine && change.machine === 'delete') {
      tx.delete(machines).where(eq(machines.id, machine.id)).run();
      record({ kind: 'machine', namespace: machine.namespace, name: machine.name, type: 'Deleted', message: `machine deleted; host ${host.namespace}/${host.name} released`, data: {} });
    } else if (machine) {
      const requested = change.machine;
      const update: MachineUpdate = typeof requested === 'object' ? { ...requested } : {};
      const detached = update.hostId === null;
      if (!detached && update.phase === undefined) {
        const phase = machinePhaseFor(updated.state, { ...machine, ...update });
        if (phase !== machine.phase) update.phase = phase;
      }
      if (Object.keys(update).length > 0) {
        const machineAfter = tx
          .update(machines)
          .set({ ...update, updatedAt: now, resourceVersion: machine.resourceVersion + 1 })
          .where(eq(machines.id, machine.id))
          .returning()
          .get();
        if (machineAfter.phase !== machine.phase) {
          record({
            kind: 'machine',
            namespace: machine.namespace,
            name: machine.name,
            type: 'PhaseChanged',
            message: `${machine.phase} → ${machineAfter.phase}${change.reason ? `: ${change.reason}` : ''}`,
            data: { from: machine.phase, to: machineAfter.phase, host: `${host.namespace}/${host.name}` },
          });
        }
      }
    }
    for (const event of change.events ?? []) {
      const { subject, ...rest } = event;
      if (subject === 'machine' && machine) record({ ...rest, kind: 'machine', namespace: machine.namespace, name: machine.name });
      else record({ ...rest, ...hostEvent });
    }
    return updated;
  }
}
