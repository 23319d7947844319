import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import {
  GROUP_VERSION,
  beskar7ClusterSchema,
  beskar7ClusterTemplateSchema,
  beskar7MachineSchema,
  beskar7MachineTemplateSchema,
  physicalHostSchema,
  type Beskar7Cluster,
  type Beskar7MachineTemplate,
  type PhysicalHost,
} from '../../../shim-operator/src/api/index.js';
import { ZONE_LABEL } from '../../../shim-operator/src/controllers/machine-mapping.js';

// The simple-cluster example: every object parses, is of a kind the example means to use, and, for
// the provider's own kinds, passes the zod schemas the CRDs are generated from (so the apiserver
// takes it too). The Cluster API objects are checked for what this provider depends on: their
// references resolve, and kubeadm gives the kubelet the provider-id from the daemon's meta-data.

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: unknown };
interface Ref {
  apiVersion: string;
  kind: string;
  name: string;
}
interface NodeRegistration {
  name?: string;
  kubeletExtraArgs?: Record<string, string>;
}

const repoRoot = join(import.meta.dirname, '../../..');
const DIR = 'shim-operator/examples/simple-cluster';
const files = readdirSync(join(repoRoot, DIR))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const documents = files.flatMap((file) => parseAllDocuments(readFileSync(join(repoRoot, DIR, file), 'utf8')).map((doc, index) => ({ file, index, doc })));
const objects = documents.map(({ file, doc }) => ({ file, object: doc.toJS() as Obj }));
const all = objects.map((o) => o.object);
const ofKind = <T = Obj>(kind: string): (T & Obj)[] => all.filter((o) => o.kind === kind) as (T & Obj)[];
const one = <T = Obj>(kind: string, name?: string): T & Obj => {
  const found = ofKind<T>(kind).filter((o) => name === undefined || o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''} in the example, found ${found.length}`);
  return found[0] as T & Obj;
};
const resolve = (ref: Ref): Obj | undefined => all.find((o) => o.apiVersion === ref.apiVersion && o.kind === ref.kind && o.metadata.name === ref.name);

const CAPI = 'cluster.x-k8s.io/v1beta1';
const KCP = 'controlplane.cluster.x-k8s.io/v1beta1';
const BOOTSTRAP = 'bootstrap.cluster.x-k8s.io/v1beta1';

/** Each kind the example may use, and how many of it a complete simple-cluster has. */
const EXPECTED: Record<string, number> = {
  'v1 Namespace': 1,
  'v1 Secret': 3,
  [`${GROUP_VERSION} PhysicalHost`]: 3,
  [`${CAPI} Cluster`]: 1,
  [`${GROUP_VERSION} Beskar7Cluster`]: 1,
  [`${GROUP_VERSION} Beskar7MachineTemplate`]: 2,
  [`${KCP} KubeadmControlPlane`]: 1,
  [`${BOOTSTRAP} KubeadmConfigTemplate`]: 1,
  [`${CAPI} MachineDeployment`]: 1,
};

/** The provider's kinds and their schemas; an example object of one of them must pass. */
const SCHEMAS: Record<string, z.ZodType> = {
  PhysicalHost: physicalHostSchema,
  Beskar7Machine: beskar7MachineSchema,
  Beskar7MachineTemplate: beskar7MachineTemplateSchema,
  Beskar7Cluster: beskar7ClusterSchema,
  Beskar7ClusterTemplate: beskar7ClusterTemplateSchema,
};

describe('examples/simple-cluster', () => {
  it('is YAML without errors, warnings or empty documents', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const { file, index, doc } of documents) {
      expect(doc.errors, `${file} #${index + 1}`).toEqual([]);
      expect(doc.warnings, `${file} #${index + 1}`).toEqual([]);
      expect(doc.contents, `${file} #${index + 1}`).not.toBeNull();
    }
  });

  it('uses only the expected kinds, each as often as a complete cluster needs', () => {
    const counts: Record<string, number> = {};
    for (const { file, object } of objects) {
      const key = `${object.apiVersion} ${object.kind}`;
      expect(Object.keys(EXPECTED), `${file}: ${key}`).toContain(key);
      counts[key] = (counts[key] ?? 0) + 1;
    }
    expect(counts).toEqual(EXPECTED);
  });

  it('validates every infrastructure.cluster.x-k8s.io object with the provider\'s schemas', () => {
    const infra = objects.filter(({ object }) => object.apiVersion.startsWith('infrastructure.cluster.x-k8s.io/'));
    expect(infra.length).toBe(6);
    for (const { file, object } of infra) {
      expect(object.apiVersion, `${file}: ${object.kind}`).toBe(GROUP_VERSION);
      const schema = SCHEMAS[object.kind];
      expect(schema, `${file}: no schema for ${object.kind}`).toBeDefined();
      const result = schema?.safeParse(object);
      expect(result?.success, `${file}: ${object.kind} ${object.metadata.name}: ${JSON.stringify(result?.error?.issues)}`).toBe(true);
    }
  });

  it('puts every object in the example\'s namespace, with unique names per kind', () => {
    const namespace = one('Namespace').metadata.name;
    const ids = new Set<string>();
    for (const { file, object } of objects) {
      if (object.kind === 'Namespace') continue;
      expect(object.metadata.namespace, `${file}: ${object.kind} ${object.metadata.name}`).toBe(namespace);
      const id = `${object.kind}/${object.metadata.name}`;
      expect(ids.has(id), `${id} twice`).toBe(false);
      ids.add(id);
    }
  });

  it('gives every PhysicalHost a credentials Secret with username and password, and a zone of its own', () => {
    const hosts = ofKind<PhysicalHost>('PhysicalHost');
    for (const host of hosts) {
      const secretName = host.spec.redfishConnection?.credentialsSecretRef;
      const secret = ofKind<{ stringData?: Record<string, string> }>('Secret').find((s) => s.metadata.name === secretName);
      expect(secret, `${host.metadata.name}: Secret ${secretName}`).toBeDefined();
      expect(Object.keys(secret?.stringData ?? {}).sort()).toEqual(['password', 'username']);
    }
    const zones = hosts.map((h) => h.metadata.labels?.[ZONE_LABEL]);
    expect(zones.every((z) => typeof z === 'string' && z !== '')).toBe(true);
    expect(new Set(zones).size).toBe(hosts.length);
  });

  it('wires the Cluster to its control plane and infrastructure, with an explicit endpoint', () => {
    const cluster = one<{ spec: { controlPlaneRef: Ref; infrastructureRef: Ref } }>('Cluster');
    expect(resolve(cluster.spec.controlPlaneRef)?.kind).toBe('KubeadmControlPlane');
    expect(resolve(cluster.spec.infrastructureRef)?.kind).toBe('Beskar7Cluster');
    // KubeadmControlPlane creates no machine until the Cluster has an endpoint, so it must be given.
    const infra = resolve(cluster.spec.infrastructureRef) as Beskar7Cluster & Obj;
    expect(infra.spec.controlPlaneEndpoint?.host).toMatch(/\S/);
    expect(infra.spec.controlPlaneEndpoint?.port).toBe(6443);
  });

  it('wires the control plane and the workers to their templates, in the same Kubernetes version', () => {
    const cluster = one('Cluster');
    const kcp = one<{ spec: { replicas: number; version: string; machineTemplate: { infrastructureRef: Ref } } }>('KubeadmControlPlane');
    const md = one<{ spec: { clusterName: string; replicas: number; template: { spec: { clusterName: string; version: string; bootstrap: { configRef: Ref }; infrastructureRef: Ref } } } }>(
      'MachineDeployment',
    );
    expect(resolve(kcp.spec.machineTemplate.infrastructureRef)?.kind).toBe('Beskar7MachineTemplate');
    expect(resolve(md.spec.template.spec.infrastructureRef)?.kind).toBe('Beskar7MachineTemplate');
    expect(resolve(md.spec.template.spec.bootstrap.configRef)?.kind).toBe('KubeadmConfigTemplate');
    expect(md.spec.clusterName).toBe(cluster.metadata.name);
    expect(md.spec.template.spec.clusterName).toBe(cluster.metadata.name);
    expect(md.spec.template.spec.version).toBe(kcp.spec.version);
    expect(kcp.spec.version).toMatch(/^v1\.\d+\.\d+$/);
    // One server per machine: the templates' selectors must find enough hosts between them.
    const hosts = ofKind<PhysicalHost>('PhysicalHost');
    const matching = (template: Ref) => {
      const selector = (resolve(template) as Beskar7MachineTemplate & Obj).spec.template.spec.hostSelector?.matchLabels ?? {};
      return hosts.filter((h) => Object.entries(selector).every(([k, v]) => h.metadata.labels?.[k] === v));
    };
    const pool = new Set([...matching(kcp.spec.machineTemplate.infrastructureRef), ...matching(md.spec.template.spec.infrastructureRef)]);
    expect(pool.size).toBeGreaterThanOrEqual(kcp.spec.replicas + md.spec.replicas);
  });

  it('shows both image forms: kernel + initrd with sha256, and the seed\'s targetImageURL with its sha256', () => {
    const templates = ofKind<Beskar7MachineTemplate>('Beskar7MachineTemplate').map((t) => t.spec.template.spec);
    const kexec = templates.find((t) => t.image?.mode === 'kexec')?.image;
    expect(kexec?.mode === 'kexec' && kexec.kernel?.sha256 !== undefined && kexec.initrd?.sha256 !== undefined && kexec.tarball === undefined).toBe(true);
    expect(templates.find((t) => t.targetImageURL !== undefined)?.targetImageSHA256).toBeDefined();
    // Placeholders, never something that could pass for a real digest.
    const digests = JSON.stringify(templates).match(/"(sha256|targetImageSHA256)":"[^"]*"/g) ?? [];
    expect(digests.length).toBe(3);
    for (const d of digests) expect(d).toMatch(/:"0{64}"$/);
  });

  it('gives every kubelet its provider-id and node name from the daemon\'s NoCloud meta-data', () => {
    const kcp = one<{ spec: { kubeadmConfigSpec: { format?: string; initConfiguration: { nodeRegistration: NodeRegistration }; joinConfiguration: { nodeRegistration: NodeRegistration } } } }>(
      'KubeadmControlPlane',
    );
    const workers = one<{ spec: { template: { spec: { format?: string; joinConfiguration: { nodeRegistration: NodeRegistration } } } } }>('KubeadmConfigTemplate');
    const registrations = [
      kcp.spec.kubeadmConfigSpec.initConfiguration.nodeRegistration,
      kcp.spec.kubeadmConfigSpec.joinConfiguration.nodeRegistration,
      workers.spec.template.spec.joinConfiguration.nodeRegistration,
    ];
    // cloud-init offers meta-data keys to Jinja with "-" turned into "_".
    const jinja = (key: string) => `{{ ds.meta_data.${key.replaceAll('-', '_')} }}`;
    for (const registration of registrations) {
      expect(registration.kubeletExtraArgs?.['provider-id']).toBe(jinja('provider-id'));
      expect(registration.name).toBe(jinja('local-hostname'));
    }
    expect(kcp.spec.kubeadmConfigSpec.format).toBe('cloud-config');
    expect(workers.spec.template.spec.format).toBe('cloud-config');
    // The keys the daemon's meta-data carries (daemon/lifecycle/ramdisk-service.ts, metaData()).
    const daemonSource = readFileSync(join(repoRoot, 'daemon/lifecycle/ramdisk-service.ts'), 'utf8');
    for (const key of ['provider-id', 'local-hostname']) expect(daemonSource).toContain(`\\n${key}: `);
  });

  it('is explained file by file in its README', () => {
    const readme = readFileSync(join(repoRoot, DIR, 'README.md'), 'utf8');
    for (const file of files) expect(readme, file).toContain(`\`${file}\``);
  });
});
