import { and, asc, eq, sql } from 'drizzle-orm';
import { hostLogs, hostMacs, hosts } from '../../db/schema.js';
import type { BootTokens, TokenMode, VerifiedBootToken } from '../core/boot/boot-tokens.js';
import { conflict, DomainError } from '../core/errors.js';
import type { MachineService } from '../core/machines.js';
import type { BootedReport, InspectionReport, NextAction, ProgressReport } from '../core/schemas/ramdisk.js';
import type { LifecycleEngine } from './engine.js';
import type { Change, LifecycleStore } from './lifecycle-store.js';
import type { Tx } from '../core/store.js';
import { nextAction } from './next-action.js';

export interface RamdiskSettings {
  pollSeconds: number;
  osTokenTtlMs: number;
  logBytesPerHost: number;
}

const unauthorized = (): DomainError => new DomainError('Unauthorized', 'a valid boot token for this host is required: Authorization: Bearer <token>');

const ALL_RAMDISK: readonly TokenMode[] = ['inspect', 'provision', 'wipe'];
const ACTIVE_STATES = new Set(['Inspecting', 'Inspected', 'Provisioning', 'Deprovisioning']);

/**
 * What the ramdisk (and the OS it installs) may do, with a boot token for authority: report
 * hardware, ask for the next action, tell progress, ship logs, say booted, fetch bootstrap
 * data. Knows no transport; every failure of authority looks the same.
 */
export class RamdiskService {
  constructor(
    private readonly lifecycle: LifecycleStore,
    private readonly tokens: BootTokens,
    private readonly machines: MachineService,
    private readonly engine: LifecycleEngine,
    private readonly settings: RamdiskSettings,
  ) {}

  /** Checks the token (constant time, uniform failure) and that its mode may do this. */
  authenticate(namespace: string, name: string, token: string | undefined, allowed: readonly TokenMode[] = ALL_RAMDISK): VerifiedBootToken {
    const verified = token ? this.tokens.verify(namespace, name, token, allowed) : null;
    if (!verified) throw unauthorized();
    // Only a run that is under way keeps its ramdisk's token alive.
    const state = this.lifecycle.load(verified.hostId)?.host.state;
    if (state !== undefined && ACTIVE_STATES.has(state)) this.tokens.keepAlive(verified);
    return verified;
  }

  report(auth: VerifiedBootToken, report: InspectionReport): { state: string } {
    // The ramdisk's clock may be wrong or absent; the daemon's receipt time is kept in inspectedAt.
    const stored = { ...report, timestamp: report.timestamp ?? new Date().toISOString() };
    const row = this.lifecycle.mutate(auth.hostId, (host, _machine, tx): Change | null => {
      const macs = tx.select({ mac: hostMacs.mac }).from(hostMacs).where(eq(hostMacs.hostId, host.id)).all().map((r) => r.mac);
      if (macs.length > 0 && !macs.includes(report.bootMACAddress)) {
        throw conflict(`the report comes from ${report.bootMACAddress}, which is not one of the host's boot MACs (${macs.join(', ')})`, [
          { field: 'body.bootMACAddress', message: 'is not a boot MAC of this host' },
        ]);
      }
      const summary = `${report.cpus.cores} cores, ${report.memory.totalGB} GB, ${report.disks.length} disks, ${report.nics.length} NICs`;
      const runSeconds = host.runStartedAt === null ? null : (Date.now() - host.runStartedAt) / 1000;
      const event = {
        type: 'InspectionReported',
        message: `hardware report received (${summary}) from ${report.bootMACAddress}`,
        data: { mode: auth.mode, bootMACAddress: report.bootMACAddress, ...(runSeconds !== null && host.state === 'Inspecting' ? { runSeconds } : {}) },
      };
      if (host.state === 'Inspecting' && host.netbootMode === auth.mode) {
        // This boot is now the run's: other renders of the script (anyone who knew the MAC) stop working.
        this.tokens.bind(auth);
        // Hardware seen afresh: machines that turned this host down may consider it again.
        if (auth.mode === 'inspect') forgetRejections(tx, host.id);
        return {
          host: { state: 'Inspected', inspectionPhase: 'Complete', inspectionReport: stored, runReport: stored, inspectedAt: Date.now(), deadlineAt: null },
          reason: 'hardware report received',
          events: [event],
        };
      }
      // A kexec host rebooting into its target reports again; a wipe boot reports what it will wipe.
      if ((host.state === 'Provisioned' && auth.mode === 'provision') || (host.state === 'Deprovisioning' && auth.mode === 'wipe')) {
        this.tokens.bind(auth);
        return { host: { inspectionReport: stored, runReport: stored, inspectedAt: Date.now() }, events: [event] };
      }
      throw conflict(`host is ${host.state}: no report expected from this boot`);
    });
    if (!row) throw unauthorized();
    this.engine.poke(auth.hostId);
    return { state: row.state };
  }

  next(auth: VerifiedBootToken, base: string): NextAction {
    const loaded = this.lifecycle.load(auth.hostId);
    if (!loaded) throw unauthorized();
    const { host, machine } = loaded;
    return nextAction(host, machine, auth.mode, {
      pollSeconds: this.settings.pollSeconds,
      osCmdline: () => {
        const token = this.tokens.issue(host.id, 'os', this.settings.osTokenTtlMs);
        const ref = `${host.namespace}/${host.name}`;
        return `beskar7.api=${base} beskar7.host=${ref} beskar7.token=${token} ds=nocloud;s=${base}/api/v1/nocloud/${ref}/${token}/`;
      },
    });
  }

  progress(auth: VerifiedBootToken, progress: ProgressReport): void {
    const at = new Date().toISOString();
    this.lifecycle.mutate(auth.hostId, (host, machine): Change | null => {
      const event = {
        type: progress.phase === 'failed' ? 'RamdiskFailed' : 'RamdiskProgress',
        message: `${progress.phase}${progress.reason ? ` (${progress.reason})` : ''}${progress.message ? `: ${progress.message.slice(0, 500)}` : ''}`,
        data: { phase: progress.phase, ...(progress.reason ? { reason: progress.reason } : {}) },
      };
      if (progress.phase === 'failed') {
        const failure = this.engine.ramdiskFailure(host, machine, progress.reason ?? 'RamdiskFailed', progress.message || 'the ramdisk reported a failure');
        if (failure) return { ...failure, events: [event, ...(failure.events ?? [])] };
      }
      if (progress.phase === 'wiped' && host.state === 'Deprovisioning' && host.pendingWipe && host.netbootMode === 'wipe') {
        return {
          host: { pendingWipe: null, runProgress: { phase: 'wiped', at, disks: progress.disks ?? [] }, deadlineAt: null },
          events: [{ ...event, type: 'Wiped', message: `disks wiped (${host.pendingWipe.method}): ${(progress.disks ?? []).join(', ') || 'none reported'}` }],
        };
      }
      // Wipe bookkeeping lives in runProgress; the ramdisk's own phases must not overwrite it.
      const keep = host.state === 'Deprovisioning' && host.pendingWipe !== null;
      return { host: keep ? {} : { runProgress: { phase: progress.phase, message: progress.message, reason: progress.reason ?? null, at } }, events: [event] };
    });
    this.engine.poke(auth.hostId);
  }

  logs(auth: VerifiedBootToken, text: string): void {
    const store = this.lifecycle.store;
    store.write((tx) => {
      tx.insert(hostLogs).values({ hostId: auth.hostId, at: Date.now(), text }).run();
      // Keep the newest logBytesPerHost: drop whole chunks from the oldest end (bytes, not characters).
      const total = tx.select({ bytes: sql<number>`coalesce(sum(length(cast(${hostLogs.text} as blob))), 0)` }).from(hostLogs).where(eq(hostLogs.hostId, auth.hostId)).get()?.bytes ?? 0;
      let excess = total - this.settings.logBytesPerHost;
      if (excess <= 0) return;
      const oldest = tx.select({ id: hostLogs.id, size: sql<number>`length(cast(${hostLogs.text} as blob))` }).from(hostLogs).where(eq(hostLogs.hostId, auth.hostId)).orderBy(asc(hostLogs.id)).all();
      for (const chunk of oldest) {
        if (excess <= 0) break;
        tx.delete(hostLogs).where(eq(hostLogs.id, chunk.id)).run();
        excess -= chunk.size;
      }
    });
  }

  booted(auth: VerifiedBootToken, booted: BootedReport): void {
    const row = this.lifecycle.mutate(auth.hostId, (host): Change | null => {
      const addresses = booted.addresses;
      if (host.state === 'Provisioning') {
        return {
          host: { state: 'Provisioned', bootedAt: Date.now(), provisionedAt: Date.now(), deadlineAt: null, lastError: null, attempts: 0 },
          machine: { providerId: providerIdOf(host), addresses, failureReason: null, failureMessage: null },
          reason: `booted (reported by the ${booted.source})`,
          events: [
            {
              type: 'Booted',
              message: `target booted (reported by the ${booted.source})`,
              data: { source: booted.source, first: true, ...(host.runStartedAt !== null ? { runSeconds: (Date.now() - host.runStartedAt) / 1000 } : {}) },
            },
          ],
        };
      }
      if (host.state === 'Provisioned') {
        return {
          host: { bootedAt: Date.now() },
          ...(addresses.length > 0 ? { machine: { addresses } } : {}),
          events: [{ type: 'Booted', message: `target booted again (reported by the ${booted.source})`, data: { source: booted.source } }],
        };
      }
      throw conflict(`host is ${host.state}: not expecting a boot`);
    });
    if (!row) throw unauthorized();
    this.engine.poke(auth.hostId);
  }

  /** NoCloud user-data: the machine's bootstrap data, or an #include of its configurationURL. */
  userData(auth: VerifiedBootToken): string {
    const { machine } = this.claimOf(auth);
    if (machine.configurationUrl) return `#include\n${machine.configurationUrl}\n`;
    return this.machines.bootstrapData(machine.namespace, machine.name) ?? '#cloud-config\n{}\n';
  }

  /**
   * NoCloud meta-data; the instance id changes per run so cloud-init runs again after a re-provision.
   * provider-id is the machine's providerID, so a kubeadm config can give it to the kubelet
   * (`--provider-id`) and Cluster API can match the Node to its Machine.
   */
  metaData(auth: VerifiedBootToken): string {
    const { host, machine } = this.claimOf(auth);
    return `instance-id: beskar7-${host.id}-${host.runStartedAt ?? 0}\nlocal-hostname: ${machine.name}\nprovider-id: ${providerIdOf(host)}\n`;
  }

  private claimOf(auth: VerifiedBootToken) {
    const loaded = this.lifecycle.load(auth.hostId);
    if (!loaded?.machine || !['Provisioning', 'Provisioned'].includes(loaded.host.state)) throw conflict('no provisioned machine on this host');
    return { host: loaded.host, machine: loaded.machine };
  }

  /** The newest log text of a host, oldest first (for operators). */
  logText(namespace: string, name: string): string | null {
    const db = this.lifecycle.store.db;
    const host = db.select({ id: hosts.id }).from(hosts).where(and(eq(hosts.namespace, namespace), eq(hosts.name, name))).get();
    if (!host) return null;
    return db
      .select({ text: hostLogs.text })
      .from(hostLogs)
      .where(eq(hostLogs.hostId, host.id))
      .orderBy(asc(hostLogs.id))
      .all()
      .map((r) => r.text)
      .join('');
  }
}

/** Drops a host from every machine's list of hosts that failed it. */
function forgetRejections(tx: Tx, hostId: number): void {
  tx.run(
    sql`UPDATE machines SET rejected_host_ids = (SELECT json_group_array(value) FROM json_each(machines.rejected_host_ids) WHERE value != ${hostId})
        WHERE EXISTS (SELECT 1 FROM json_each(machines.rejected_host_ids) WHERE value = ${hostId})`,
  );
}

/** The Cluster API providerID of a host: one per host, stable across machines and daemons' restarts. */
export function providerIdOf(host: { namespace: string; name: string }): string {
  return `beskar7://${host.namespace}/${host.name}`;
}
