import type { Logger } from 'pino';
import { beskar7ClusterSchema, beskar7MachineSchema, GROUP_VERSION, physicalHostSchema, type Beskar7Cluster, type Beskar7ClusterStatus } from '../api/index.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import type { Informer } from '../kube/informer.js';
import { type KubeApi, type KubeObject, type Resource } from '../kube/kube-api.js';
import type { ReconcileOutcome } from '../runtime/work-queue.js';
import { setCondition } from './conditions.js';
import { writeStatusIfChanged } from './same-status.js';
import { CAPI_CLUSTERS, PAUSED_ANNOTATION } from './beskar7-machine-controller.js';
import { CLUSTER_LABEL, ZONE_LABEL } from './machine-mapping.js';

export const BESKAR7_CLUSTERS: Resource = { group: 'infrastructure.cluster.x-k8s.io', version: 'v1beta1', plural: 'beskar7clusters', kind: 'Beskar7Cluster' };
export const CONTROL_PLANE_LABEL = 'cluster.x-k8s.io/control-plane';
const DEFAULT_API_PORT = 6443;

interface CapiCluster extends KubeObject {
  spec?: { paused?: boolean };
}

/**
 * Beskar7Cluster: the control-plane endpoint (from the spec, or, when the spec leaves it empty, the
 * first address of a ready control-plane Beskar7Machine of the cluster, written back to the spec
 * where CAPI reads it), failure domains from the zone labels of the namespace's PhysicalHosts, and
 * ready once the endpoint is known.
 */
export class Beskar7ClusterController {
  constructor(
    private readonly deps: {
      api: KubeApi;
      clusters: Informer<KubeObject>;
      machines: Informer<KubeObject>;
      hosts: Informer<KubeObject>;
      recorder: EventRecorder;
      log: Logger;
    },
  ) {}

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const cached = this.deps.clusters.get(key);
    if (!cached) return;
    const parsed = beskar7ClusterSchema.safeParse(cached);
    if (!parsed.success) {
      this.deps.log.warn({ cluster: key, problems: parsed.error.issues.slice(0, 5) }, 'Beskar7Cluster does not match the schema this shim knows; skipped');
      return;
    }
    const cluster = parsed.data;
    if (cluster.metadata.deletionTimestamp) return;
    const namespace = cluster.metadata.namespace ?? 'default';
    const owner = (cluster.metadata.ownerReferences ?? []).find((r) => r.kind === 'Cluster' && r.apiVersion.startsWith('cluster.x-k8s.io/'));
    const capiCluster = owner ? await this.deps.api.getOrUndefined<CapiCluster>(CAPI_CLUSTERS, namespace, owner.name) : undefined;
    if (cluster.metadata.annotations?.[PAUSED_ANNOTATION] !== undefined || capiCluster?.spec?.paused === true) return;
    const clusterName = owner?.name ?? cluster.metadata.name;

    let endpoint = cluster.spec.controlPlaneEndpoint?.host ? cluster.spec.controlPlaneEndpoint : undefined;
    if (!endpoint) {
      const address = this.controlPlaneAddress(namespace, clusterName);
      if (address) {
        endpoint = { host: address, port: DEFAULT_API_PORT };
        const patched = await this.deps.api.mergePatch<KubeObject>(BESKAR7_CLUSTERS, namespace, cluster.metadata.name, { spec: { controlPlaneEndpoint: endpoint } });
        cluster.metadata.resourceVersion = patched.metadata.resourceVersion;
        cluster.spec.controlPlaneEndpoint = endpoint;
        await this.deps.recorder.record(this.ref(cluster), 'Normal', 'ControlPlaneEndpointSet', `control-plane endpoint ${address}:${DEFAULT_API_PORT} from a ready control-plane machine`);
      }
    }
    const status: Beskar7ClusterStatus = { ...(cluster.status ?? {}) };
    const domains = this.failureDomains(namespace);
    if (Object.keys(domains).length > 0) status.failureDomains = domains;
    else delete status.failureDomains;
    status.ready = endpoint !== undefined;
    status.initialization = { provisioned: status.ready || cluster.status?.initialization?.provisioned === true };
    status.conditions = setCondition(
      status.conditions,
      endpoint
        ? { type: 'Ready', status: 'True', reason: 'ControlPlaneEndpointKnown', message: `${endpoint.host}:${endpoint.port}` }
        : { type: 'Ready', status: 'False', reason: 'WaitingForControlPlaneEndpoint', message: 'no endpoint in the spec and no ready control-plane machine yet' },
      cluster.metadata.generation,
    );
    await this.writeStatus(cluster, status);
    return;
  }

  /** Clusters to look at again when a machine or host of this namespace changes. */
  clustersOf(namespace: string): string[] {
    return this.deps.clusters.list().filter((c) => c.metadata.namespace === namespace).map((c) => `${namespace}/${c.metadata.name}`);
  }

  private controlPlaneAddress(namespace: string, clusterName: string): string | undefined {
    for (const object of this.deps.machines.list()) {
      if (object.metadata.namespace !== namespace) continue;
      const labels = object.metadata.labels ?? {};
      if (labels[CLUSTER_LABEL] !== clusterName || labels[CONTROL_PLANE_LABEL] === undefined) continue;
      const machine = beskar7MachineSchema.safeParse(object);
      if (!machine.success || machine.data.status?.ready !== true) continue;
      const address = machine.data.status.addresses?.find((a) => a.type === 'InternalIP') ?? machine.data.status.addresses?.[0];
      if (address) return address.address;
    }
    return undefined;
  }

  private failureDomains(namespace: string): NonNullable<Beskar7ClusterStatus['failureDomains']> {
    const domains: NonNullable<Beskar7ClusterStatus['failureDomains']> = {};
    for (const object of this.deps.hosts.list()) {
      if (object.metadata.namespace !== namespace) continue;
      const host = physicalHostSchema.safeParse(object);
      const zone = host.success ? host.data.metadata.labels?.[ZONE_LABEL] : undefined;
      if (zone) domains[zone] = { controlPlane: true };
    }
    return Object.fromEntries(Object.entries(domains).sort(([a], [b]) => a.localeCompare(b)));
  }

  private async writeStatus(cluster: Beskar7Cluster, status: Beskar7ClusterStatus): Promise<void> {
    await writeStatusIfChanged(this.deps.api, BESKAR7_CLUSTERS, cluster, status);
  }

  private ref(cluster: Beskar7Cluster) {
    return { apiVersion: GROUP_VERSION, kind: 'Beskar7Cluster', metadata: cluster.metadata };
  }
}
