import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { bmcCredentials, hostMacs, hosts, machines } from '../../db/schema.js';
import type { Keyring } from '../secrets/keyring.js';
import { bmcCredentialContext } from '../secrets/contexts.js';
import { conflict, notFound } from './errors.js';
import type { HostCreate, HostPatch, HostView, NetbootMode } from './schemas/host.js';
import { HostReader } from './host-reader.js';
import type { Store, Tx } from './store.js';

type HostRow = typeof hosts.$inferSelect;

export interface LabelFilter {
  key: string;
  value: string;
}

export interface HostQuery {
  namespace?: string | undefined;
  state?: string | undefined;
  labels: LabelFilter[];
  limit: number;
  continue?: number | undefined;
}

export function labelConditions(column: typeof hosts.labels | typeof machines.labels, filters: LabelFilter[]): SQL[] {
  // json_extract with a quoted key path, so keys with "/" and "." (topology.kubernetes.io/zone) work.
  return filters.map(({ key, value }) => sql`json_extract(${column}, ${`$."${key.replaceAll('"', '""')}"`}) = ${value}`);
}

/** Hosts: registration, reads and operator edits. Knows no transport. */
export class HostService {
  private readonly reader: HostReader;

  /** Set by the daemon once boot tokens exist: ends every token of a host being deleted. */
  revokeTokens?: (hostId: number) => void;

  constructor(
    private readonly store: Store,
    private readonly keyring: Keyring,
  ) {
    this.reader = new HostReader(store.sqlite);
  }

  private findRow(tx: Tx | Store['db'], namespace: string, name: string): HostRow | undefined {
    return tx
      .select()
      .from(hosts)
      .where(and(eq(hosts.namespace, namespace), eq(hosts.name, name)))
      .get();
  }

  /** Same connection as the transaction, so a view built inside a write sees that write. */
  private viewOf(row: HostRow): HostView {
    const view = this.reader.getById(row.id);
    if (!view) throw notFound('host', `${row.namespace}/${row.name}`);
    return view;
  }

  private macsOf(tx: Tx | Store['db'], hostId: number): string[] {
    return tx
      .select({ mac: hostMacs.mac })
      .from(hostMacs)
      .where(eq(hostMacs.hostId, hostId))
      .orderBy(asc(hostMacs.position))
      .all()
      .map((r) => r.mac);
  }

  /** Replaces a host's boot MACs; a MAC owned by another host is a conflict naming it. */
  private setMacs(tx: Tx, hostId: number, macs: string[]): void {
    if (macs.length > 0) {
      const owners = tx
        .select({ mac: hostMacs.mac, namespace: hosts.namespace, name: hosts.name })
        .from(hostMacs)
        .innerJoin(hosts, eq(hosts.id, hostMacs.hostId))
        .where(and(inArray(hostMacs.mac, macs), sql`${hostMacs.hostId} != ${hostId}`))
        .all();
      const first = owners[0];
      if (first) {
        throw conflict(`boot MAC ${first.mac} belongs to host ${first.namespace}/${first.name}`, [
          { field: 'bootMACAddresses', message: 'a MAC identifies one host' },
        ]);
      }
    }
    tx.delete(hostMacs).where(eq(hostMacs.hostId, hostId)).run();
    if (macs.length > 0) tx.insert(hostMacs).values(macs.map((mac, position) => ({ mac, hostId, position }))).run();
  }

  private storePassword(tx: Tx, hostId: number, password: string): void {
    const sealed = this.keyring.seal(password, bmcCredentialContext(hostId));
    tx.insert(bmcCredentials)
      .values({ hostId, keyId: sealed.keyId, sealedPassword: sealed.data, updatedAt: Date.now() })
      .onConflictDoUpdate({ target: bmcCredentials.hostId, set: { keyId: sealed.keyId, sealedPassword: sealed.data, updatedAt: Date.now() } })
      .run();
  }

  register(input: HostCreate): HostView {
    return this.store.write((tx, record) => {
      if (this.findRow(tx, input.namespace, input.name)) {
        throw conflict(`host ${input.namespace}/${input.name} already exists`, [{ field: 'name', message: 'is taken in this namespace' }]);
      }
      const now = Date.now();
      const connection = input.redfishConnection;
      const row = tx
        .insert(hosts)
        .values({
          namespace: input.namespace,
          name: input.name,
          labels: input.labels,
          bmcAddress: connection?.address ?? null,
          bmcUsername: connection?.username ?? null,
          systemId: connection?.systemId ?? null,
          insecureSkipVerify: connection?.insecureSkipVerify ?? false,
          caBundle: connection?.caBundle ?? null,
          powerControl: input.powerControl,
          state: 'Enrolling',
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .get();
      this.setMacs(tx, row.id, input.bootMACAddresses);
      if (connection) this.storePassword(tx, row.id, connection.password);
      record({
        kind: 'host',
        namespace: row.namespace,
        name: row.name,
        type: 'Registered',
        message: `host registered with power control ${row.powerControl}`,
        data: { state: row.state, powerControl: row.powerControl },
      });
      return this.viewOf(row);
    });
  }

  get(namespace: string, name: string): HostView {
    const view = this.reader.get(namespace, name);
    if (!view) throw notFound('host', `${namespace}/${name}`);
    return view;
  }

  list(query: HostQuery): { items: HostView[]; continue: string | null } {
    const conditions: SQL[] = [];
    if (query.namespace) conditions.push(eq(hosts.namespace, query.namespace));
    if (query.state) conditions.push(eq(hosts.state, query.state));
    if (query.continue !== undefined) conditions.push(gt(hosts.id, query.continue));
    conditions.push(...labelConditions(hosts.labels, query.labels));
    const ids = this.store.db
      .select({ id: hosts.id })
      .from(hosts)
      .where(and(...conditions))
      .orderBy(asc(hosts.id))
      .limit(query.limit + 1)
      .all()
      .map((row) => row.id);
    const page = ids.slice(0, query.limit);
    return {
      items: this.reader.getMany(page),
      continue: ids.length > query.limit ? String(page.at(-1)) : null,
    };
  }

  patch(namespace: string, name: string, patch: HostPatch): HostView {
    return this.store.write((tx, record) => {
      const row = this.findRow(tx, namespace, name);
      if (!row) throw notFound('host', `${namespace}/${name}`);
      if (patch.resourceVersion !== undefined && patch.resourceVersion !== row.resourceVersion) {
        throw conflict(`host ${namespace}/${name} changed since version ${patch.resourceVersion} (now ${row.resourceVersion}); read it again`, [
          { field: 'resourceVersion', message: `is ${row.resourceVersion}` },
        ]);
      }
      const changed: string[] = [];
      const update: Partial<typeof hosts.$inferInsert> = {};
      if (patch.labels) {
        const labels = { ...row.labels };
        for (const [key, value] of Object.entries(patch.labels)) {
          if (value === null) delete labels[key];
          else labels[key] = value;
        }
        if (Object.keys(labels).length > 64) throw conflict('a host has at most 64 labels', [{ field: 'labels', message: 'too many labels' }]);
        update.labels = labels;
        changed.push('labels');
      }
      const connection = patch.redfishConnection;
      if (connection) {
        if (!row.bmcAddress && (!connection.address || !connection.username || !connection.password)) {
          throw conflict(`host ${namespace}/${name} has no BMC yet: give address, username and password together`, [
            { field: 'redfishConnection', message: 'address, username and password are all required the first time' },
          ]);
        }
        // The stored password must never follow the host to another endpoint it was not given for.
        if (connection.address !== undefined && connection.address !== row.bmcAddress && connection.password === undefined) {
          throw conflict('changing redfishConnection.address needs the password for the new BMC too', [
            { field: 'redfishConnection.password', message: 'is required when the address changes' },
          ]);
        }
        const columns = {
          address: 'bmcAddress',
          username: 'bmcUsername',
          systemId: 'systemId',
          insecureSkipVerify: 'insecureSkipVerify',
          caBundle: 'caBundle',
        } as const;
        for (const [field, column] of Object.entries(columns)) {
          const value = connection[field as keyof typeof columns];
          if (value === undefined) continue;
          Object.assign(update, { [column]: value });
          changed.push(`redfishConnection.${field}`);
        }
        if (connection.password !== undefined) {
          this.storePassword(tx, row.id, connection.password);
          changed.push('redfishConnection.password');
        }
      }
      const powerControl = patch.powerControl ?? row.powerControl;
      const bootMacs = patch.bootMACAddresses ?? this.macsOf(tx, row.id);
      const hasBmc = row.bmcAddress !== null || connection?.address !== undefined;
      if (powerControl === 'redfish' && !hasBmc) {
        throw conflict('powerControl "redfish" needs a redfishConnection', [{ field: 'powerControl', message: 'host has no BMC' }]);
      }
      if (powerControl === 'wol' && bootMacs.length === 0) {
        throw conflict('powerControl "wol" needs at least one boot MAC', [{ field: 'bootMACAddresses', message: 'is empty' }]);
      }
      if (patch.powerControl !== undefined) {
        update.powerControl = patch.powerControl;
        changed.push('powerControl');
      }
      if (patch.bootMACAddresses !== undefined) {
        this.setMacs(tx, row.id, patch.bootMACAddresses);
        changed.push('bootMACAddresses');
      }
      if (changed.length === 0) return this.viewOf(row);
      const updated = tx
        .update(hosts)
        .set({ ...update, updatedAt: Date.now(), resourceVersion: row.resourceVersion + 1 })
        .where(eq(hosts.id, row.id))
        .returning()
        .get();
      // Names of changed fields only: values may be secret (password) or large (CA bundle).
      record({ kind: 'host', namespace, name, type: 'Updated', message: `changed ${changed.join(', ')}`, data: { changed } });
      return this.viewOf(updated);
    });
  }

  /**
   * Asks for the host to be forgotten: the lifecycle engine powers it off and removes it
   * (state Deleting meanwhile). Refused while a machine claims it.
   */
  delete(namespace: string, name: string): HostView {
    return this.store.write((tx, record) => {
      const row = this.findRow(tx, namespace, name);
      if (!row) throw notFound('host', `${namespace}/${name}`);
      if (row.state === 'Deleting') return this.viewOf(row);
      const machine = tx.select().from(machines).where(eq(machines.hostId, row.id)).get();
      if (machine) {
        throw conflict(`host ${namespace}/${name} is claimed by machine ${machine.namespace}/${machine.name}; delete the machine first`);
      }
      const updated = tx
        .update(hosts)
        .set({ state: 'Deleting', netbootMode: null, requestedAction: null, attempts: 0, retryAt: null, deadlineAt: null, updatedAt: Date.now(), resourceVersion: row.resourceVersion + 1 })
        .where(eq(hosts.id, row.id))
        .returning()
        .get();
      // Nothing may act for a host on its way out.
      this.revokeTokens?.(row.id);
      record({ kind: 'host', namespace, name, type: 'DeletionRequested', message: 'deletion requested: powering off, then forgetting the host', data: { from: row.state } });
      record({ kind: 'host', namespace, name, type: 'StateChanged', message: `${row.state} → Deleting: deletion requested`, data: { from: row.state, to: 'Deleting' } });
      return this.viewOf(updated);
    });
  }

  /** Asks for a (re-)inspection: done now when the host is idle, right after enrollment when it enrolls. */
  requestInspection(namespace: string, name: string): HostView {
    return this.store.write((tx, record) => {
      const row = this.findRow(tx, namespace, name);
      if (!row) throw notFound('host', `${namespace}/${name}`);
      const machine = tx.select().from(machines).where(eq(machines.hostId, row.id)).get();
      if (machine) throw conflict(`host ${namespace}/${name} is claimed by machine ${machine.namespace}/${machine.name}; its provisioning run inspects it`);
      const resumable = row.state === 'Error' && (row.errorState === 'Enrolling' || row.errorState === 'Available');
      if (!['Available', 'Enrolling'].includes(row.state) && !resumable) {
        throw conflict(`host ${namespace}/${name} is ${row.state}; inspection can be asked for when it is Available`);
      }
      if (row.requestedAction === 'inspect') return this.viewOf(row);
      const updated = tx
        .update(hosts)
        .set({ requestedAction: 'inspect', updatedAt: Date.now(), resourceVersion: row.resourceVersion + 1 })
        .where(eq(hosts.id, row.id))
        .returning()
        .get();
      record({ kind: 'host', namespace, name, type: 'InspectRequested', message: 'inspection requested', data: {} });
      return this.viewOf(updated);
    });
  }

  /**
   * Arms (or, with null, disarms) a network boot of the host. The lifecycle engine's lever; a
   * disarmed host also loses its live boot tokens, so a stale ramdisk cannot act for it.
   */
  setNetbootMode(namespace: string, name: string, mode: NetbootMode | null, revokeTokens: (hostId: number) => void): HostView {
    return this.store.write((tx, record) => {
      const row = this.findRow(tx, namespace, name);
      if (!row) throw notFound('host', `${namespace}/${name}`);
      if (row.netbootMode === mode) return this.viewOf(row);
      const updated = tx
        .update(hosts)
        .set({ netbootMode: mode, updatedAt: Date.now(), resourceVersion: row.resourceVersion + 1 })
        .where(eq(hosts.id, row.id))
        .returning()
        .get();
      if (mode === null) revokeTokens(row.id);
      record({
        kind: 'host',
        namespace,
        name,
        type: mode === null ? 'NetbootDisarmed' : 'NetbootArmed',
        message: mode === null ? 'next boots use the local disk' : `next network boot: ${mode}`,
        data: { netbootMode: mode },
      });
      return this.viewOf(updated);
    });
  }

  /** Power state and last error as the power drivers report them, with the event saying why. */
  recordPower(namespace: string, name: string, change: { powerState?: string; lastError?: string | null }, event: { type: string; message: string; data?: Record<string, unknown> }): void {
    this.store.write((tx, record) => {
      const row = this.findRow(tx, namespace, name);
      if (!row) return;
      tx.update(hosts)
        .set({
          ...(change.powerState !== undefined ? { powerState: change.powerState } : {}),
          ...(change.lastError !== undefined ? { lastError: change.lastError } : {}),
          updatedAt: Date.now(),
          resourceVersion: row.resourceVersion + 1,
        })
        .where(eq(hosts.id, row.id))
        .run();
      record({ kind: 'host', namespace, name, ...event });
    });
  }

  /** Everything the power drivers need, credentials included; never leaves the daemon. */
  powerTarget(namespace: string, name: string): { powerControl: HostView['powerControl']; address: string | null; username: string | null; systemId: string | null; insecureSkipVerify: boolean; caBundle: string | null; macs: string[] } {
    const row = this.findRow(this.store.db, namespace, name);
    if (!row) throw notFound('host', `${namespace}/${name}`);
    return {
      powerControl: row.powerControl,
      address: row.bmcAddress,
      username: row.bmcUsername,
      systemId: row.systemId,
      insecureSkipVerify: row.insecureSkipVerify,
      caBundle: row.caBundle,
      macs: this.macsOf(this.store.db, row.id),
    };
  }

  /** The decrypted BMC password, for the Redfish client only; never leaves the daemon. */
  bmcPassword(namespace: string, name: string): string | null {
    const row = this.findRow(this.store.db, namespace, name);
    if (!row) throw notFound('host', `${namespace}/${name}`);
    const credential = this.store.db.select().from(bmcCredentials).where(eq(bmcCredentials.hostId, row.id)).get();
    if (!credential) return null;
    return this.keyring.open({ keyId: credential.keyId, data: credential.sealedPassword }, bmcCredentialContext(row.id));
  }
}
