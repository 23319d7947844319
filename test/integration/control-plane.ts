import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { startChild, type Child } from '../helpers/child.js';
import { freePort } from '../helpers/free-port.js';
import { KubeApi, type KubeObject } from '../../shim-operator/src/kube/kube-api.js';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..', '..');
const BUILD = join(REPO, 'shim-operator', 'test-env', 'build-control-plane.sh');

export interface ControlPlane {
  url: string;
  kubeconfigPath: string;
  config: KubeConfig;
  api: KubeApi;
  dir: string;
  /** Applies every CRD under shim-operator/config/crd/bases and waits until each is served. */
  installCrds(): Promise<string[]>;
  stop(): Promise<void>;
}

/** The binaries shim-operator/test-env/build-control-plane.sh built (and cached); fails loudly without them. */
export function controlPlaneBinaries(): string {
  let dir: string;
  try {
    dir = execFileSync('bash', [BUILD, '--print-dir'], { encoding: 'utf8' }).trim();
  } catch (error) {
    throw new Error(`cannot ask ${BUILD} where the control plane is: ${String(error)}`, { cause: error });
  }
  for (const binary of ['etcd', 'kube-apiserver']) {
    if (!existsSync(join(dir, binary))) throw new Error(`${join(dir, binary)} is missing: run bash ${BUILD} (npm run test:integration and .ci/install-test-deps.sh do)`);
  }
  return dir;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/**
 * etcd + kube-apiserver on loopback, as envtest starts them: a throwaway CA, a serving certificate
 * for 127.0.0.1, an admin client certificate in system:masters, RBAC on. Each process is ours, and
 * stopped by its PID.
 */
export async function startControlPlane(): Promise<ControlPlane> {
  const bin = controlPlaneBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'b7-kube-'));
  const pki = join(dir, 'pki');
  mkdirSync(pki);
  const children: Child[] = [];
  const stop = async () => {
    for (const child of children.reverse()) await child.stop(10_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await openssl(pki, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=beskar7-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
    writeFileSync(join(pki, 'serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
    writeFileSync(join(pki, 'client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
    await openssl(pki, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kube-apiserver', '-keyout', 'serving.key', '-out', 'serving.csr');
    await openssl(pki, 'x509', '-req', '-in', 'serving.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'serving.ext', '-out', 'serving.crt');
    await openssl(pki, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/O=system:masters/CN=beskar7-test-admin', '-keyout', 'admin.key', '-out', 'admin.csr');
    await openssl(pki, 'x509', '-req', '-in', 'admin.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'client.ext', '-out', 'admin.crt');
    await openssl(pki, 'genrsa', '-out', 'sa.key', '2048');
    await openssl(pki, 'rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');

    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcd = startChild('etcd', [
      join(bin, 'etcd'), '--name', 'test', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `test=http://127.0.0.1:${etcdPeer}`, '--unsafe-no-fsync', '--log-level', 'warn',
    ]);
    children.push(etcd);
    const url = `https://127.0.0.1:${apiPort}`;
    const apiserver = startChild('kube-apiserver', [
      join(bin, 'kube-apiserver'), '--etcd-servers', `http://127.0.0.1:${etcdClient}`,
      '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', String(apiPort),
      '--cert-dir', join(dir, 'apiserver-certs'), '--tls-cert-file', join(pki, 'serving.crt'), '--tls-private-key-file', join(pki, 'serving.key'),
      '--client-ca-file', join(pki, 'ca.crt'), '--authorization-mode', 'RBAC',
      '--service-account-key-file', join(pki, 'sa.pub'), '--service-account-signing-key-file', join(pki, 'sa.key'), '--service-account-issuer', url,
      '--service-cluster-ip-range', '10.96.0.0/24', '--disable-admission-plugins', 'ServiceAccount', '--allow-privileged=true',
    ]);
    children.push(apiserver);
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfigPath,
      `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "${url}", certificate-authority: "${join(pki, 'ca.crt')}"}
users:
- name: admin
  user: {client-certificate: "${join(pki, 'admin.crt')}", client-key: "${join(pki, 'admin.key')}"}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`,
    );
    const config = new KubeConfig();
    config.loadFromFile(kubeconfigPath);
    const api = new KubeApi(config);
    const deadline = Date.now() + 120_000;
    for (;;) {
      for (const child of [etcd, apiserver]) if (child.exit()) throw new Error(`${child.name} exited during start\n${child.tail()}`);
      const ready = await api.request<string>('GET', '/readyz').then(
        () => true,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`kube-apiserver not ready within 120 s\n${apiserver.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const installCrds = async () => {
      const crdDir = join(REPO, 'shim-operator', 'config', 'crd', 'bases');
      const names: string[] = [];
      for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort()) {
        const crd = parse(readFileSync(join(crdDir, file), 'utf8')) as KubeObject & { spec: { group: string; names: { plural: string }; versions: { name: string }[] } };
        await api.create({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition' }, undefined, crd).catch((error: unknown) => {
          throw new Error(`installing ${file}: ${(error as Error).message}`, { cause: error });
        });
        names.push(crd.metadata.name);
        const path = `/apis/${crd.spec.group}/${crd.spec.versions[0]?.name ?? 'v1beta1'}/${crd.spec.names.plural}`;
        const until = Date.now() + 30_000;
        while (!(await api.request('GET', path).then(() => true, () => false))) {
          if (Date.now() > until) throw new Error(`${crd.metadata.name} not served within 30 s`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      return names;
    };
    return { url, kubeconfigPath, config, api, dir, installCrds, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
