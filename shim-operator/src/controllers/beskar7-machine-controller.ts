import type { Logger } from 'pino';
import { beskar7MachineSchema, GROUP_VERSION, type Beskar7Machine, type Beskar7MachineStatus } from '../api/index.js';
import { isDaemonApiError } from '../daemon-client/index.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import type { Informer } from '../kube/informer.js';
import { type KubeApi, type KubeObject, type Resource } from '../kube/kube-api.js';
import type { ReconcileOutcome } from '../runtime/work-queue.js';
import { conditionOf, setCondition } from './conditions.js';
import { writeStatusIfChanged } from './same-status.js';
import type { DaemonRegistry } from './daemons.js';
import { CLUSTER_LABEL, machineCreateOf, machineStatusOf } from './machine-mapping.js';

export const BESKAR7_MACHINES: Resource = { group: 'infrastructure.cluster.x-k8s.io', version: 'v1beta1', plural: 'beskar7machines', kind: 'Beskar7Machine' };
export const CAPI_MACHINES: Resource = { group: 'cluster.x-k8s.io', version: 'v1beta1', plural: 'machines', kind: 'Machine' };
export const CAPI_CLUSTERS: Resource = { group: 'cluster.x-k8s.io', version: 'v1beta1', plural: 'clusters', kind: 'Cluster' };
const SECRETS: Resource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
export const MACHINE_FINALIZER = 'beskar7machine.infrastructure.cluster.x-k8s.io';
export const PAUSED_ANNOTATION = 'cluster.x-k8s.io/paused';
const RESYNC_MS = 10 * 60_000;
const WHILE_PROVISIONING_MS = 30_000;
const WHILE_DELETING_MS = 2_000;
/** Changes of the CAPI Machine also wake the machine up (see the manager); this is the fallback. */
const WAITING_MS = 15_000;

export interface CapiMachine extends KubeObject {
  spec?: { clusterName?: string; failureDomain?: string; bootstrap?: { dataSecretName?: string }; infrastructureRef?: { kind?: string; name?: string } };
}
export interface CapiCluster extends KubeObject {
  spec?: { paused?: boolean };
}
interface Secret extends KubeObject {
  data?: Record<string, string>;
}

class Waiting extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly retryMs: number,
    readonly warning = false,
  ) {
    super(message);
  }
}

/**
 * Beskar7Machine → daemon machine. It waits for its CAPI Machine (owner) and that Machine's
 * bootstrap data, creates the daemon machine with it, and mirrors the daemon's answer: the claimed
 * host, spec.providerID, status.ready and initialization.provisioned, addresses, a terminal failure.
 * Deleting it deletes the daemon machine, which releases (and, if asked, wipes) the host, before
 * the finalizer lets it go. A paused Cluster or Beskar7Machine is left alone.
 */
export class Beskar7MachineController {
  constructor(
    private readonly deps: {
      api: KubeApi;
      machines: Informer<KubeObject>;
      /** CAPI Machines and Clusters, read from caches: each reconcile needs both, and re-reading them costs two requests. */
      capiMachines: Informer<CapiMachine>;
      capiClusters: Informer<CapiCluster>;
      daemons: DaemonRegistry;
      recorder: EventRecorder;
      log: Logger;
    },
  ) {}

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const cached = this.deps.machines.get(key);
    if (!cached) return;
    const parsed = beskar7MachineSchema.safeParse(cached);
    if (!parsed.success) {
      this.deps.log.warn({ machine: key, problems: parsed.error.issues.slice(0, 5) }, 'Beskar7Machine does not match the schema this shim knows; skipped');
      return;
    }
    const machine = parsed.data;
    const namespace = machine.metadata.namespace ?? 'default';
    const log = this.deps.log.child({ machine: key });
    const owner = (machine.metadata.ownerReferences ?? []).find((r) => r.kind === 'Machine' && r.apiVersion.startsWith('cluster.x-k8s.io/'));
    const capiMachine = owner ? this.deps.capiMachines.get(`${namespace}/${owner.name}`) : undefined;
    const clusterName = capiMachine?.spec?.clusterName ?? machine.metadata.labels?.[CLUSTER_LABEL];
    const cluster = clusterName ? this.deps.capiClusters.get(`${namespace}/${clusterName}`) : undefined;
    if (machine.metadata.annotations?.[PAUSED_ANNOTATION] !== undefined || cluster?.spec?.paused === true || cluster?.metadata.annotations?.[PAUSED_ANNOTATION] !== undefined) {
      log.debug('paused; left alone');
      return;
    }
    // The daemon that owns a machine is the default one: hosts of every daemon are PhysicalHosts,
    // but a machine is placed by the daemon whose pool it asks (one pool per provisioning network).
    const daemon = this.deps.daemons.get(undefined);
    if (!daemon) throw new Error('no default daemon');
    if (machine.metadata.deletionTimestamp) return this.finalize(machine, log);
    if (!(machine.metadata.finalizers ?? []).includes(MACHINE_FINALIZER)) {
      await this.deps.api.mergePatch(BESKAR7_MACHINES, namespace, machine.metadata.name, {
        metadata: { finalizers: [...(machine.metadata.finalizers ?? []), MACHINE_FINALIZER], resourceVersion: machine.metadata.resourceVersion },
      });
      // The watch brings the patched object back, and with it the next reconcile.
      return;
    }
    let status: Beskar7MachineStatus = { ...(machine.status ?? {}) };
    try {
      let view = await daemon.client.getMachine(namespace, machine.metadata.name);
      if (!view && (machine.spec.providerID !== undefined || machine.status?.hostRef !== undefined || machine.status?.initialization?.provisioned === true)) {
        // Placed once, now unknown to the daemon (a restored database, a delete by hand): creating it
        // again would boot a second host with the same bootstrap data. CAPI remediates a failed machine.
        status.failureReason = 'MachineLostInDaemon';
        status.failureMessage = `daemon ${daemon.name} no longer knows this machine, which was placed${status.hostRef ? ` on ${status.hostRef.name}` : ''}; it is not created again`;
        status.ready = false;
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'MachineLostInDaemon', message: status.failureMessage }, machine.metadata.generation);
        await this.writeStatus(machine, status);
        await this.deps.recorder.record(this.ref(machine), 'Warning', 'MachineLostInDaemon', status.failureMessage);
        return { requeueAfterMs: RESYNC_MS };
      }
      if (!view) {
        if (!owner || !capiMachine) throw new Waiting('WaitingForMachineOwner', 'waiting for the CAPI Machine to own this Beskar7Machine', WAITING_MS);
        const secretName = capiMachine.spec?.bootstrap?.dataSecretName;
        if (!secretName) throw new Waiting('WaitingForBootstrapData', `waiting for Machine ${owner.name}'s bootstrap data secret`, WAITING_MS);
        const secret = await this.deps.api.getOrUndefined<Secret>(SECRETS, namespace, secretName);
        const value = secret?.data?.value;
        if (value === undefined) throw new Waiting('BootstrapDataSecretUnavailable', `Secret ${namespace}/${secretName} with key "value" not found`, 15_000, true);
        view = await daemon.client.createMachine(
          machineCreateOf(machine, { clusterName, failureDomain: capiMachine.spec?.failureDomain, bootstrapData: Buffer.from(value, 'base64').toString('utf8') }),
        );
        log.info({ daemon: daemon.name }, 'machine created in the daemon');
        await this.deps.recorder.record(this.ref(machine), 'Normal', 'Created', `machine created in daemon ${daemon.name}; waiting for a host`);
      }
      const before = status.phase;
      status = { ...status, ...machineStatusOf(view, machine.status) };
      if (!view.status.host) delete status.hostRef;
      if (view.status.phase !== 'Failed') {
        delete status.failureReason;
        delete status.failureMessage;
      }
      // providerID goes into the spec once, when the OS is up; CAPI copies it to the Machine.
      if (view.status.phase === 'Provisioned' && view.status.providerID && machine.spec.providerID !== view.status.providerID) {
        const patched = await this.deps.api.mergePatch<KubeObject>(BESKAR7_MACHINES, namespace, machine.metadata.name, { spec: { providerID: view.status.providerID } });
        machine.metadata.resourceVersion = patched.metadata.resourceVersion;
        machine.spec.providerID = view.status.providerID;
      }
      const ready = status.ready === true;
      status.conditions = setCondition(status.conditions, { type: 'DaemonSynced', status: 'True', reason: 'Synced', message: `daemon ${daemon.name}` }, machine.metadata.generation);
      status.conditions = setCondition(
        status.conditions,
        ready ? { type: 'Ready', status: 'True', reason: 'Provisioned' } : { type: 'Ready', status: 'False', reason: view.status.phase, message: view.status.failureMessage ?? `the machine is ${view.status.phase}` },
        machine.metadata.generation,
      );
      status.conditions = setCondition(
        status.conditions,
        view.status.host ? { type: 'HostClaimed', status: 'True', reason: 'Claimed', message: `${view.status.host.namespace}/${view.status.host.name}` } : { type: 'HostClaimed', status: 'False', reason: 'WaitingForHost', message: 'no host matches yet' },
        machine.metadata.generation,
      );
      await this.writeStatus(machine, status);
      if (before !== status.phase && status.phase) {
        const warning = status.phase === 'Failed';
        await this.deps.recorder.record(this.ref(machine), warning ? 'Warning' : 'Normal', status.phase, warning ? `${status.failureReason}: ${status.failureMessage}` : `machine is ${status.phase}${status.hostRef ? ` on ${status.hostRef.name}` : ''}`);
      }
      return { requeueAfterMs: ready || view.status.phase === 'Failed' ? RESYNC_MS : WHILE_PROVISIONING_MS };
    } catch (error) {
      const waiting = this.waitingOn(error, daemon.name);
      if (!waiting) throw error;
      status.conditions = setCondition(status.conditions, { type: 'DaemonSynced', status: waiting.reason.startsWith('Daemon') ? 'False' : 'Unknown', reason: waiting.reason, message: waiting.message }, machine.metadata.generation);
      if (waiting.reason === 'DaemonUnreachable' && conditionOf(status.conditions, 'Ready')?.status !== 'False') {
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'Unknown', reason: 'DaemonUnreachable', message: waiting.message }, machine.metadata.generation);
      }
      await this.writeStatus(machine, status);
      if (waiting.warning) await this.deps.recorder.record(this.ref(machine), 'Warning', waiting.reason, waiting.message);
      return { requeueAfterMs: waiting.retryMs };
    }
  }

  private async finalize(machine: Beskar7Machine, log: Logger): Promise<ReconcileOutcome> {
    if (!(machine.metadata.finalizers ?? []).includes(MACHINE_FINALIZER)) return;
    const namespace = machine.metadata.namespace ?? 'default';
    const daemon = this.deps.daemons.get(undefined);
    if (daemon) {
      // 204: gone at once (never placed); 202: the host is being deprovisioned first.
      const remaining = await daemon.client.deleteMachine(namespace, machine.metadata.name);
      if (remaining !== undefined) return { requeueAfterMs: WHILE_DELETING_MS };
    }
    await this.deps.api.mergePatch(BESKAR7_MACHINES, namespace, machine.metadata.name, {
      metadata: { finalizers: (machine.metadata.finalizers ?? []).filter((f) => f !== MACHINE_FINALIZER), resourceVersion: machine.metadata.resourceVersion },
    });
    log.info('daemon machine deleted and its host released; finalizer removed');
    return;
  }

  private waitingOn(error: unknown, daemon: string): Waiting | undefined {
    if (error instanceof Waiting) return error;
    if (isDaemonApiError(error)) {
      if (error.retryable) return new Waiting('DaemonUnreachable', `daemon ${daemon}: ${error.message}`, 10_000, true);
      return new Waiting('DaemonRejected', `daemon ${daemon} refused the machine: ${error.message}`, 60_000, true);
    }
    return undefined;
  }

  private async writeStatus(machine: Beskar7Machine, status: Beskar7MachineStatus): Promise<void> {
    await writeStatusIfChanged(this.deps.api, BESKAR7_MACHINES, machine, status);
  }

  private ref(machine: Beskar7Machine) {
    return { apiVersion: GROUP_VERSION, kind: 'Beskar7Machine', metadata: machine.metadata };
  }
}
