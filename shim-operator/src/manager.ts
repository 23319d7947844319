import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DaemonRegistry, type DaemonEndpoint } from './controllers/daemons.js';
import { BESKAR7_CLUSTERS, Beskar7ClusterController } from './controllers/beskar7-cluster-controller.js';
import { BESKAR7_MACHINES, Beskar7MachineController, CAPI_CLUSTERS, CAPI_MACHINES, type CapiCluster, type CapiMachine } from './controllers/beskar7-machine-controller.js';
import { PHYSICAL_HOSTS, PhysicalHostController } from './controllers/physical-host-controller.js';
import { EventRecorder } from './kube/event-recorder.js';
import { Informer, keyOf } from './kube/informer.js';
import { KubeApi, type KubeObject } from './kube/kube-api.js';
import { KubeLeaseStore } from './kube/lease-store.js';
import { DEFAULT_LEADER_ELECTION, LeaderElector } from './runtime/leader-election.js';
import { runWorkers, WorkQueue } from './runtime/work-queue.js';

export interface ShimSettings {
  daemons: DaemonEndpoint[];
  defaultDaemon: string;
  /** Where the leader-election Lease lives (the shim's own namespace). */
  leaseNamespace: string;
  leaseName: string;
  identity: string;
  workers: number;
  leaderElection?: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
}

export const defaultIdentity = (): string => `${hostname()}_${process.pid}`;

/**
 * One shim replica: it campaigns for the Lease and, while it leads, runs the controllers — their
 * informers, work queues and workers, and the daemons' event streams. Losing the lease stops all of
 * it (a replica that is not sure it leads must not write); the process then exits and restarts.
 */
export class ShimManager {
  readonly api: KubeApi;
  private readonly elector: LeaderElector;
  private readonly hostQueue = new WorkQueue();
  private readonly machineQueue = new WorkQueue();
  private readonly clusterQueue = new WorkQueue();
  private informers: Informer<KubeObject>[] = [];
  private hosts: Informer<KubeObject> | undefined;
  private machines: Informer<KubeObject> | undefined;
  private clusterController: Beskar7ClusterController | undefined;
  private controllersStopping = false;
  private releaseWaits: () => void = () => undefined;
  private readonly daemons: DaemonRegistry;
  private workers: Promise<void> | undefined;
  private leadingResolve: () => void = () => undefined;
  /** Resolves when this replica starts leading. */
  readonly leading = new Promise<void>((resolve) => (this.leadingResolve = resolve));
  private stoppedLeadingResolve: () => void = () => undefined;
  /** Resolves when this replica stops leading (lost the lease, or stop()). */
  readonly stoppedLeading = new Promise<void>((resolve) => (this.stoppedLeadingResolve = resolve));
  private running: Promise<void> | undefined;

  constructor(
    config: KubeConfig,
    private readonly settings: ShimSettings,
    private readonly log: Logger,
  ) {
    this.api = new KubeApi(config);
    // Built here, not when leading: a bad daemon URL fails the start, never a replica holding the lease.
    this.daemons = new DaemonRegistry(this.settings.daemons, this.settings.defaultDaemon, {
      // A daemon host or machine has the namespace and name of its custom resource.
      onEvent: (_daemon, event) => {
        if (event.kind === 'host') this.hostQueue.add(`${event.namespace}/${event.name}`);
        if (event.kind === 'machine') this.machineQueue.add(`${event.namespace}/${event.name}`);
      },
      onReachability: (daemon, reachable, error) => {
        this.log[reachable ? 'info' : 'warn']({ daemon, err: error?.message }, reachable ? 'daemon event stream connected' : 'daemon event stream down');
        // Back after a gap, or gone: everything is looked at again.
        for (const host of this.hosts?.list() ?? []) this.hostQueue.add(keyOf(host));
        for (const machine of this.machines?.list() ?? []) this.machineQueue.add(keyOf(machine));
      },
    });
    this.elector = new LeaderElector(
      new KubeLeaseStore(this.api, settings.leaseNamespace, settings.leaseName),
      { identity: settings.identity, ...(settings.leaderElection ?? DEFAULT_LEADER_ELECTION) },
      {
        onStartedLeading: () => {
          log.info({ identity: settings.identity }, 'leading: controllers start');
          this.startControllers();
          this.leadingResolve();
        },
        onStoppedLeading: async () => {
          log.warn({ identity: settings.identity }, 'no longer leading: controllers stop');
          await this.stopControllers();
          this.stoppedLeadingResolve();
        },
        onNewLeader: (identity) => log.info({ leader: identity }, 'leader observed'),
        onError: (error) => log.warn({ err: error }, 'leader election: apiserver call failed'),
      },
    );
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  start(): void {
    this.running = this.elector.run();
  }

  async stop(): Promise<void> {
    this.elector.stop();
    await this.running;
    await this.stopControllers();
  }

  private startControllers(): void {
    const log = this.log;
    const recorder = new EventRecorder(this.api, 'beskar7-shim', (error) => log.debug({ err: error }, 'event not recorded'));
    const daemons = this.daemons;
    const watchFailed = (kind: string) => (error: unknown) => log.warn({ kind, err: error instanceof Error ? error.message : String(error) }, 'watch failed; listing again');
    // Hosts (zones) and machines (a ready control plane) change what their namespace's clusters show.
    const clustersOf = (object: KubeObject) => {
      for (const key of this.clusterController?.clustersOf(object.metadata.namespace ?? '') ?? []) this.clusterQueue.add(key);
    };
    this.hosts = new Informer<KubeObject>(this.api, PHYSICAL_HOSTS, {
      onChange: (object) => {
        this.hostQueue.add(keyOf(object));
        clustersOf(object);
      },
      onError: watchFailed('PhysicalHost'),
    });
    this.machines = new Informer<KubeObject>(this.api, BESKAR7_MACHINES, {
      onChange: (object) => {
        this.machineQueue.add(keyOf(object));
        clustersOf(object);
      },
      onError: watchFailed('Beskar7Machine'),
    });
    const clusters = new Informer<KubeObject>(this.api, BESKAR7_CLUSTERS, { onChange: (object) => this.clusterQueue.add(keyOf(object)), onError: watchFailed('Beskar7Cluster') });
    // A CAPI Machine that gets its bootstrap data (or is paused, or deleted) wakes its Beskar7Machine.
    const capiMachines = new Informer<CapiMachine>(this.api, CAPI_MACHINES, {
      onChange: (object) => {
        const ref = object.spec?.infrastructureRef;
        if (ref?.kind === 'Beskar7Machine' && ref.name) this.machineQueue.add(`${object.metadata.namespace ?? ''}/${ref.name}`);
      },
      onError: watchFailed('Machine'),
    });
    // A paused Cluster (or one unpaused) wakes its machines.
    const capiClusters = new Informer<CapiCluster>(this.api, CAPI_CLUSTERS, {
      onChange: (object) => {
        for (const machine of this.machines?.list() ?? []) {
          if (machine.metadata.namespace === object.metadata.namespace && machine.metadata.labels?.['cluster.x-k8s.io/cluster-name'] === object.metadata.name) this.machineQueue.add(keyOf(machine));
        }
      },
      onError: watchFailed('Cluster'),
    });
    this.informers = [this.hosts, this.machines, clusters, capiMachines, capiClusters];
    const hostController = new PhysicalHostController({ api: this.api, hosts: this.hosts, daemons: this.daemons, recorder, log: log.child({ controller: 'physicalhost' }) });
    const machineController = new Beskar7MachineController({
      api: this.api,
      machines: this.machines,
      capiMachines,
      capiClusters,
      daemons: this.daemons,
      recorder,
      log: log.child({ controller: 'beskar7machine' }),
    });
    const clusterReconciler = new Beskar7ClusterController({ api: this.api, clusters, machines: this.machines, hosts: this.hosts, recorder, log: log.child({ controller: 'beskar7cluster' }) });
    this.clusterController = clusterReconciler;
    for (const informer of this.informers) informer.start();
    daemons.start();
    const failed = (kind: string) => (key: string, error: unknown, retryInMs: number) =>
      log.warn({ [kind]: key, err: error instanceof Error ? error.message : String(error), retryInMs }, 'reconcile failed');
    // Each controller starts once the caches it reads are filled, so that no reconcile mistakes a
    // not-yet-listed object for a missing one. Without Cluster API's CRDs, hosts still work.
    const stopping = new Promise<void>((resolve) => (this.releaseWaits = resolve));
    const after = (caches: Informer<KubeObject>[], work: () => Promise<void>) =>
      Promise.race([Promise.all(caches.map((c) => c.synced)), stopping]).then(() => (this.controllersStopping ? undefined : work()));
    const hosts = this.hosts;
    const machines = this.machines;
    this.workers = Promise.all([
      after([hosts], () => runWorkers(this.hostQueue, this.settings.workers, (key) => hostController.reconcile(key), failed('host'))),
      after([machines, capiMachines, capiClusters], () => runWorkers(this.machineQueue, this.settings.workers, (key) => machineController.reconcile(key), failed('machine'))),
      after([clusters, hosts, machines], () => runWorkers(this.clusterQueue, 1, (key) => clusterReconciler.reconcile(key), failed('cluster'))),
    ]).then(() => undefined);
  }

  private async stopControllers(): Promise<void> {
    this.controllersStopping = true;
    this.releaseWaits();
    for (const informer of this.informers) informer.stop();
    this.hostQueue.shutDown();
    this.machineQueue.shutDown();
    this.clusterQueue.shutDown();
    await this.daemons.stop();
    await this.workers;
  }
}
