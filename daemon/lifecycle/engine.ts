import { and, eq, inArray, isNotNull } from 'drizzle-orm';
import type { Logger } from 'pino';
import { hostMacs, hosts, machines } from '../../db/schema.js';
import type { EventBus } from '../core/event-bus.js';
import type { PowerService } from '../core/power.js';
import { deprovisionSchema, hardwareRequirementsSchema, imageSchema } from '../core/schemas/machine.js';
import { inspectionReportSchema } from '../core/schemas/ramdisk.js';
import type { EventView } from '../core/schemas/event.js';
import type { BootMode } from '../redfish/client.js';
import { retryDelayMs } from './backoff.js';
import { bootFromNetwork, powerOff } from './boot-actions.js';
import { Claimer } from './claims.js';
import type { Change, HostRow, LifecycleStore, MachineRow } from './lifecycle-store.js';
import { requirementProblems, rootDeviceProblems } from './matching.js';
import { KeyedWorkQueue } from './work-queue.js';
import { WakeUps } from './timers.js';

export interface LifecycleSettings {
  inspectOnEnroll: boolean;
  inspectionTimeoutMs: number;
  provisionTimeoutMs: number;
  wipeTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  workers: number;
  /** Firmware mode for one-time network boots; null keeps the host's current mode. */
  bootMode: BootMode | null;
}

const IDLE_STATES = new Set(['Available', 'Provisioned']);
/** Failed BMC steps after which a claimed host is released, or a deleted machine stops waiting for its host. */
const RELEASE_AFTER_ATTEMPTS = 5;
/** Failed power-offs after which a host being deleted is forgotten anyway. */
const DELETE_AFTER_ATTEMPTS = 3;

/** Per-run fields: what one provisioning run learnt and did. Cleared so the next run starts clean. */
export const CLEARED_RUN = {
  runReport: null,
  runProgress: null,
  runStartedAt: null,
  provisionedAt: null,
  bootedAt: null,
  deadlineAt: null,
  pendingWipe: null,
} as const;

const message = (error: unknown): string => {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
};

function wipeOf(machine: MachineRow | null): { method: string; disks: string[] } | null {
  if (!machine) return null;
  const { wipe } = deprovisionSchema.parse(machine.deprovision ?? {});
  return wipe.method === 'none' ? null : { method: wipe.method, disks: wipe.disks };
}

/** Where a wipe run is (wipe-pending, wipe-booting, wiped), kept in runProgress. */
const runPhase = (host: HostRow): string | undefined => (typeof host.runProgress?.phase === 'string' ? host.runProgress.phase : undefined);

/**
 * Drives every host through the lifecycle. Each host's next step runs on a keyed work queue
 * (one step per host at a time); every decision is one transaction on the current rows, and
 * every wait has its end stored in the database, so a restart — even after kill -9 — finds
 * each host where it was and carries on.
 */
export class LifecycleEngine {
  private readonly queue: KeyedWorkQueue<number>;
  private readonly wakeUps: WakeUps<number>;
  private readonly idByName;
  private readonly claimer: Claimer;
  private claimsRunning = false;
  private claimsAgain = false;
  private claimsScheduled = false;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly lifecycle: LifecycleStore,
    private readonly power: PowerService,
    bus: EventBus,
    private readonly settings: LifecycleSettings,
    private readonly logger: Logger,
  ) {
    this.queue = new KeyedWorkQueue(settings.workers, (id) => this.step(id), (id, error) => this.logger.error({ hostId: id, err: message(error) }, 'lifecycle step crashed'));
    this.wakeUps = new WakeUps((id) => this.queue.add(id));
    this.claimer = new Claimer(lifecycle);
    this.idByName = lifecycle.store.sqlite.prepare<[string, string], { id: number }>('SELECT id FROM hosts WHERE namespace = ? AND name = ?');
    this.unsubscribe = bus.on('event', (event: EventView) => this.onEvent(event));
  }

  /** Picks up every host that was mid-way when the daemon stopped, and their timers. */
  start(): void {
    const db = this.lifecycle.store.db;
    const rows = db
      .select({ id: hosts.id, state: hosts.state, requestedAction: hosts.requestedAction, netbootMode: hosts.netbootMode })
      .from(hosts)
      .all();
    const deleting = new Set(
      db
        .select({ hostId: machines.hostId })
        .from(machines)
        .where(and(isNotNull(machines.hostId), isNotNull(machines.deletionRequestedAt)))
        .all()
        .map((r) => r.hostId),
    );
    let resumed = 0;
    for (const row of rows) {
      const provisionedDisarm = row.state === 'Provisioned' && row.netbootMode !== null;
      if (!IDLE_STATES.has(row.state) || row.requestedAction !== null || deleting.has(row.id) || provisionedDisarm) {
        this.queue.add(row.id);
        resumed++;
      }
    }
    this.logger.info({ hosts: rows.length, resumed }, 'lifecycle engine started');
    this.requestClaims();
  }

  /**
   * Stops taking work and gives running steps a moment to finish. A step still waiting on a
   * BMC after that writes nothing (the store is closed): every step is safe to redo, and the
   * next start redoes it.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.wakeUps.stop();
    this.queue.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.lifecycle.close();
  }

  /** Resolves once no step is queued or running (tests and benchmarks wait on it). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Resolves once no step and no claim pass is queued or running, and none was started meanwhile. */
  async settled(): Promise<void> {
    for (;;) {
      await this.queue.idle();
      await new Promise<void>((resolve) => setImmediate(resolve));
      const size = this.queue.size;
      if (!this.claimsScheduled && !this.claimsRunning && size.waiting === 0 && size.running === 0) return;
    }
  }

  queueSize(): { waiting: number; running: number } {
    return this.queue.size;
  }

  poke(hostId: number): void {
    this.queue.add(hostId);
  }

  pokeByName(namespace: string, name: string): void {
    const row = this.idByName.get(namespace, name);
    if (row) this.queue.add(row.id);
  }

  /** Coalesces claim passes: one runs at a time, and a request during a run runs one more. */
  requestClaims(): void {
    if (this.stopped) return;
    if (this.claimsRunning) {
      this.claimsAgain = true;
      return;
    }
    if (this.claimsScheduled) return;
    this.claimsScheduled = true;
    setImmediate(() => {
      this.claimsScheduled = false;
      if (this.stopped) return;
      this.claimsRunning = true;
      try {
        const { claimed, more } = this.claimer.pass();
        for (const id of claimed) this.queue.add(id);
        // A full pass leaves the rest to the next one, after the event loop has had its turn.
        if (more) this.claimsAgain = true;
      } catch (error) {
        this.logger.error({ err: message(error) }, 'claim pass failed');
      } finally {
        this.claimsRunning = false;
        if (this.claimsAgain) {
          this.claimsAgain = false;
          this.requestClaims();
        }
      }
    });
  }

  private onEvent(event: EventView): void {
    if (event.kind === 'machine' && (event.type === 'Created' || event.type === 'Released')) {
      this.requestClaims();
    } else if (event.kind === 'machine' && event.type === 'DeletionRequested') {
      const host = typeof event.data.host === 'string' ? event.data.host.split('/') : null;
      if (host?.[0] && host[1]) this.pokeByName(host[0], host[1]);
    } else if (event.kind === 'host' && (event.type === 'Registered' || event.type === 'InspectRequested' || event.type === 'DeletionRequested')) {
      this.pokeByName(event.namespace, event.name);
    } else if (event.kind === 'host' && event.type === 'Updated') {
      // New labels may make the host what a waiting machine selects.
      this.requestClaims();
      // New BMC settings or credentials deserve an immediate try instead of the backoff.
      const row = this.idByName.get(event.namespace, event.name);
      if (!row) return;
      const resumed = this.lifecycle.mutate(row.id, (host) => (host.state === 'Error' && host.retryAt !== null ? { host: { retryAt: Date.now() } } : null));
      if (resumed) this.queue.add(row.id);
    }
  }

  private wakeAt(hostId: number, at: number | null): void {
    if (at === null) this.wakeUps.clear(hostId);
    else this.wakeUps.set(hostId, at);
  }

  /** One step for one host: look at its state, do at most one outside action, record the result. */
  private async step(hostId: number): Promise<void> {
    if (this.stopped) return;
    const loaded = this.lifecycle.load(hostId);
    if (!loaded) {
      this.wakeUps.clear(hostId);
      return;
    }
    const { host, machine } = loaded;
    try {
      await this.advance(host, machine);
    } catch (error) {
      this.fail(host, error);
    }
  }

  private async advance(host: HostRow, machine: MachineRow | null): Promise<void> {
    const now = Date.now();
    switch (host.state) {
      case 'Enrolling':
        return this.enroll(host);
      case 'Available':
        if (machine) return this.after(this.lifecycle.mutate(host.id, (h) => (h.state === 'Available' ? { host: { state: 'Claimed' }, reason: 'claimed' } : null)));
        if (host.requestedAction === 'inspect') return this.after(this.lifecycle.mutate(host.id, (h, m) => (h.state === 'Available' && !m ? this.startRun('inspect', 'inspection requested') : null)));
        return;
      case 'Claimed':
        return this.after(
          this.lifecycle.mutate(host.id, (h, m) => {
            if (h.state !== 'Claimed') return null;
            if (!m) return { host: { state: 'Available' }, reason: 'no machine claims it' };
            if (m.deletionRequestedAt !== null) return this.release(h, m, 'machine deleted before provisioning', { wipe: false });
            return this.startRun('provision', `claimed by machine ${m.namespace}/${m.name}`);
          }),
        );
      case 'Inspecting':
        return this.inspecting(host, machine, now);
      case 'Inspected':
        return this.after(this.lifecycle.mutate(host.id, (h, m) => (h.state === 'Inspected' ? this.decideAfterReport(h, m) : null)));
      case 'Provisioning':
        if (machine?.deletionRequestedAt != null) {
          return this.after(this.lifecycle.mutate(host.id, (h, m) => (h.state === 'Provisioning' ? this.release(h, m, 'machine deleted during provisioning', { wipe: true }) : null)));
        }
        if (host.deadlineAt !== null && now >= host.deadlineAt) {
          return this.after(
            this.lifecycle.mutate(host.id, (h, m) => {
              if (h.state !== 'Provisioning' || h.deadlineAt === null || Date.now() < h.deadlineAt) return null;
              const minutes = Math.round(this.settings.provisionTimeoutMs / 60_000);
              return this.failMachine(h, m, 'ProvisioningTimeout', `provisioning did not finish within ${minutes} min`);
            }),
          );
        }
        return this.wakeAt(host.id, host.deadlineAt);
      case 'Provisioned':
        if (!machine || machine.deletionRequestedAt !== null) {
          return this.after(this.lifecycle.mutate(host.id, (h, m) => (h.state === 'Provisioned' ? this.release(h, m, m ? 'machine deleted' : 'no machine claims it', { wipe: true }) : null)));
        }
        return this.provisioned(host, machine);
      case 'Deprovisioning':
        return this.deprovision(host, now);
      case 'Error':
        if (host.retryAt !== null && now < host.retryAt) return this.wakeAt(host.id, host.retryAt);
        return this.after(
          this.lifecycle.mutate(host.id, (h) =>
            h.state === 'Error' ? { host: { state: h.errorState ?? 'Enrolling', errorState: null, retryAt: null }, reason: `retry ${h.attempts}` } : null,
          ),
        );
      case 'Deleting':
        return this.deleteHost(host);
      default:
        this.logger.warn({ host: `${host.namespace}/${host.name}`, state: host.state }, 'host in a state the engine does not know');
    }
  }

  /** After a decision: follow up on what the new state needs (another step, a timer, claims). */
  private after(row: HostRow | null): void {
    if (!row) return;
    if (row.state === 'Available') {
      this.wakeUps.clear(row.id);
      this.requestClaims();
      if (row.requestedAction !== null) this.queue.add(row.id);
      return;
    }
    if (row.state === 'Error') return this.wakeAt(row.id, row.retryAt);
    if (row.state === 'Provisioned' && row.netbootMode === null) return this.wakeUps.clear(row.id);
    // Every other state has more to do now, or a deadline the next step will arm.
    this.queue.add(row.id);
  }

  private async enroll(host: HostRow): Promise<void> {
    const driver = this.power.driverFor(host.namespace, host.name);
    const info = await driver.systemInfo();
    this.after(
      this.lifecycle.mutate(host.id, (h, _m, tx) => {
        if (h.state !== 'Enrolling') return null;
        let macsLearnt: string[] = [];
        if (info) {
          const known = tx.select({ mac: hostMacs.mac }).from(hostMacs).where(eq(hostMacs.hostId, h.id)).all();
          if (known.length === 0 && info.macAddresses.length > 0) {
            const taken = new Set(tx.select({ mac: hostMacs.mac }).from(hostMacs).where(inArray(hostMacs.mac, info.macAddresses)).all().map((r) => r.mac));
            macsLearnt = info.macAddresses.filter((mac) => !taken.has(mac)).slice(0, 16);
            if (macsLearnt.length > 0) tx.insert(hostMacs).values(macsLearnt.map((mac, position) => ({ mac, hostId: h.id, position }))).run();
          }
        }
        const systemInfo = info ? { manufacturer: info.manufacturer, model: info.model, serialNumber: info.serialNumber, uuid: info.uuid, biosVersion: info.biosVersion } : null;
        const enrolled: Change = {
          host: { systemInfo, powerState: info?.powerState ?? h.powerState, attempts: 0, lastError: null },
          events: [
            {
              type: 'Enrolled',
              message: info ? `enrolled: ${[info.manufacturer, info.model, info.serialNumber].filter(Boolean).join(' ') || 'system'}${macsLearnt.length ? `; boot MACs ${macsLearnt.join(', ')}` : ''}` : 'enrolled without a BMC',
              data: { macsLearnt },
            },
          ],
        };
        if (this.settings.inspectOnEnroll || h.requestedAction === 'inspect') {
          const run = this.startRun('inspect', 'inspection on enrollment');
          return { ...run, host: { ...enrolled.host, ...run.host }, events: [...(enrolled.events ?? []), ...(run.events ?? [])] };
        }
        return { ...enrolled, host: { ...enrolled.host, state: 'Available' }, reason: 'enrolled' };
      }),
    );
  }

  /** Arms a network boot and starts a fresh run; the boot itself is requested by the next step. */
  private startRun(mode: 'inspect' | 'provision', reason: string): Change {
    return {
      host: {
        ...CLEARED_RUN,
        state: 'Inspecting',
        inspectionPhase: 'Pending',
        netbootMode: mode,
        requestedAction: null,
        runStartedAt: Date.now(),
        lastError: null,
      },
      reason,
      revokeTokens: 'all',
      events: [{ type: 'InspectionStarted', message: `${mode === 'inspect' ? 'inspection' : 'provisioning run'} started: network boot armed`, data: { mode } }],
    };
  }

  private async inspecting(host: HostRow, machine: MachineRow | null, now: number): Promise<void> {
    if (machine?.deletionRequestedAt != null) {
      return this.after(this.lifecycle.mutate(host.id, (h, m) => (h.state === 'Inspecting' ? this.release(h, m, 'machine deleted during inspection', { wipe: false }) : null)));
    }
    if (host.inspectionPhase === 'Pending') {
      const driver = this.power.driverFor(host.namespace, host.name);
      const what = await bootFromNetwork(driver, this.settings.bootMode);
      return this.after(
        this.lifecycle.mutate(host.id, (h) => {
          // The script may already have been served (phase InProgress) while the BMC answered.
          if (h.state !== 'Inspecting' || h.deadlineAt !== null || (h.inspectionPhase !== 'Pending' && h.inspectionPhase !== 'InProgress')) return null;
          return {
            host: {
              inspectionPhase: h.inspectionPhase === 'Pending' ? 'Booting' : h.inspectionPhase,
              deadlineAt: Date.now() + this.settings.inspectionTimeoutMs,
              attempts: 0,
              lastError: null,
              ...(driver.kind === 'redfish' ? { powerState: 'On' } : {}),
            },
            events: [{ type: 'BootRequested', message: what, data: { mode: h.netbootMode } }],
          };
        }),
      );
    }
    if (host.deadlineAt === null) {
      // Booting without a deadline: the BMC call's outcome was lost (crash, failed answer); start the clock now.
      return this.after(
        this.lifecycle.mutate(host.id, (h) => (h.state === 'Inspecting' && h.deadlineAt === null && h.inspectionPhase !== 'Pending' ? { host: { deadlineAt: Date.now() + this.settings.inspectionTimeoutMs } } : null)),
      );
    }
    if (now >= host.deadlineAt) {
      return this.after(
        this.lifecycle.mutate(host.id, (h, m) => {
          if (h.state !== 'Inspecting' || h.deadlineAt === null || Date.now() < h.deadlineAt) return null;
          const minutes = Math.round(this.settings.inspectionTimeoutMs / 60_000);
          const release = this.release(h, m, `no hardware report within ${minutes} min`, { wipe: false, reject: true });
          return {
            ...release,
            host: { ...release.host, inspectionPhase: 'Timeout' },
            events: [...(release.events ?? []), { type: 'InspectionTimeout', message: `no hardware report within ${minutes} min; powering off` }],
          };
        }),
      );
    }
    this.wakeAt(host.id, host.deadlineAt);
  }

  /** The report of this run's boot is in: validate it against the machine, or finish an inspection. */
  private decideAfterReport(host: HostRow, machine: MachineRow | null): Change {
    if (!machine) return { host: { state: 'Deprovisioning' }, reason: 'inspection complete' };
    if (machine.deletionRequestedAt !== null) return this.release(host, machine, 'machine deleted', { wipe: false });
    const report = inspectionReportSchema.safeParse(host.runReport);
    if (!report.success) return this.release(host, machine, 'the report of this boot is unreadable', { wipe: false, reject: true });
    const image = imageSchema.parse(machine.image);
    const problems = [
      ...requirementProblems(report.data, hardwareRequirementsSchema.parse(machine.hardwareRequirements)),
      ...(image.mode === 'disk' ? rootDeviceProblems(report.data, image.rootDeviceHints) : []),
    ];
    if (problems.length > 0) {
      const text = problems.join('; ');
      const release = this.release(host, machine, `hardware does not meet machine ${machine.namespace}/${machine.name}: ${text}`, { wipe: false, reject: true });
      return {
        ...release,
        events: [
          ...(release.events ?? []),
          { type: 'ValidationFailed', message: `hardware does not meet machine ${machine.namespace}/${machine.name}: ${text}`, data: { problems } },
          { subject: 'machine', type: 'ValidationFailed', message: `host ${host.namespace}/${host.name} does not meet the requirements: ${text}; trying another host`, data: { problems } },
        ],
      };
    }
    return {
      host: { state: 'Provisioning', deadlineAt: Date.now() + this.settings.provisionTimeoutMs, runProgress: null },
      reason: `hardware meets machine ${machine.namespace}/${machine.name}`,
      events: [{ type: 'Validated', message: `hardware meets the requirements of machine ${machine.namespace}/${machine.name}` }],
    };
  }

  /**
   * Lets the host go: it powers off and returns to the pool through Deprovisioning. A machine
   * that is not being deleted is detached and tries another host (never this one again, when
   * `reject`): a mismatch is not a dead end.
   */
  private release(host: HostRow, machine: MachineRow | null, reason: string, options: { wipe: boolean; reject?: boolean }): Change {
    const wipe = options.wipe ? wipeOf(machine) : null;
    const change: Change = { host: { state: 'Deprovisioning', pendingWipe: wipe, deadlineAt: null }, reason, revokeTokens: 'boot' };
    if (machine && machine.deletionRequestedAt === null && machine.phase !== 'Failed') {
      const rejected = options.reject ? [...new Set([...machine.rejectedHostIds, host.id])] : machine.rejectedHostIds;
      change.machine = { hostId: null, phase: 'Pending', rejectedHostIds: rejected };
      change.events = [
        {
          subject: 'machine',
          type: 'Released',
          message: `host ${host.namespace}/${host.name} released: ${reason}`,
          data: { host: `${host.namespace}/${host.name}`, rejected: options.reject === true },
        },
      ];
    }
    return change;
  }

  /** A terminal failure of the machine's provisioning: it says why, and the host goes back to the pool. */
  private failMachine(host: HostRow, machine: MachineRow | null, reason: string, text: string): Change {
    const release = this.release(host, machine, text, { wipe: true });
    if (!machine || machine.deletionRequestedAt !== null) return release;
    return {
      ...release,
      machine: { phase: 'Failed', failureReason: reason, failureMessage: text },
      events: [{ subject: 'machine', type: 'Failed', message: `${reason}: ${text}`, data: { reason } }],
    };
  }

  /** A failure the ramdisk reported; the ramdisk service calls this in its transaction. */
  ramdiskFailure(host: HostRow, machine: MachineRow | null, reason: string, text: string): Change | null {
    // Provisioned too: a kexec that returned after the ramdisk had already said booted.
    if (host.state === 'Provisioning' || host.state === 'Provisioned') return this.failMachine(host, machine, reason, text);
    if (host.state === 'Inspecting') {
      // The ramdisk could not inspect (or its report was refused): fail now rather than wait for the timeout.
      const release = this.release(host, machine, `inspection failed: ${reason}: ${text}`, { wipe: false, reject: true });
      return { ...release, host: { ...release.host, inspectionPhase: 'Failed' }, events: [...(release.events ?? []), { type: 'InspectionFailed', message: `${reason}: ${text}`, data: { reason } }] };
    }
    if (host.state === 'Deprovisioning' && host.pendingWipe) {
      return this.errorChange(host, `wipe failed: ${reason}: ${text}`, { runProgress: { phase: 'wipe-pending' } });
    }
    return null;
  }

  private async provisioned(host: HostRow, machine: MachineRow): Promise<void> {
    const image = imageSchema.parse(machine.image);
    // Disk installs boot their own disk from now on; kexec hosts keep netbooting into the target.
    if (image.mode !== 'disk' || host.netbootMode === null) return this.wakeUps.clear(host.id);
    // Some BMCs only keep a Continuous override: clear it, or the installed disk is never booted.
    const driver = this.power.driverFor(host.namespace, host.name);
    if (driver.kind === 'redfish') await driver.clearNetworkBoot();
    this.after(
      this.lifecycle.mutate(host.id, (h) =>
        h.state === 'Provisioned' && h.netbootMode !== null
          ? { host: { netbootMode: null }, revokeTokens: 'boot', events: [{ type: 'NetbootDisarmed', message: 'installed on disk: next boots use the local disk' }] }
          : null,
      ),
    );
  }

  private async deprovision(host: HostRow, now: number): Promise<void> {
    const phase = runPhase(host);
    if (host.pendingWipe) {
      if (host.netbootMode !== 'wipe' || phase === undefined) {
        return this.after(
          this.lifecycle.mutate(host.id, (h) =>
            h.state === 'Deprovisioning' && h.pendingWipe
              ? {
                  host: { netbootMode: 'wipe', runProgress: { phase: 'wipe-pending' }, deadlineAt: null, runReport: null },
                  revokeTokens: 'boot',
                  events: [{ type: 'WipeStarted', message: `wipe (${h.pendingWipe.method}) armed: network boot into the ramdisk` }],
                }
              : null,
          ),
        );
      }
      if (phase === 'wipe-pending') {
        const driver = this.power.driverFor(host.namespace, host.name);
        const what = await bootFromNetwork(driver, this.settings.bootMode);
        return this.after(
          this.lifecycle.mutate(host.id, (h) => {
            if (h.state !== 'Deprovisioning' || !h.pendingWipe || runPhase(h) !== 'wipe-pending') return null;
            return {
              host: { runProgress: { phase: 'wipe-booting' }, deadlineAt: Date.now() + this.settings.wipeTimeoutMs, attempts: 0, lastError: null },
              events: [{ type: 'BootRequested', message: what, data: { mode: 'wipe' } }],
            };
          }),
        );
      }
      if (host.deadlineAt !== null && now >= host.deadlineAt) {
        const hours = Math.round((this.settings.wipeTimeoutMs / 3_600_000) * 10) / 10;
        return this.after(
          this.lifecycle.mutate(host.id, (h) =>
            h.state === 'Deprovisioning' && h.pendingWipe && h.deadlineAt !== null && Date.now() >= h.deadlineAt
              ? this.errorChange(h, `wipe did not finish within ${hours} h; it will be tried again`, { runProgress: { phase: 'wipe-pending' } })
              : null,
          ),
        );
      }
      return this.wakeAt(host.id, host.deadlineAt);
    }

    const driver = this.power.driverFor(host.namespace, host.name);
    const graceful = host.bootedAt !== null;
    const off = await powerOff(driver, graceful);
    if (driver.kind === 'redfish' && host.netbootMode !== null) await driver.clearNetworkBoot();
    this.after(
      this.lifecycle.mutate(host.id, (h, m) => {
        if (h.state !== 'Deprovisioning' || h.pendingWipe) return null;
        const change: Change = {
          host: { ...CLEARED_RUN, state: 'Available', netbootMode: null, attempts: 0, lastError: null, ...(driver.kind === 'redfish' ? { powerState: 'Off' } : {}) },
          reason: off,
          revokeTokens: 'all',
          events: [{ type: 'Deprovisioned', message: `${off}; per-run state cleared` }],
        };
        if (m?.deletionRequestedAt != null) change.machine = 'delete';
        else if (m) {
          // A failed machine keeps its failure for whoever looks, but no longer holds the host.
          change.machine = { hostId: null };
          change.events?.push({ subject: 'machine', type: 'Released', message: `host ${h.namespace}/${h.name} deprovisioned and released` });
        }
        return change;
      }),
    );
  }

  private async deleteHost(host: HostRow): Promise<void> {
    const driver = this.power.driverFor(host.namespace, host.name);
    let off: string;
    try {
      // A BMC never reached (enrollment never succeeded) has nothing to power off; don't wait on it.
      off = driver.kind === 'redfish' && host.systemInfo === null ? 'not powered off (the BMC was never reached)' : await powerOff(driver, host.bootedAt !== null);
    } catch (error) {
      // Forgetting a host must not hang on a dead BMC for ever: a few tries, then let go.
      if (host.attempts < DELETE_AFTER_ATTEMPTS) throw error;
      off = `not powered off (BMC: ${message(error)})`;
    }
    this.lifecycle.remove(host.id, (row) => (row.state === 'Deleting' ? `host deleted; ${off}` : null));
    this.wakeUps.clear(host.id);
    this.requestClaims();
  }

  private errorChange(host: HostRow, text: string, extra: Change['host'] = {}): Change {
    const attempts = host.attempts + 1;
    const delay = retryDelayMs(attempts, this.settings.retryBaseMs, this.settings.retryMaxMs);
    return {
      host: { ...extra, state: 'Error', errorState: host.state === 'Error' ? host.errorState : host.state, attempts, lastError: text, retryAt: Date.now() + delay },
      reason: text,
      events: [{ type: 'StepFailed', message: `${text}; retry ${attempts} in ${Math.round(delay / 100) / 10} s`, data: { attempts, retryInMs: delay } }],
    };
  }

  /** A step's outside action failed: Error with a retry time, resuming the same state. Never lost. */
  private fail(host: HostRow, error: unknown): void {
    const text = message(error);
    this.logger.warn({ host: `${host.namespace}/${host.name}`, state: host.state, err: text }, 'lifecycle step failed');
    if (host.state === 'Deleting') {
      const row = this.lifecycle.mutate(host.id, (h) => (h.state === 'Deleting' ? { host: { attempts: h.attempts + 1, lastError: text } } : null));
      if (row) this.wakeAt(row.id, Date.now() + retryDelayMs(row.attempts, this.settings.retryBaseMs, this.settings.retryMaxMs));
      return;
    }
    const row = this.lifecycle.mutate(host.id, (h, m) => {
      // Only if nothing moved the host on meanwhile (a report may have arrived during the BMC call).
      if (h.state !== host.state || h.inspectionPhase !== host.inspectionPhase) return null;
      const giveUp = h.attempts + 1 >= RELEASE_AFTER_ATTEMPTS;
      // A machine must not wait for ever on one host's dead BMC: it lets the host go and tries another.
      if (giveUp && m && m.deletionRequestedAt === null && (h.state === 'Claimed' || h.state === 'Inspecting')) {
        const release = this.release(h, m, `BMC failed ${h.attempts + 1} times: ${text}`, { wipe: false, reject: true });
        const error = this.errorChange({ ...h, state: 'Deprovisioning' }, text);
        return { ...release, host: { ...release.host, ...error.host }, events: [...(release.events ?? []), ...(error.events ?? [])] };
      }
      // A deleted machine is not held hostage by a host that cannot be powered off: it goes, the host keeps trying.
      if (giveUp && m && m.deletionRequestedAt !== null && h.state === 'Deprovisioning') {
        const error = this.errorChange(h, text);
        return {
          ...error,
          machine: 'delete',
          events: [...(error.events ?? []), { subject: 'machine', type: 'DeprovisioningAbandoned', message: `host ${h.namespace}/${h.name} could not be deprovisioned (${text}); the machine is deleted, the host keeps retrying` }],
        };
      }
      return this.errorChange(h, text);
    });
    // Something did move it: look again at where it is now.
    if (row) this.after(row);
    else this.queue.add(host.id);
  }
}
