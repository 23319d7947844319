/**
 * Benchmark: N Beskar7Machines reconciled against emulated hosts, through a real kube-apiserver.
 *
 *   node --import tsx test/bench/shim-reconcile.ts [--short]
 *
 * One process holds the daemon (with N emulated BMCs and a simulated machine behind each, whose
 * firmware and ramdisk make the real HTTP calls) and the shim; etcd and kube-apiserver are their
 * own processes (shim-operator/test-env). It measures: N PhysicalHosts → all Available in the
 * daemon and their CRs; then N (Machine, bootstrap Secret, Beskar7Machine) → all ready; and the
 * Kubernetes API requests the shim made per machine in that second phase. No peer: no other
 * provider runs here to compare with.
 */
import path from 'node:path';
import { pino } from 'pino';
import { GROUP_VERSION } from '../../shim-operator/src/api/index.js';
import { BESKAR7_MACHINES, CAPI_CLUSTERS, CAPI_MACHINES } from '../../shim-operator/src/controllers/beskar7-machine-controller.js';
import { PHYSICAL_HOSTS } from '../../shim-operator/src/controllers/physical-host-controller.js';
import type { KubeObject, Resource } from '../../shim-operator/src/kube/kube-api.js';
import { ShimManager } from '../../shim-operator/src/manager.js';
import { startLab, type Lab } from '../helpers/lab.js';
import { simMac } from '../helpers/ramdisk-sim.js';
import { installCapiStandIns } from '../integration/capi-crds.js';
import { startControlPlane, type ControlPlane } from '../integration/control-plane.js';
import { isMain, runStandalone } from './standalone.js';
import { ROOT, failedRun, say, writeJson, type BenchOptions, type BenchSummary } from './summary.js';

const NAME = 'shim reconcile (Beskar7Machines -> ready)';
const OUTPUT = path.join(ROOT, 'test-output/bench-shim.json');
const SECRETS: Resource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
const NAMESPACES: Resource = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };
const NS = 'bench';
const CONCURRENCY = 16;
const b64 = (text: string) => Buffer.from(text).toString('base64');

interface Results {
  machines: number;
  hostsAvailableSeconds: number;
  machinesReadySeconds: number;
  kubeRequests: number;
  kubeRequestsPerMachine: number;
  kubeRequestsByVerb: Record<string, number>;
}

async function inParallel(count: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** Polls a list until `done` holds for it; the lists are what a user would watch with kubectl. */
async function until(plane: ControlPlane, resource: Resource, done: (items: KubeObject[]) => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const page = await plane.api.list<KubeObject>(resource, NS, '?limit=100000');
    if (done(page.items)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limitMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function run(machines: number, limitMs: number): Promise<Results> {
  let plane: ControlPlane | undefined;
  let lab: Lab | undefined;
  let shim: ShimManager | undefined;
  try {
    plane = await startControlPlane();
    await plane.installCrds();
    await installCapiStandIns(plane);
    await plane.api.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    lab = await startLab({ hosts: machines, overrides: ['log.level=warn', 'log.requests=false'] });
    const api = plane.api;
    shim = new ShimManager(
      plane.config,
      { daemons: [{ name: 'lab', url: lab.d.url, token: lab.d.token }], defaultDaemon: 'lab', leaseNamespace: 'default', leaseName: 'bench', identity: 'bench', workers: 16 },
      pino({ level: 'silent' }),
    );
    shim.start();
    await shim.leading;
    const started = performance.now();
    const activeLab = lab;
    await inParallel(machines, async (i) => {
      const bmc = activeLab.emulator.bmcs[i];
      if (!bmc) throw new Error(`no BMC ${i}`);
      await api.create(SECRETS, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `bmc-${i}`, namespace: NS }, data: { username: b64(bmc.username), password: b64(bmc.password) } } as KubeObject);
      await api.create(PHYSICAL_HOSTS, NS, {
        apiVersion: GROUP_VERSION,
        kind: 'PhysicalHost',
        metadata: { name: `host-${i}`, namespace: NS },
        spec: { redfishConnection: { address: bmc.url, credentialsSecretRef: `bmc-${i}` }, bootMACAddresses: [simMac(i)] },
      } as KubeObject);
    });
    await until(plane, PHYSICAL_HOSTS, (items) => items.length === machines && items.every((h) => (h as { status?: { state?: string } }).status?.state === 'Available'), limitMs, 'hosts Available');
    const hostsAvailableSeconds = (performance.now() - started) / 1000;
    say(`  ${machines} PhysicalHosts Available in ${hostsAvailableSeconds.toFixed(1)} s`);

    await api.create(CAPI_CLUSTERS, NS, { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', metadata: { name: 'c1', namespace: NS }, spec: {} } as KubeObject);
    const before = new Map(shim.api.requests);
    const machinesStarted = performance.now();
    const image = { mode: 'kexec', kernel: activeLab.kexecImage.kernel, initrd: activeLab.kexecImage.initrd, cmdline: '' };
    await inParallel(machines, async (i) => {
      const name = `m-${i}`;
      await api.create(SECRETS, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-bootstrap`, namespace: NS }, data: { value: b64('#cloud-config\n') } } as KubeObject);
      const capi = await api.create<KubeObject>(CAPI_MACHINES, NS, {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'Machine',
        metadata: { name, namespace: NS },
        spec: { clusterName: 'c1', bootstrap: { dataSecretName: `${name}-bootstrap` }, infrastructureRef: { apiVersion: GROUP_VERSION, kind: 'Beskar7Machine', name } },
      } as KubeObject);
      await api.create(BESKAR7_MACHINES, NS, {
        apiVersion: GROUP_VERSION,
        kind: 'Beskar7Machine',
        metadata: { name, namespace: NS, ownerReferences: [{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Machine', name, uid: capi.metadata.uid ?? '', controller: true }] },
        spec: { image },
      } as KubeObject);
    });
    await until(plane, BESKAR7_MACHINES, (items) => items.length === machines && items.every((m) => (m as { status?: { ready?: boolean } }).status?.ready === true), limitMs, 'machines ready');
    const machinesReadySeconds = (performance.now() - machinesStarted) / 1000;
    const byVerb: Record<string, number> = {};
    for (const [verb, count] of shim.api.requests) byVerb[verb] = count - (before.get(verb) ?? 0);
    const kubeRequests = Object.values(byVerb).reduce((a, b) => a + b, 0);
    return { machines, hostsAvailableSeconds, machinesReadySeconds, kubeRequests, kubeRequestsPerMachine: kubeRequests / machines, kubeRequestsByVerb: byVerb };
  } finally {
    await shim?.stop();
    await lab?.stop();
    await plane?.stop();
  }
}

export async function runShimBench(options: BenchOptions): Promise<BenchSummary<Results[]>> {
  const sizes = options.short ? [50] : [1000];
  try {
    const results: Results[] = [];
    for (const size of sizes) {
      say(`shim: ${size} machines`);
      results.push(await run(size, options.short ? 180_000 : 1_200_000));
    }
    await writeJson(OUTPUT, { ok: true, results });
    const table = [
      'machines | hosts Available | machines ready | k8s requests (shim) | per machine | by verb',
      ...results.map((r) => `${r.machines} | ${r.hostsAvailableSeconds.toFixed(1)} s | ${r.machinesReadySeconds.toFixed(1)} s | ${r.kubeRequests} | ${r.kubeRequestsPerMachine.toFixed(1)} | ${Object.entries(r.kubeRequestsByVerb).map(([v, n]) => `${v} ${n}`).join(', ')}`),
    ].join('\n');
    return { name: NAME, ok: true, tables: [table], failures: [], warnings: [], outputFile: path.relative(ROOT, OUTPUT), results };
  } catch (error) {
    return failedRun(NAME, OUTPUT, error);
  }
}

if (isMain(import.meta.url)) process.exit(await runStandalone('node --import tsx test/bench/shim-reconcile.ts', runShimBench));
