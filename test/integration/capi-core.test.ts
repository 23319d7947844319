import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_VERSION, type Beskar7Cluster, type Beskar7Machine } from '../../shim-operator/src/api/index.js';
import { BESKAR7_CLUSTERS } from '../../shim-operator/src/controllers/beskar7-cluster-controller.js';
import { BESKAR7_MACHINES, CAPI_MACHINES } from '../../shim-operator/src/controllers/beskar7-machine-controller.js';
import type { KubeObject, Resource } from '../../shim-operator/src/kube/kube-api.js';
import { freePort } from '../helpers/free-port.js';
import type { Lab } from '../helpers/lab.js';
import { capiStatus, coreComponents, coreMetadata, CRDS, installCapiCore, installCertManagerStandIns, logDir, makeWebhookCerts, startCapiManager, type CapiBuild, type CapiManager } from './capi-env.js';
import { eventually } from './eventually.js';
import { b64, SECRETS, startLabShim, type LabShim } from './lab-shim.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';

// Cluster API's real core controllers (v1beta2 API, built from the Go module proxy by
// shim-operator/test-env/build-capi.sh) against the provider: CAPI owns the Beskar7Machine, the shim
// provisions an emulated host through the daemon, and CAPI copies providerID and infrastructure
// readiness back into its Machine. Then clusterctl init installs the provider from a local repository.

const status = await capiStatus();
if (status.state === 'skip') console.warn(`\n*** capi-core.test.ts: ${status.reason} ***\n`);
const build = (): CapiBuild => {
  if (status.state === 'missing') throw new Error(`Cluster API binaries: ${status.reason}`);
  if (status.state !== 'ready') throw new Error(status.reason);
  return status.build;
};

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..', '..');
const V1B2 = 'cluster.x-k8s.io/v1beta2';
const INFRA_GROUP = 'infrastructure.cluster.x-k8s.io';
const MACHINES: Resource = { group: 'cluster.x-k8s.io', version: 'v1beta2', plural: 'machines', kind: 'Machine' };
const CLUSTERS: Resource = { group: 'cluster.x-k8s.io', version: 'v1beta2', plural: 'clusters', kind: 'Cluster' };
const MACHINE_SETS: Resource = { group: 'cluster.x-k8s.io', version: 'v1beta2', plural: 'machinesets', kind: 'MachineSet' };
const MACHINE_TEMPLATES: Resource = { group: INFRA_GROUP, version: 'v1beta1', plural: 'beskar7machinetemplates', kind: 'Beskar7MachineTemplate' };
const NS = 'capi-core-test';

interface CapiMachine extends KubeObject {
  spec: { providerID?: string; infrastructureRef?: { apiGroup?: string; kind?: string; name?: string } };
  status?: { phase?: string; initialization?: { infrastructureProvisioned?: boolean; bootstrapDataSecretCreated?: boolean }; conditions?: { type: string; status: string; reason?: string }[] };
}

let failed = false;
afterEach((context) => {
  if (context.task.result?.state === 'fail') failed = true;
});

describe.skipIf(status.state === 'skip')('Cluster API core controllers with the Beskar7 provider', () => {
  let plane: ControlPlane;
  let lab: Lab;
  let labShim: LabShim | undefined;
  let manager: CapiManager | undefined;
  let logs: ReturnType<typeof logDir> | undefined;

  const getB7Machine = (name: string) => plane.api.getOrUndefined<Beskar7Machine & KubeObject>(BESKAR7_MACHINES, NS, name);
  const getMachine = (name: string) => plane.api.getOrUndefined<CapiMachine>(MACHINES, NS, name);

  beforeAll(async () => {
    const capi = build();
    logs = logDir('b7-capi-core-');
    plane = await startControlPlane();
    await plane.installCrds();
    const certDir = join(logs.dir, 'webhook-certs');
    mkdirSync(certDir);
    const { caBundle } = await makeWebhookCerts(certDir);
    const webhookPort = await freePort();
    await installCapiCore(plane, capi, { url: `https://127.0.0.1:${webhookPort}`, caBundle });
    manager = await startCapiManager(plane, capi, { certDir, webhookPort, logDir: logs.dir });
    labShim = await startLabShim(plane, { namespace: NS, hosts: 2, identity: 'capi-core-test' });
    lab = labShim.lab;
    await plane.api.create(SECRETS, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bootstrap', namespace: NS }, data: { value: b64('#cloud-config\nhostname: capi\n') } } as KubeObject);
  }, 300_000);

  afterAll(async () => {
    await labShim?.stop();
    await manager?.stop();
    await plane?.stop();
    logs?.finish(failed, () => `--- CAPI manager log (tail) ---\n${manager?.log().slice(-8000) ?? ''}`);
  }, 120_000);

  it('Cluster: CAPI owns the Beskar7Cluster and takes its control-plane endpoint once the shim reports it ready', async () => {
    await plane.api.create(BESKAR7_CLUSTERS, NS, {
      apiVersion: GROUP_VERSION,
      kind: 'Beskar7Cluster',
      metadata: { name: 'c1', namespace: NS },
      spec: { controlPlaneEndpoint: { host: '192.0.2.10', port: 6443 } },
    } as KubeObject);
    await plane.api.create(CLUSTERS, NS, {
      apiVersion: V1B2,
      kind: 'Cluster',
      metadata: { name: 'c1', namespace: NS },
      spec: { infrastructureRef: { apiGroup: INFRA_GROUP, kind: 'Beskar7Cluster', name: 'c1' } },
    } as KubeObject);
    const owned = await eventually(
      () => plane.api.getOrUndefined<Beskar7Cluster & KubeObject>(BESKAR7_CLUSTERS, NS, 'c1'),
      (c) => c?.metadata.ownerReferences?.some((r) => r.kind === 'Cluster' && r.name === 'c1') === true && c.status?.ready === true,
      'Beskar7Cluster c1 owned by the Cluster and ready',
    );
    expect(owned?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Cluster', name: 'c1' });
    const cluster = await eventually(
      () => plane.api.getOrUndefined<KubeObject & { spec: { controlPlaneEndpoint?: unknown }; status?: { initialization?: { infrastructureProvisioned?: boolean } } }>(CLUSTERS, NS, 'c1'),
      (c) => c?.status?.initialization?.infrastructureProvisioned === true,
      'Cluster c1 infrastructure provisioned',
    );
    expect(cluster?.spec.controlPlaneEndpoint).toEqual({ host: '192.0.2.10', port: 6443 });
  }, 120_000);

  it('Machine: CAPI owns the Beskar7Machine, the shim provisions a host, CAPI records providerID and infrastructure ready (phase Provisioned)', async () => {
    await plane.api.create(BESKAR7_MACHINES, NS, {
      apiVersion: GROUP_VERSION,
      kind: 'Beskar7Machine',
      metadata: { name: 'm1', namespace: NS },
      spec: { image: lab.kexecImage, hardwareRequirements: { minCPUCores: 1 } },
    } as KubeObject);
    // Not owned yet: the shim waits (no daemon machine) until CAPI's Machine controller adopts it.
    const unowned = await eventually(() => getB7Machine('m1'), (m) => m?.status?.conditions?.some((c) => c.reason === 'WaitingForMachineOwner') === true, 'm1 waits for its owner');
    expect(unowned?.metadata.ownerReferences ?? []).toEqual([]);
    expect((await lab.d.api('GET', `/api/v1/machines/${NS}/m1`)).status).toBe(404);
    await plane.api.create(MACHINES, NS, {
      apiVersion: V1B2,
      kind: 'Machine',
      metadata: { name: 'm1', namespace: NS },
      spec: { clusterName: 'c1', bootstrap: { dataSecretName: 'bootstrap' }, infrastructureRef: { apiGroup: INFRA_GROUP, kind: 'Beskar7Machine', name: 'm1' } },
    } as KubeObject);
    const owned = await eventually(() => getB7Machine('m1'), (m) => m?.metadata.ownerReferences?.some((r) => r.kind === 'Machine' && r.controller === true) === true, 'CAPI owns Beskar7Machine m1');
    expect(owned?.metadata.ownerReferences?.find((r) => r.kind === 'Machine')).toMatchObject({ apiVersion: V1B2, name: 'm1', controller: true });
    expect(owned?.metadata.labels?.['cluster.x-k8s.io/cluster-name']).toBe('c1');

    const ready = await eventually(() => getB7Machine('m1'), (m) => m?.status?.ready === true && m.spec.providerID !== undefined, 'Beskar7Machine m1 ready', 150_000);
    expect(ready?.spec.providerID).toMatch(new RegExp(`^beskar7://${NS}/host-[01]$`));
    const machine = await eventually(() => getMachine('m1'), (m) => m?.status?.phase === 'Provisioned' && m.status.initialization?.infrastructureProvisioned === true, 'CAPI Machine m1 Provisioned', 90_000);
    expect(machine?.spec.providerID).toBe(ready?.spec.providerID);
    // The same Machine read as v1beta1 (what the shim reads, through CAPI's conversion webhook).
    const v1beta1 = await plane.api.get<KubeObject & { spec: { providerID?: string }; status?: { infrastructureReady?: boolean; bootstrapReady?: boolean; phase?: string } }>(CAPI_MACHINES, NS, 'm1');
    expect(v1beta1.status).toMatchObject({ infrastructureReady: true, phase: 'Provisioned' });
    expect(v1beta1.spec.providerID).toBe(ready?.spec.providerID);
    // The daemon provisioned it with the Machine's bootstrap data.
    const daemonMachine = await lab.d.api('GET', `/api/v1/machines/${NS}/m1`);
    expect((daemonMachine.body as { hasBootstrapData: boolean }).hasBootstrapData).toBe(true);
  }, 300_000);

  it('MachineSet: CAPI clones the Beskar7MachineTemplate into a Beskar7Machine for its Machine, which gets provisioned', async () => {
    await plane.api.create(MACHINE_TEMPLATES, NS, {
      apiVersion: GROUP_VERSION,
      kind: 'Beskar7MachineTemplate',
      metadata: { name: 'workers', namespace: NS },
      spec: { template: { spec: { image: lab.kexecImage, hardwareRequirements: { minCPUCores: 1 } } } },
    } as KubeObject);
    await plane.api.create(MACHINE_SETS, NS, {
      apiVersion: V1B2,
      kind: 'MachineSet',
      metadata: { name: 'workers', namespace: NS },
      spec: {
        clusterName: 'c1',
        replicas: 1,
        selector: { matchLabels: { pool: 'workers' } },
        template: {
          metadata: { labels: { pool: 'workers' } },
          spec: { clusterName: 'c1', bootstrap: { dataSecretName: 'bootstrap' }, infrastructureRef: { apiGroup: INFRA_GROUP, kind: 'Beskar7MachineTemplate', name: 'workers' } },
        },
      },
    } as KubeObject);
    const machines = await eventually(
      () => plane.api.list<CapiMachine>(MACHINES, NS, '?labelSelector=pool%3Dworkers'),
      (l) => l.items.length === 1 && l.items[0]?.spec.infrastructureRef?.kind === 'Beskar7Machine',
      'the MachineSet creates one Machine with a Beskar7Machine',
    );
    const name = machines.items[0]?.spec.infrastructureRef?.name ?? '';
    const cloned = await getB7Machine(name);
    expect(cloned?.metadata.annotations?.['cluster.x-k8s.io/cloned-from-name']).toBe('workers');
    expect(cloned?.spec.image).toMatchObject({ mode: 'kexec' });
    const machineName = machines.items[0]?.metadata.name ?? '';
    const machine = await eventually(() => getMachine(machineName), (m) => m?.status?.phase === 'Provisioned' && m.spec.providerID !== undefined, `MachineSet's Machine ${machineName} Provisioned`, 240_000);
    expect(machine?.spec.providerID).toMatch(new RegExp(`^beskar7://${NS}/host-[01]$`));
    const first = await getMachine('m1');
    expect(machine?.spec.providerID).not.toBe(first?.spec.providerID);
  }, 300_000);
});

describe.skipIf(status.state === 'skip')('clusterctl init --infrastructure beskar7 from a local repository', () => {
  let plane: ControlPlane;
  let logs: ReturnType<typeof logDir> | undefined;
  let output = '';

  beforeAll(async () => {
    build();
    logs = logDir('b7-clusterctl-');
    plane = await startControlPlane();
    await installCertManagerStandIns(plane);
  }, 120_000);

  afterAll(async () => {
    await plane?.stop();
    logs?.finish(failed, () => `--- clusterctl output ---\n${output}`);
  }, 60_000);

  it('installs the core provider and beskar7:v0.1.0, and records both in the clusterctl inventory', async () => {
    const capi = build();
    const dir = logs?.dir ?? '';
    const repo = join(dir, 'repository');
    const core = join(repo, 'cluster-api', capi.version);
    const infra = join(repo, 'infrastructure-beskar7', 'v0.1.0');
    mkdirSync(core, { recursive: true });
    mkdirSync(infra, { recursive: true });
    writeFileSync(join(core, 'core-components.yaml'), coreComponents(capi));
    writeFileSync(join(core, 'metadata.yaml'), coreMetadata(capi));
    for (const f of ['infrastructure-components.yaml', 'metadata.yaml']) copyFileSync(join(REPO, 'shim-operator', f), join(infra, f));
    const config = join(dir, 'clusterctl.yaml');
    writeFileSync(
      config,
      [
        'providers:',
        '  - name: cluster-api',
        '    type: CoreProvider',
        `    url: file://${core}/core-components.yaml`,
        '  - name: beskar7',
        '    type: InfrastructureProvider',
        `    url: file://${infra}/infrastructure-components.yaml`,
        'cert-manager:',
        '  externallyProvisioned: "true"',
        '  timeout: 30s',
        'BESKAR7_DAEMON_URL: "http://127.0.0.1:8082"',
        '',
      ].join('\n'),
    );
    const home = join(dir, 'home');
    mkdirSync(home);
    const started = Date.now();
    try {
      const result = await run(
        capi.clusterctl,
        ['init', '--config', config, '--kubeconfig', plane.kubeconfigPath, '--core', `cluster-api:${capi.version}`, '--infrastructure', 'beskar7:v0.1.0', '--bootstrap', '-', '--control-plane', '-', '-v', '3'],
        { env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), BESKAR7_DAEMON_TOKEN: 'b7_test_token', CLUSTERCTL_DISABLE_VERSIONCHECK: 'true', GITHUB_TOKEN: '' }, timeout: 180_000 },
      );
      output = `${result.stdout}\n${result.stderr}`;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      output = `${e.stdout ?? ''}\n${e.stderr ?? ''}`;
      throw new Error(`clusterctl init failed:\n${output.slice(-6000)}`, { cause: error });
    }
    console.info(`clusterctl init took ${Date.now() - started} ms`);

    const get = (path: string) => plane.api.request<KubeObject & Record<string, unknown>>('GET', path);
    // The provider's CRDs, Namespace, RBAC and Deployment (not ready: no kubelet here).
    const crds = await plane.api.list<KubeObject>(CRDS, undefined, '?labelSelector=cluster.x-k8s.io%2Fprovider%3Dinfrastructure-beskar7');
    expect(crds.items.map((c) => c.metadata.name).sort()).toEqual([
      'beskar7clusters.infrastructure.cluster.x-k8s.io',
      'beskar7clustertemplates.infrastructure.cluster.x-k8s.io',
      'beskar7machines.infrastructure.cluster.x-k8s.io',
      'beskar7machinetemplates.infrastructure.cluster.x-k8s.io',
      'physicalhosts.infrastructure.cluster.x-k8s.io',
    ]);
    await get('/api/v1/namespaces/beskar7-system');
    const deployment = await get('/apis/apps/v1/namespaces/beskar7-system/deployments/beskar7-shim');
    expect(deployment.metadata.labels?.['cluster.x-k8s.io/provider']).toBe('infrastructure-beskar7');
    const token = await get('/api/v1/namespaces/beskar7-system/secrets/beskar7-daemon-token');
    expect(JSON.stringify(token)).toContain(b64('b7_test_token'));
    const roles = await plane.api.list<KubeObject>({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', kind: 'ClusterRole' }, undefined, '?labelSelector=cluster.x-k8s.io%2Fprovider%3Dinfrastructure-beskar7');
    expect(roles.items.length).toBeGreaterThan(0);
    const bindings = await plane.api.list<KubeObject>({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterrolebindings', kind: 'ClusterRoleBinding' }, undefined, '?labelSelector=cluster.x-k8s.io%2Fprovider%3Dinfrastructure-beskar7');
    expect(bindings.items.length).toBeGreaterThan(0);
    await get('/api/v1/namespaces/beskar7-system/serviceaccounts/beskar7-shim');
    // The core provider too.
    await get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/machines.cluster.x-k8s.io');
    await get('/apis/apps/v1/namespaces/capi-system/deployments/capi-controller-manager');
    // clusterctl's inventory.
    const providers = await plane.api.list<KubeObject & { providerName: string; type: string; version: string }>({ group: 'clusterctl.cluster.x-k8s.io', version: 'v1alpha3', plural: 'providers', kind: 'Provider' });
    const inventory = providers.items.map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, providerName: p.providerName, type: p.type, version: p.version }));
    expect(inventory).toEqual(
      expect.arrayContaining([
        { namespace: 'beskar7-system', name: 'infrastructure-beskar7', providerName: 'beskar7', type: 'InfrastructureProvider', version: 'v0.1.0' },
        { namespace: 'capi-system', name: 'cluster-api', providerName: 'cluster-api', type: 'CoreProvider', version: capi.version },
      ]),
    );
    expect(inventory).toHaveLength(2);
    rmSync(home, { recursive: true, force: true });
  }, 240_000);
});
