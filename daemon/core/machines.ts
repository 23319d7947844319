import { and, asc, eq, gt, inArray, type SQL } from 'drizzle-orm';
import { hosts, machineBootstrap, machines } from '../../db/schema.js';
import type { Keyring } from '../secrets/keyring.js';
import { bootstrapContext } from '../secrets/contexts.js';
import { conflict, notFound } from './errors.js';
import { labelConditions, type LabelFilter } from './hosts.js';
import { deprovisionSchema, hardwareRequirementsSchema, hostSelectorSchema, type MachineCreate, type MachineView } from './schemas/machine.js';
import type { Store, Tx } from './store.js';

type MachineRow = typeof machines.$inferSelect;

export interface MachineQuery {
  namespace?: string | undefined;
  phase?: string | undefined;
  labels: LabelFilter[];
  limit: number;
  continue?: number | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function toView(row: MachineRow, host: { namespace: string; name: string } | null, hasBootstrapData: boolean): MachineView {
  return {
    namespace: row.namespace,
    name: row.name,
    labels: row.labels,
    // Stored rows were validated on the way in; parsing again keeps the view typed.
    hardwareRequirements: hardwareRequirementsSchema.parse(row.hardwareRequirements),
    hostSelector: hostSelectorSchema.parse(row.hostSelector),
    image: row.image,
    hasBootstrapData,
    configurationURL: row.configurationUrl,
    deprovision: deprovisionSchema.parse(row.deprovision ?? {}),
    status: {
      phase: row.phase as MachineView['status']['phase'],
      host,
      providerID: row.providerId,
      addresses: row.addresses,
      failureReason: row.failureReason,
      failureMessage: row.failureMessage,
    },
    resourceVersion: row.resourceVersion,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/** Machines: the claims that ask for a host. Knows no transport. */
export class MachineService {
  constructor(
    private readonly store: Store,
    private readonly keyring: Keyring,
  ) {}

  private findRow(tx: Tx | Store['db'], namespace: string, name: string): MachineRow | undefined {
    return tx
      .select()
      .from(machines)
      .where(and(eq(machines.namespace, namespace), eq(machines.name, name)))
      .get();
  }

  private viewOf(tx: Tx | Store['db'], row: MachineRow): MachineView {
    const host = row.hostId === null ? undefined : tx.select({ namespace: hosts.namespace, name: hosts.name }).from(hosts).where(eq(hosts.id, row.hostId)).get();
    const bootstrap = tx.select({ id: machineBootstrap.machineId }).from(machineBootstrap).where(eq(machineBootstrap.machineId, row.id)).get();
    return toView(row, host ?? null, bootstrap !== undefined);
  }

  create(input: MachineCreate): MachineView {
    return this.store.write((tx, record) => {
      if (this.findRow(tx, input.namespace, input.name)) {
        throw conflict(`machine ${input.namespace}/${input.name} already exists`, [{ field: 'name', message: 'is taken in this namespace' }]);
      }
      const now = Date.now();
      const row = tx
        .insert(machines)
        .values({
          namespace: input.namespace,
          name: input.name,
          labels: input.labels,
          hardwareRequirements: input.hardwareRequirements,
          hostSelector: input.hostSelector,
          image: input.image,
          configurationUrl: input.configurationURL ?? null,
          deprovision: input.deprovision,
          phase: 'Pending',
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .get();
      if (input.bootstrapData !== undefined) {
        const sealed = this.keyring.seal(input.bootstrapData, bootstrapContext(row.id));
        tx.insert(machineBootstrap).values({ machineId: row.id, keyId: sealed.keyId, sealedData: sealed.data, updatedAt: now }).run();
      }
      record({
        kind: 'machine',
        namespace: row.namespace,
        name: row.name,
        type: 'Created',
        message: `machine created (image mode ${input.image.mode}), waiting for a host`,
        data: { phase: row.phase, imageMode: input.image.mode },
      });
      return this.viewOf(tx, row);
    });
  }

  get(namespace: string, name: string): MachineView {
    const row = this.findRow(this.store.db, namespace, name);
    if (!row) throw notFound('machine', `${namespace}/${name}`);
    return this.viewOf(this.store.db, row);
  }

  list(query: MachineQuery): { items: MachineView[]; continue: string | null } {
    const conditions: SQL[] = [];
    if (query.namespace) conditions.push(eq(machines.namespace, query.namespace));
    if (query.phase) conditions.push(eq(machines.phase, query.phase));
    if (query.continue !== undefined) conditions.push(gt(machines.id, query.continue));
    conditions.push(...labelConditions(machines.labels, query.labels));
    const rows = this.store.db
      .select()
      .from(machines)
      .where(and(...conditions))
      .orderBy(asc(machines.id))
      .limit(query.limit + 1)
      .all();
    const page = rows.slice(0, query.limit);
    const hostIds = page.flatMap((row) => (row.hostId === null ? [] : [row.hostId]));
    const hostRefs = new Map(
      (hostIds.length === 0 ? [] : this.store.db.select({ id: hosts.id, namespace: hosts.namespace, name: hosts.name }).from(hosts).where(inArray(hosts.id, hostIds)).all()).map(
        (h) => [h.id, { namespace: h.namespace, name: h.name }],
      ),
    );
    const ids = page.map((row) => row.id);
    const withBootstrap = new Set(
      ids.length === 0
        ? []
        : this.store.db.select({ id: machineBootstrap.machineId }).from(machineBootstrap).where(inArray(machineBootstrap.machineId, ids)).all().map((r) => r.id),
    );
    const last = page.at(-1);
    return {
      items: page.map((row) => toView(row, row.hostId === null ? null : (hostRefs.get(row.hostId) ?? null), withBootstrap.has(row.id))),
      continue: rows.length > query.limit && last ? String(last.id) : null,
    };
  }

  /**
   * Deletes the claim. A machine without a host goes at once (null); one holding a host is
   * marked and goes once the host is deprovisioned (powered off, wiped if asked, back to
   * Available) — the view returned says Deleting.
   */
  delete(namespace: string, name: string): MachineView | null {
    return this.store.write((tx, record) => {
      const row = this.findRow(tx, namespace, name);
      if (!row) throw notFound('machine', `${namespace}/${name}`);
      if (row.hostId === null) {
        tx.delete(machines).where(eq(machines.id, row.id)).run();
        record({ kind: 'machine', namespace, name, type: 'Deleted', message: 'machine deleted', data: {} });
        return null;
      }
      if (row.deletionRequestedAt !== null) return this.viewOf(tx, row);
      const host = tx.select({ namespace: hosts.namespace, name: hosts.name }).from(hosts).where(eq(hosts.id, row.hostId)).get();
      const updated = tx
        .update(machines)
        .set({ deletionRequestedAt: Date.now(), phase: 'Deleting', updatedAt: Date.now(), resourceVersion: row.resourceVersion + 1 })
        .where(eq(machines.id, row.id))
        .returning()
        .get();
      const hostRef = host ? `${host.namespace}/${host.name}` : '';
      record({ kind: 'machine', namespace, name, type: 'DeletionRequested', message: `deletion requested: deprovisioning host ${hostRef}`, data: { host: hostRef } });
      return this.viewOf(tx, updated);
    });
  }

  bootstrapData(namespace: string, name: string): string | null {
    const row = this.findRow(this.store.db, namespace, name);
    if (!row) throw notFound('machine', `${namespace}/${name}`);
    const sealed = this.store.db.select().from(machineBootstrap).where(eq(machineBootstrap.machineId, row.id)).get();
    if (!sealed) return null;
    return this.keyring.open({ keyId: sealed.keyId, data: sealed.sealedData }, bootstrapContext(row.id));
  }
}
