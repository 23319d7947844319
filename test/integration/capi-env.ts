import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { freePort } from '../helpers/free-port.js';
import type { KubeObject, Resource } from '../../shim-operator/src/kube/kube-api.js';
import type { ControlPlane } from './control-plane.js';

// Cluster API's real core controllers and clusterctl, as shim-operator/test-env/build-capi.sh built
// them from the Go module proxy, against the test control plane of control-plane.ts.

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..', '..');
export const CAPI_BUILD_SCRIPT = join(REPO, 'shim-operator', 'test-env', 'build-capi.sh');
export const CRDS: Resource = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition' };

export interface CapiBuild {
  version: string;
  dir: string;
  manager: string;
  clusterctl: string;
  /** core/config/crd/bases of the module. */
  crds: string;
  /** core/config of the module, plus its metadata.yaml. */
  config: string;
}

export type CapiStatus = { state: 'ready'; build: CapiBuild } | { state: 'skip'; reason: string } | { state: 'missing'; reason: string };

/** The first real proxy of GOPROXY (not "direct"/"off"), or undefined when there is none. */
function goProxy(): { proxy?: string; setting: string } {
  let value = process.env.GOPROXY;
  if (value === undefined) {
    try {
      value = execFileSync('go', ['env', 'GOPROXY'], { encoding: 'utf8', timeout: 20_000 }).trim();
    } catch {
      value = 'https://proxy.golang.org';
    }
  }
  return { proxy: value.split(/[,|]/).map((p) => p.trim()).find((p) => p !== '' && p !== 'direct' && p !== 'off'), setting: value };
}

async function proxyReachable(proxy: string): Promise<boolean> {
  try {
    const response = await fetch(`${proxy.replace(/\/$/, '')}/sigs.k8s.io/cluster-api/@v/list`, { signal: AbortSignal.timeout(15_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Whether the CAPI binaries are there. Missing binaries are an error (the build was not run), except
 * where the Go module proxy is unreachable: then the build cannot run here and the tests skip.
 */
export async function capiStatus(): Promise<CapiStatus> {
  const dir = execFileSync('bash', [CAPI_BUILD_SCRIPT, '--print-dir'], { encoding: 'utf8' }).trim();
  const build: CapiBuild = {
    version: basename(dir),
    dir,
    manager: join(dir, 'bin', 'manager'),
    clusterctl: join(dir, 'bin', 'clusterctl'),
    crds: join(dir, 'crds'),
    config: join(dir, 'config'),
  };
  const missing = [build.manager, build.clusterctl, join(build.crds, 'cluster.x-k8s.io_machines.yaml'), join(build.config, 'metadata.yaml')].filter((f) => !existsSync(f));
  if (missing.length === 0) return { state: 'ready', build };
  const { proxy, setting } = goProxy();
  if (proxy === undefined || !(await proxyReachable(proxy))) {
    return {
      state: 'skip',
      reason: `SKIPPED: Cluster API ${build.version} is not built (${missing.join(', ')} missing) and the Go module proxy (GOPROXY=${setting}) is unreachable, so shim-operator/test-env/build-capi.sh cannot build it here`,
    };
  }
  return { state: 'missing', reason: `${missing.join(', ')} missing: run bash ${CAPI_BUILD_SCRIPT} (needs the Go module proxy; ≈10 min on 2 cores the first time)` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A throwaway CA and a serving certificate for 127.0.0.1, as controller-runtime's webhook server reads them. */
export async function makeWebhookCerts(dir: string): Promise<{ certDir: string; caBundle: string }> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=capi-webhook-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  writeFileSync(join(dir, 'serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=capi-webhook', '-keyout', 'tls.key', '-out', 'tls.csr');
  await openssl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'serving.ext', '-out', 'tls.crt');
  return { certDir: dir, caBundle: readFileSync(join(dir, 'ca.crt')).toString('base64') };
}

type Crd = KubeObject & { spec: { group: string; names: { plural: string; kind: string }; versions: { name: string; storage: boolean }[]; conversion?: unknown } };

async function waitServed(plane: ControlPlane, crd: Crd): Promise<void> {
  const version = crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name;
  const path = `/apis/${crd.spec.group}/${version}/${crd.spec.names.plural}`;
  const until = Date.now() + 30_000;
  while (!(await plane.api.request('GET', path).then(() => true, () => false))) {
    if (Date.now() > until) throw new Error(`${crd.metadata.name} not served within 30 s`);
    await sleep(100);
  }
}

export function readCrds(dir: string): Crd[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJSON() as Crd | null))
    .filter((c): c is Crd => c?.kind === 'CustomResourceDefinition');
}

/** The CRDs whose kustomize patch (config/crd/patches/webhook_in_<plural>.yaml) turns on the conversion webhook. */
function convertedPlurals(build: CapiBuild): Set<string> {
  const patches = join(build.config, 'crd', 'patches');
  return new Set(existsSync(patches) ? readdirSync(patches).flatMap((f) => /^webhook_in_(.+)\.yaml$/.exec(f)?.[1] ?? []) : []);
}

/**
 * The core CRDs, with the conversion webhook (that kustomize's patches add, pointing at a Service)
 * pointed at the manager's webhook server on loopback instead, and the module's validating and
 * mutating webhook configurations likewise. Without the conversion webhook, v1beta1 reads of
 * v1beta2-stored Machines (the shim's informers) would fail.
 */
export async function installCapiCore(plane: ControlPlane, build: CapiBuild, webhook: { url: string; caBundle: string }): Promise<string[]> {
  const converted = convertedPlurals(build);
  const crds = readCrds(build.crds);
  for (const crd of crds) {
    if (converted.has(crd.spec.names.plural)) {
      crd.spec.conversion = { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v1'], clientConfig: { url: `${webhook.url}/convert`, caBundle: webhook.caBundle } } };
    }
    await plane.api.create(CRDS, undefined, crd);
  }
  for (const crd of crds) await waitServed(plane, crd);
  const manifests = parseAllDocuments(readFileSync(join(build.config, 'webhook', 'manifests.yaml'), 'utf8')).map((d) => d.toJSON() as (KubeObject & { webhooks: { clientConfig: { service?: { path: string }; url?: string; caBundle?: string } }[] }) | null);
  for (const config of manifests) {
    if (!config) continue;
    for (const hook of config.webhooks) {
      hook.clientConfig = { url: `${webhook.url}${hook.clientConfig.service?.path ?? ''}`, caBundle: webhook.caBundle };
    }
    config.metadata.name = `capi-${config.metadata.name}`;
    const kind = config.kind === 'MutatingWebhookConfiguration' ? 'MutatingWebhookConfiguration' : 'ValidatingWebhookConfiguration';
    await plane.api.create({ group: 'admissionregistration.k8s.io', version: 'v1', plural: `${kind.toLowerCase()}s`, kind }, undefined, config);
  }
  return crds.map((c) => c.metadata.name);
}

export interface CapiManager {
  pid: number;
  logPath: string;
  log(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * The real core manager (Cluster, Machine, MachineSet, ... controllers and the webhooks), as a child
 * process of ours; its output goes to a file so that it can be kept when a test fails.
 */
export async function startCapiManager(plane: ControlPlane, build: CapiBuild, options: { certDir: string; webhookPort: number; logDir: string }): Promise<CapiManager> {
  const healthPort = await freePort();
  const logPath = join(options.logDir, 'capi-manager.log');
  const fd = openSync(logPath, 'a');
  const args = [
    '--leader-elect=false',
    '--diagnostics-address=0', // no metrics/diagnostics listener
    `--health-addr=127.0.0.1:${healthPort}`,
    `--webhook-port=${options.webhookPort}`,
    `--webhook-cert-dir=${options.certDir}`,
    '--feature-gates=ClusterTopology=false,RuntimeSDK=false,MachinePool=true',
    '--sync-period=1m',
    '--v=2',
  ];
  writeFileSync(fd, `# ${build.manager} ${args.join(' ')}\n`);
  let child: ChildProcess;
  try {
    child = spawn(build.manager, args, { stdio: ['ignore', fd, fd], env: { ...process.env, KUBECONFIG: plane.kubeconfigPath, POD_NAMESPACE: 'capi-system', POD_NAME: 'capi-test' } });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${build.manager}`);
  let exit: string | undefined;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', (code, signal) => resolve(void (exit = `code ${code}, signal ${signal}`))));
  child.once('error', () => undefined);
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const stop = async () => {
    if (exit) return;
    child.kill('SIGTERM');
    const timedOut = await Promise.race([exitedPromise.then(() => false), sleep(15_000).then(() => true)]);
    if (timedOut) {
      child.kill('SIGKILL');
      await exitedPromise;
    }
  };
  const manager: CapiManager = { pid, logPath, log, exited: () => exit !== undefined, stop };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exit) throw new Error(`the CAPI manager exited during start (${exit})\n${log().slice(-6000)}`);
    const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ready) return manager;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the CAPI manager was not ready within 120 s\n${log().slice(-6000)}`);
    }
    await sleep(250);
  }
}

/** A temp dir for logs: removed when the run passed, kept (and named) when it failed. */
export function logDir(prefix: string): { dir: string; finish(failed: boolean, what: () => string): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    finish(failed, what) {
      if (failed) {
        console.error(`${what()}\n(logs kept in ${dir})`);
        return;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- clusterctl ---------------------------------------------------------------------------------------

/**
 * Stand-ins for cert-manager's Issuer and Certificate CRDs (schema-less): clusterctl init checks that
 * cert-manager's API answers by creating and deleting a test Issuer and Certificate; with
 * `cert-manager.externallyProvisioned: true` in its config it then leaves cert-manager alone.
 */
export async function installCertManagerStandIns(plane: ControlPlane): Promise<void> {
  for (const [kind, plural] of [
    ['Issuer', 'issuers'],
    ['Certificate', 'certificates'],
  ] as const) {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.cert-manager.io` },
      spec: {
        group: 'cert-manager.io',
        scope: 'Namespaced',
        names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
        versions: [{ name: 'v1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    } as unknown as Crd;
    await plane.api.create(CRDS, undefined, crd);
    await waitServed(plane, crd);
  }
}

/**
 * core-components.yaml for a local clusterctl repository, made from the module's core/config the way
 * its kustomization does (namespace capi-system, name prefix capi-, provider label), without the
 * webhook and cert-manager parts: the Namespace, the CRDs, the RBAC and the manager Deployment.
 * (CAPI's release assets are built by kustomize and are not in the Go module.)
 */
export function coreComponents(build: CapiBuild): string {
  const NAMESPACE = 'capi-system';
  const label = { 'cluster.x-k8s.io/provider': 'cluster-api' };
  const docs = (file: string) =>
    parseAllDocuments(readFileSync(join(build.config, file), 'utf8'))
      .map((d) => d.toJSON() as (KubeObject & Record<string, unknown>) | null)
      .filter((o): o is KubeObject & Record<string, unknown> => o !== null);
  const objects: (KubeObject & Record<string, unknown>)[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }, ...(readCrds(build.crds) as unknown as (KubeObject & Record<string, unknown>)[])];
  const rbac = ['role.yaml', 'aggregated_role.yaml', 'role_binding.yaml', 'service_account.yaml', 'leader_election_role.yaml', 'leader_election_role_binding.yaml'].flatMap((f) =>
    existsSync(join(build.config, 'rbac', f)) ? docs(join('rbac', f)) : [],
  );
  objects.push(...rbac, ...docs(join('manager', 'manager.yaml')));
  const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
  for (const o of objects) {
    o.metadata.labels = { ...o.metadata.labels, ...label };
    if (o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition') continue;
    o.metadata.name = `capi-${o.metadata.name}`;
    if (!clusterScoped.has(o.kind ?? '')) o.metadata.namespace = NAMESPACE;
    const spec = o as { subjects?: { kind: string; name: string; namespace?: string }[]; roleRef?: { name: string }; spec?: { template?: { spec?: { serviceAccountName?: string; containers?: { image?: string }[] } } } };
    for (const s of spec.subjects ?? []) {
      if (s.kind === 'ServiceAccount') Object.assign(s, { name: `capi-${s.name}`, namespace: NAMESPACE });
    }
    if (spec.roleRef) spec.roleRef.name = `capi-${spec.roleRef.name}`;
    const pod = spec.spec?.template?.spec;
    if (pod?.serviceAccountName) pod.serviceAccountName = `capi-${pod.serviceAccountName}`;
    for (const c of pod?.containers ?? []) c.image = `registry.k8s.io/cluster-api/cluster-api-controller:${build.version}`;
  }
  return objects.map((o) => stringify(o)).join('---\n');
}

/** The provider's metadata.yaml (clusterctl.cluster.x-k8s.io Metadata) of the core module. */
export function coreMetadata(build: CapiBuild): string {
  return readFileSync(join(build.config, 'metadata.yaml'), 'utf8');
}

