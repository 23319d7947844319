import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { hostStates } from '../../../daemon/core/schemas/host.js';
import { inspectionReportSchema as daemonInspectionReportSchema } from '../../../daemon/core/schemas/ramdisk.js';
import {
  beskar7ClusterSchema,
  beskar7ClusterTemplateSchema,
  beskar7MachineSchema,
  beskar7MachineTemplateSchema,
  inspectionReportSchema,
  physicalHostSchema,
} from '../../../shim-operator/src/api/index.js';
import { type CustomResourceDefinition, buildCrds } from '../../../shim-operator/src/api/crd.js';
import { renderCrdFiles } from '../../../shim-operator/src/api/crd-files.js';
import { StructuralSchemaError, toStructuralSchema } from '../../../shim-operator/src/api/structural-schema.js';

// Loosely typed on purpose: these checks read the generated CRDs as the apiserver would, as plain JSON.
type Node = Record<string, unknown>;

const repoRoot = join(import.meta.dirname, '../../..');
const crds = buildCrds();
const crdOf = (kind: string): CustomResourceDefinition => {
  const crd = crds.find((c) => c.spec.names.kind === kind);
  if (!crd) throw new Error(`no CRD for ${kind}`);
  return crd;
};
const rootSchemaOf = (kind: string): Node => crdOf(kind).spec.versions[0]?.schema.openAPIV3Schema as unknown as Node;

const SHA = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const GV = 'infrastructure.cluster.x-k8s.io/v1beta1';

/** Every schema node with its path; `.*` is a map value, `[*]` an array item. */
function* walk(node: Node, path: string): Generator<[string, Node]> {
  yield [path, node];
  for (const [name, child] of Object.entries((node.properties as Record<string, Node> | undefined) ?? {})) yield* walk(child, `${path}.${name}`);
  if (typeof node.additionalProperties === 'object' && node.additionalProperties !== null) yield* walk(node.additionalProperties as Node, `${path}.*`);
  if (node.items) yield* walk(node.items as Node, `${path}[*]`);
}

/** The schema node a dotted path (e.g. `.status.machineRef.name`, `[*]` for array items) leads to. */
function nodeAt(root: Node, path: string): Node | undefined {
  let node: Node | undefined = root;
  for (const step of path.replace(/\[\*\]/g, '.[*]').split('.').filter(Boolean)) {
    if (!node) return undefined;
    if (step === '[*]') node = node.items as Node | undefined;
    else if (step === '*') node = node.additionalProperties as Node | undefined;
    else node = (node.properties as Record<string, Node> | undefined)?.[step];
  }
  return node;
}

function structuralProblems(root: Node): string[] {
  const problems: string[] = [];
  const forbidden = ['$ref', '$schema', '$defs', 'definitions', 'dependencies', 'patternProperties', 'additionalItems', 'propertyNames', 'const', 'id'];
  // The generator emits no logical junctors; if one appears, the skeleton rules for junctors apply and this test must grow.
  const junctors = ['allOf', 'anyOf', 'oneOf', 'not'];
  for (const [path, node] of walk(root, '')) {
    if (path === '.metadata') {
      if (JSON.stringify(node) !== '{"type":"object"}') problems.push(`${path}: metadata must be just {type: object}`);
      continue;
    }
    if (!['object', 'array', 'string', 'integer', 'number', 'boolean'].includes(node.type as string)) problems.push(`${path}: type ${JSON.stringify(node.type)}`);
    for (const key of [...forbidden, ...junctors]) if (key in node) problems.push(`${path}: has ${key}`);
    if (node.additionalProperties === false || node.additionalProperties === true) problems.push(`${path}: additionalProperties is boolean`);
    if (node.properties && node.additionalProperties) problems.push(`${path}: properties with additionalProperties`);
    if (node.uniqueItems === true) problems.push(`${path}: uniqueItems`);
    if (node['x-kubernetes-preserve-unknown-fields'] !== undefined) problems.push(`${path}: free-form (preserve-unknown-fields)`);
    if (node['x-kubernetes-int-or-string'] !== undefined) problems.push(`${path}: int-or-string`);
    if (node.type === 'integer' && node.format !== 'int32' && node.format !== 'int64') problems.push(`${path}: integer without int32/int64 format`);
    if (node.type === 'array' && !node.items) problems.push(`${path}: array without items`);
    if (typeof node.pattern === 'string' && /\(\?[=!<]|\\[1-9]/.test(node.pattern)) problems.push(`${path}: pattern uses lookaround or backreferences (not RE2)`);
    if (node['x-kubernetes-list-type'] === 'map') {
      const keys = (node['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
      const required = ((node.items as Node | undefined)?.required as string[] | undefined) ?? [];
      if (keys.length === 0 || !keys.every((k) => required.includes(k))) problems.push(`${path}: list-map keys must be required in the items`);
    }
    for (const required of (node.required as string[] | undefined) ?? []) {
      if (!(node.properties as Node | undefined)?.[required]) problems.push(`${path}: requires undeclared ${required}`);
    }
  }
  return problems;
}

/**
 * The apiserver's structural validation minus CEL: enough to prove an object zod accepts is accepted
 * and kept whole (nothing pruned) by the generated schema.
 */
function schemaProblems(node: Node, value: unknown, path: string): string[] {
  if (value === null) return node.nullable === true ? [] : [`${path}: null`];
  const problems: string[] = [];
  const type = node.type as string;
  const actual = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (!(actual === type || (type === 'number' && actual === 'integer'))) return [`${path}: is ${actual}, schema says ${type}`];
  if (node.enum && !(node.enum as unknown[]).includes(value)) problems.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === 'string') {
    if (typeof node.pattern === 'string' && !new RegExp(node.pattern).test(value)) problems.push(`${path}: does not match ${node.pattern}`);
    if (typeof node.maxLength === 'number' && value.length > node.maxLength) problems.push(`${path}: too long`);
    if (typeof node.minLength === 'number' && value.length < node.minLength) problems.push(`${path}: too short`);
  }
  if (typeof value === 'number') {
    if (typeof node.minimum === 'number' && (node.exclusiveMinimum ? value <= node.minimum : value < node.minimum)) problems.push(`${path}: below minimum`);
    if (typeof node.maximum === 'number' && (node.exclusiveMaximum ? value >= node.maximum : value > node.maximum)) problems.push(`${path}: above maximum`);
  }
  if (Array.isArray(value)) {
    if (typeof node.maxItems === 'number' && value.length > node.maxItems) problems.push(`${path}: too many items`);
    value.forEach((item, i) => problems.push(...schemaProblems(node.items as Node, item, `${path}[${i}]`)));
  } else if (type === 'object') {
    const object = value as Record<string, unknown>;
    const properties = node.properties as Record<string, Node> | undefined;
    for (const required of (node.required as string[] | undefined) ?? []) if (!(required in object)) problems.push(`${path}.${required}: required`);
    for (const [key, child] of Object.entries(object)) {
      const childSchema = properties?.[key] ?? (node.additionalProperties as Node | undefined);
      if (!childSchema) problems.push(`${path}.${key}: unknown field (the apiserver would prune it)`);
      else problems.push(...schemaProblems(childSchema, child, `${path}.${key}`));
    }
  }
  return problems;
}

/** Property paths of a JSON Schema, for comparing two schemas' shapes. */
function fieldPaths(node: Node, path = ''): string[] {
  const properties = (node.properties as Record<string, Node> | undefined) ?? {};
  const items = node.items as Node | undefined;
  return [
    ...Object.entries(properties).flatMap(([name, child]) => [`${path}.${name}`, ...fieldPaths(child, `${path}.${name}`)]),
    ...(items ? fieldPaths(items, `${path}[*]`) : []),
  ].sort();
}

// Seed manifests (shared/seeds/beskar7-readme-v1.md, beskar7-breaking-changes.md), completed only where
// the daemon needs more than the seed gave (a sha256 for every artefact).
const examples = {
  physicalHost: {
    apiVersion: GV,
    kind: 'PhysicalHost',
    metadata: { name: 'server-01', namespace: 'default', labels: { 'topology.kubernetes.io/zone': 'a' } },
    spec: { redfishConnection: { address: 'https://192.168.1.100', credentialsSecretRef: 'bmc-credentials' } },
  },
  physicalHostWithStatus: {
    apiVersion: GV,
    kind: 'PhysicalHost',
    metadata: { name: 'server-02', namespace: 'default' },
    spec: { powerControl: 'wol', bootMACAddresses: ['52:54:00:12:34:56'], daemonRef: 'rack-1' },
    status: {
      state: 'Inspected',
      powerState: 'Off',
      inspectionPhase: 'Complete',
      ready: true,
      hardwareSummary: { cpuCores: 16, memoryGB: 64, diskGB: 500 },
      machineRef: { namespace: 'default', name: 'worker-01' },
      inspectionReport: {
        timestamp: '2025-11-27T10:00:00Z',
        bootMACAddress: '52:54:00:12:34:56',
        cpus: { count: 2, cores: 16, threads: 32, model: 'Intel Xeon E5-2640 v4', architecture: 'x86_64', mhz: 2400 },
        memory: { totalBytes: 68_719_476_736, totalGB: 64 },
        disks: [{ device: '/dev/sda', sizeBytes: 500_107_862_016, sizeGB: 500, type: 'SSD', model: 'Samsung 870 EVO', serial: null }],
        nics: [{ interface: 'eth0', macAddress: '00:25:90:f0:79:00', linkStatus: 'up', speedMbps: 1000, driver: 'ixgbe' }],
        system: { manufacturer: 'Dell Inc.', model: 'PowerEdge R730', serialNumber: 'ABC1234', biosVersion: '2.15.0', bmcAddress: null },
      },
      conditions: [{ type: 'Ready', status: 'True', reason: 'Inspected', message: '', lastTransitionTime: '2025-11-27T10:00:00Z', observedGeneration: 1 }],
      observedGeneration: 1,
    },
  },
  seedMachine: {
    apiVersion: GV,
    kind: 'Beskar7Machine',
    metadata: { name: 'worker-01', namespace: 'default' },
    spec: {
      inspectionImageURL: 'http://boot-server/beskar7-inspector/boot',
      targetImageURL: 'http://boot-server/kairos/v2.8.1.tar.gz',
      targetImageSHA256: SHA,
      configurationURL: 'http://config-server/worker-config.yaml',
      hardwareRequirements: { minCPUCores: 4, minMemoryGB: 16, minDiskGB: 100 },
    },
  },
  diskMachine: {
    apiVersion: GV,
    kind: 'Beskar7Machine',
    metadata: { name: 'worker-02', namespace: 'default' },
    spec: {
      providerID: 'beskar7://default/server-02',
      image: { mode: 'disk', url: 'https://images/flatcar.img.zst', sha256: SHA, format: 'zstd', rootDeviceHints: { deviceName: '/dev/nvme0n1' } },
      hostSelector: { matchLabels: { 'topology.kubernetes.io/zone': 'a' }, matchExpressions: [{ key: 'rack', operator: 'In', values: ['r1'] }] },
      deprovision: { wipe: { method: 'metadata' } },
    },
    status: {
      ready: true,
      initialization: { provisioned: true },
      addresses: [{ type: 'InternalIP', address: '10.0.0.5' }],
      phase: 'Provisioned',
      hostRef: { namespace: 'default', name: 'server-02' },
    },
  },
  machineTemplate: {
    apiVersion: GV,
    kind: 'Beskar7MachineTemplate',
    metadata: { name: 'workers', namespace: 'default' },
    spec: {
      template: {
        metadata: { labels: { role: 'worker' } },
        spec: {
          image: { mode: 'kexec', kernel: { url: 'http://b/vmlinuz', sha256: SHA }, initrd: { url: 'http://b/initrd', sha256: SHA }, cmdline: 'console=ttyS0' },
        },
      },
    },
  },
  cluster: {
    apiVersion: GV,
    kind: 'Beskar7Cluster',
    metadata: { name: 'c1', namespace: 'default' },
    spec: {
      controlPlaneEndpoint: { host: '192.168.1.10', port: 6443 },
    },
    status: { ready: true, initialization: { provisioned: true }, failureDomains: { 'zone-a': { controlPlane: true }, 'zone-b': { controlPlane: true, attributes: { rack: 'r2' } } } },
  },
  clusterTemplate: {
    apiVersion: GV,
    kind: 'Beskar7ClusterTemplate',
    metadata: { name: 'ct', namespace: 'default' },
    spec: { template: { spec: { controlPlaneEndpoint: { host: '', port: 6443 } } } },
  },
};

const resourceSchemas: Record<string, z.ZodType> = {
  PhysicalHost: physicalHostSchema,
  Beskar7Machine: beskar7MachineSchema,
  Beskar7MachineTemplate: beskar7MachineTemplateSchema,
  Beskar7Cluster: beskar7ClusterSchema,
  Beskar7ClusterTemplate: beskar7ClusterTemplateSchema,
};

function rejection(schema: z.ZodType, value: unknown): string {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return z.prettifyError(result.error);
}

describe('generated CRD files', () => {
  it('are up to date with the zod schemas (else: node --import tsx shim-operator/scripts/generate-crds.ts)', () => {
    const files = renderCrdFiles();
    expect(files).toHaveLength(5);
    for (const file of files) {
      let committed: string;
      try {
        committed = readFileSync(join(repoRoot, file.path), 'utf8');
      } catch {
        throw new Error(`${file.path} is missing: run node --import tsx shim-operator/scripts/generate-crds.ts`);
      }
      expect(committed, `${file.path} is stale: run node --import tsx shim-operator/scripts/generate-crds.ts`).toBe(file.content);
    }
  });

  it('say they are generated and parse back to exactly the CRD objects', () => {
    for (const [i, file] of renderCrdFiles().entries()) {
      expect(file.content.startsWith('# Generated by shim-operator/scripts/generate-crds.ts')).toBe(true);
      expect(parse(file.content)).toEqual(JSON.parse(JSON.stringify(crds[i])));
    }
  });

  it('render the same bytes every time', () => {
    expect(renderCrdFiles()).toEqual(renderCrdFiles());
  });
});

describe('CRD objects', () => {
  it('carry the CAPI contract and provider labels, names, scope and a status subresource', () => {
    const expected = {
      PhysicalHost: ['physicalhosts', 'ph'],
      Beskar7Machine: ['beskar7machines', 'b7m'],
      Beskar7MachineTemplate: ['beskar7machinetemplates', 'b7mt'],
      Beskar7Cluster: ['beskar7clusters', 'b7c'],
      Beskar7ClusterTemplate: ['beskar7clustertemplates', 'b7ct'],
    };
    expect(crds.map((c) => c.spec.names.kind).sort()).toEqual(Object.keys(expected).sort());
    for (const [kind, [plural, shortName]] of Object.entries(expected)) {
      const crd = crdOf(kind);
      expect(crd.metadata.name).toBe(`${plural}.infrastructure.cluster.x-k8s.io`);
      expect(crd.metadata.labels).toEqual({ 'cluster.x-k8s.io/provider': 'infrastructure-beskar7', 'cluster.x-k8s.io/v1beta1': 'v1beta1' });
      expect(crd.spec.group).toBe('infrastructure.cluster.x-k8s.io');
      expect(crd.spec.scope).toBe('Namespaced');
      expect(crd.spec.names).toEqual({
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        shortNames: [shortName],
        categories: ['cluster-api'],
      });
      expect(crd.spec.versions).toHaveLength(1);
      expect(crd.spec.versions[0]).toMatchObject({ name: 'v1beta1', served: true, storage: true, subresources: { status: {} } });
    }
  });

  it('have structural schemas: every node typed, nothing free-form, no forbidden keywords', () => {
    for (const crd of crds) {
      expect(structuralProblems(rootSchemaOf(crd.spec.names.kind)), crd.metadata.name).toEqual([]);
    }
  });

  it('describe every field', () => {
    for (const crd of crds) {
      const undescribed = [...walk(rootSchemaOf(crd.spec.names.kind), '')]
        .filter(([path]) => path !== '' && path !== '.metadata' && !path.endsWith('[*]') && !path.endsWith('.*'))
        .filter(([, node]) => typeof node.description !== 'string' || node.description.length === 0)
        .map(([path]) => path);
      expect(undescribed, crd.metadata.name).toEqual([]);
    }
  });

  it('have printer columns whose JSONPaths resolve to schema fields of the same type', () => {
    const columnTypeOf = { string: 'string', integer: 'integer', number: 'number', boolean: 'boolean' } as const;
    for (const crd of crds) {
      const root = rootSchemaOf(crd.spec.names.kind);
      for (const column of crd.spec.versions[0]?.additionalPrinterColumns ?? []) {
        if (column.jsonPath === '.metadata.creationTimestamp') {
          expect(column.type).toBe('date');
          continue;
        }
        const node = nodeAt(root, column.jsonPath);
        expect(node, `${crd.spec.names.kind} column ${column.name}: ${column.jsonPath}`).toBeDefined();
        if (column.type !== 'date') expect(node?.type, `${crd.spec.names.kind} column ${column.name}`).toBe(columnTypeOf[column.type]);
      }
    }
    const wide = (kind: string) => (crdOf(kind).spec.versions[0]?.additionalPrinterColumns ?? []).map((c) => [c.name, c.priority ?? 0]);
    expect(wide('PhysicalHost')).toEqual([['State', 0], ['Power', 0], ['CPU', 1], ['RAM-GB', 1], ['Disk-GB', 1], ['Machine', 0], ['Age', 0]]);
    expect(wide('Beskar7Machine').map(([name]) => name)).toEqual(['Phase', 'Ready', 'Host', 'ProviderID', 'Age']);
    expect(wide('Beskar7Cluster').filter(([, p]) => p === 0).map(([name]) => name)).toEqual(['Ready', 'Endpoint', 'Age']);
  });

  it('keep the seed field names and the CAPI contract fields at their paths', () => {
    const paths: Record<string, string[]> = {
      PhysicalHost: [
        '.spec.redfishConnection.address',
        '.spec.redfishConnection.credentialsSecretRef',
        '.spec.redfishConnection.insecureSkipVerify',
        '.spec.redfishConnection.systemId',
        '.spec.redfishConnection.caBundle',
        '.spec.bootMACAddresses',
        '.spec.daemonRef',
        '.spec.powerControl',
        '.status.state',
        '.status.powerState',
        '.status.ready',
        '.status.inspectionPhase',
        '.status.machineRef.name',
        '.status.lastError',
        '.status.observedGeneration',
        '.status.conditions[*].type',
        '.status.inspectionReport.timestamp',
        ...['count', 'cores', 'threads', 'model', 'architecture', 'mhz'].map((f) => `.status.inspectionReport.cpus.${f}`),
        '.status.inspectionReport.memory.totalBytes',
        '.status.inspectionReport.memory.totalGB',
        ...['device', 'sizeBytes', 'sizeGB', 'type', 'model', 'serial'].map((f) => `.status.inspectionReport.disks[*].${f}`),
        ...['interface', 'macAddress', 'linkStatus', 'speedMbps', 'driver'].map((f) => `.status.inspectionReport.nics[*].${f}`),
        ...['manufacturer', 'model', 'serialNumber', 'biosVersion', 'bmcAddress'].map((f) => `.status.inspectionReport.system.${f}`),
      ],
      Beskar7Machine: [
        '.spec.providerID',
        '.spec.inspectionImageURL',
        '.spec.targetImageURL',
        '.spec.targetImageSHA256',
        '.spec.image.mode',
        '.spec.image.kernel.sha256',
        '.spec.image.tarball.url',
        '.spec.image.rootDeviceHints',
        '.spec.configurationURL',
        ...['minCPUCores', 'minMemoryGB', 'minDiskGB', 'architecture', 'minNICSpeedMbps', 'diskType'].map((f) => `.spec.hardwareRequirements.${f}`),
        '.spec.hostSelector.matchLabels',
        '.spec.hostSelector.matchExpressions[*].operator',
        '.spec.deprovision.wipe.method',
        '.status.ready',
        '.status.initialization.provisioned',
        '.status.addresses[*].type',
        '.status.addresses[*].address',
        '.status.phase',
        '.status.hostRef.name',
        '.status.failureReason',
        '.status.failureMessage',
        '.status.conditions[*].lastTransitionTime',
      ],
      Beskar7MachineTemplate: ['.spec.template.spec.targetImageURL', '.spec.template.spec.image.mode', '.spec.template.metadata.labels'],
      Beskar7Cluster: [
        '.spec.controlPlaneEndpoint.host',
        '.spec.controlPlaneEndpoint.port',
        '.status.ready',
        '.status.initialization.provisioned',
        '.status.failureDomains.*.controlPlane',
        '.status.failureDomains.*.attributes',
        '.status.failureReason',
        '.status.failureMessage',
        '.status.conditions[*].reason',
      ],
      Beskar7ClusterTemplate: ['.spec.template.spec.controlPlaneEndpoint.host'],
    };
    for (const [kind, list] of Object.entries(paths)) {
      const missing = list.filter((path) => nodeAt(rootSchemaOf(kind), path) === undefined);
      expect(missing, kind).toEqual([]);
    }
    expect(nodeAt(rootSchemaOf('Beskar7MachineTemplate'), '.spec.template.spec.providerID')).toBeUndefined();
    expect(nodeAt(rootSchemaOf('Beskar7Cluster'), '.status.failureDomains')?.additionalProperties).toBeDefined();
    expect(nodeAt(rootSchemaOf('Beskar7Cluster'), '.spec.controlPlaneEndpoint.port')).toMatchObject({ type: 'integer', format: 'int32', default: 6443 });
    expect(nodeAt(rootSchemaOf('PhysicalHost'), '.status.state')?.enum).toEqual([...hostStates]);
    expect(nodeAt(rootSchemaOf('PhysicalHost'), '.status.conditions')).toMatchObject({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
  });

  it('mirror the daemon\'s inspection report field for field', () => {
    const daemon = z.toJSONSchema(daemonInspectionReportSchema, { io: 'input' }) as Node;
    expect(fieldPaths(toStructuralSchema(inspectionReportSchema) as unknown as Node)).toEqual(fieldPaths(daemon));
  });

  it('flatten the image union into one object with a discriminator and a CEL rule per branch', () => {
    const image = nodeAt(rootSchemaOf('Beskar7Machine'), '.spec.image');
    expect(image?.required).toEqual(['mode']);
    expect(nodeAt(rootSchemaOf('Beskar7Machine'), '.spec.image.mode')?.enum).toEqual(['kexec', 'disk']);
    const messages = ((image?.['x-kubernetes-validations'] as { message: string }[] | undefined) ?? []).map((r) => r.message);
    expect(messages).toEqual(
      expect.arrayContaining(['mode disk needs: url, sha256', 'mode kexec does not take: url, sha256, format, rootDeviceHints', 'a kexec image needs either a tarball or both kernel and initrd']),
    );
    const rules = (image?.['x-kubernetes-validations'] as { rule: string }[] | undefined) ?? [];
    expect(rules.every((r) => r.rule.startsWith("self.mode != 'kexec' || (") || r.rule.startsWith("self.mode != 'disk' || ("))).toBe(true);
  });
});

describe('zod schemas and CRDs agree on examples', () => {
  it.each(Object.entries(examples))('%s: accepted by zod and kept whole by the CRD schema', (_name, example) => {
    const parsed = resourceSchemas[example.kind]?.safeParse(example);
    expect(parsed?.success, parsed?.success === false ? z.prettifyError(parsed.error) : '').toBe(true);
    const root = rootSchemaOf(example.kind);
    const { metadata: _metadata, ...rest } = example;
    expect(schemaProblems({ ...root, properties: { ...(root.properties as Node), metadata: { type: 'object', additionalProperties: {} } } }, rest, '')).toEqual([]);
  });

  it('rejects the seed machine without a sha256, saying why', () => {
    const { targetImageSHA256: _sha, ...spec } = examples.seedMachine.spec;
    expect(rejection(beskar7MachineSchema, { ...examples.seedMachine, spec })).toContain(
      'targetImageURL and targetImageSHA256 go together: every artefact is checked against its sha256\n  → at spec.targetImageSHA256',
    );
  });

  it('rejects a machine with both image forms, or with none', () => {
    const both = { ...examples.seedMachine, spec: { ...examples.seedMachine.spec, image: examples.diskMachine.spec.image } };
    expect(rejection(beskar7MachineSchema, both)).toContain('give either image or targetImageURL');
    expect(rejection(beskar7MachineSchema, { ...examples.seedMachine, spec: {} })).toContain('give either image or targetImageURL');
    expect(rejection(beskar7MachineTemplateSchema, { ...examples.machineTemplate, spec: { template: { spec: {} } } })).toContain(
      '→ at spec.template.spec.image',
    );
  });

  it('rejects image fields of the other mode and half a kexec image', () => {
    const diskWithKernel = { ...examples.diskMachine.spec.image, kernel: { url: 'http://b/k', sha256: SHA } };
    expect(rejection(beskar7MachineSchema, { ...examples.diskMachine, spec: { image: diskWithKernel } })).toContain('Unrecognized key: "kernel"');
    const kernelOnly = { mode: 'kexec', kernel: { url: 'http://b/k', sha256: SHA } };
    expect(rejection(beskar7MachineSchema, { ...examples.diskMachine, spec: { image: kernelOnly } })).toContain(
      'a kexec image needs either a tarball or both kernel and initrd',
    );
  });

  it('rejects bad PhysicalHost specs with the field and the reason', () => {
    const host = examples.physicalHost;
    expect(rejection(physicalHostSchema, { ...host, spec: {} })).toContain('redfishConnection is required when powerControl is redfish\n  → at spec.redfishConnection');
    expect(rejection(physicalHostSchema, { ...host, spec: { powerControl: 'wol' } })).toContain('bootMACAddresses needs at least one MAC');
    const withPath = { ...host.spec.redfishConnection, address: 'https://admin:pw@10.0.0.1/redfish/v1' };
    expect(rejection(physicalHostSchema, { ...host, spec: { redfishConnection: withPath } })).toContain(
      'must be the BMC base URL (scheme, host, optional port), without credentials or a path\n  → at spec.redfishConnection.address',
    );
    const dupes = { powerControl: 'manual', bootMACAddresses: ['52:54:00:12:34:56', '52-54-00-12-34-56'] };
    expect(rejection(physicalHostSchema, { ...host, spec: dupes })).toContain('must not repeat a MAC address');
    expect(rejection(physicalHostSchema, { ...host, spec: { ...host.spec, surprise: true } })).toContain('Unrecognized key: "surprise"');
  });

  it('rejects bad status values the controllers might read back', () => {
    const status = examples.physicalHostWithStatus.status;
    const badCondition = { ...status, conditions: [{ ...status.conditions[0], status: 'Maybe' }] };
    expect(rejection(physicalHostSchema, { ...examples.physicalHostWithStatus, status: badCondition })).toContain('→ at status.conditions[0].status');
    expect(rejection(physicalHostSchema, { ...examples.physicalHostWithStatus, status: { ...status, state: 'InUse' } })).toContain('→ at status.state');
    const selector = { matchExpressions: [{ key: 'rack', operator: 'In' }] };
    expect(rejection(beskar7MachineSchema, { ...examples.diskMachine, spec: { ...examples.diskMachine.spec, hostSelector: selector } })).toContain(
      'values must be non-empty for In and NotIn',
    );
  });

  it('fills the defaults the CRD also applies', () => {
    const host = physicalHostSchema.parse(examples.physicalHost);
    expect(host.spec.powerControl).toBe('redfish');
    expect(host.spec.redfishConnection?.insecureSkipVerify).toBe(false);
    const cluster = beskar7ClusterSchema.parse({ ...examples.cluster, spec: { controlPlaneEndpoint: { host: 'api.example' } } });
    expect(cluster.spec.controlPlaneEndpoint?.port).toBe(6443);
    expect(nodeAt(rootSchemaOf('PhysicalHost'), '.spec.powerControl')?.default).toBe('redfish');
  });
});

describe('structural schema conversion', () => {
  it('refuses free-form values instead of emitting a schema without a type', () => {
    expect(() => toStructuralSchema(z.object({ anything: z.unknown() }))).toThrow(StructuralSchemaError);
  });

  it('refuses a union of objects without a discriminator', () => {
    const union = z.union([z.object({ a: z.string() }), z.object({ b: z.string() })]);
    expect(() => toStructuralSchema(union)).toThrow(/needs a discriminator/);
  });

  it('refuses a default on a field only some union branches have', () => {
    const union = z.discriminatedUnion('kind', [z.object({ kind: z.literal('a'), x: z.string().default('') }), z.object({ kind: z.literal('b') })]);
    expect(() => toStructuralSchema(union)).toThrow(/cannot have a default/);
  });

  it('refuses scalar unions and fields that differ between branches', () => {
    expect(() => toStructuralSchema(z.union([z.string(), z.number()]))).toThrow(StructuralSchemaError);
    const clash = z.discriminatedUnion('kind', [z.object({ kind: z.literal('a'), x: z.string() }), z.object({ kind: z.literal('b'), x: z.number() })]);
    expect(() => toStructuralSchema(clash)).toThrow(/differs between union branches/);
  });

  it('sizes integer formats from their bounds and keeps nullable as nullable: true', () => {
    const schema = toStructuralSchema(
      z.object({ port: z.number().int().min(1).max(65_535), bytes: z.number().int().min(0), note: z.string().nullable() }).strict(),
    );
    expect(schema.properties?.port).toEqual({ type: 'integer', minimum: 1, maximum: 65_535, format: 'int32' });
    expect(schema.properties?.bytes).toEqual({ type: 'integer', minimum: 0, format: 'int64' });
    expect(schema.properties?.note).toEqual({ type: 'string', nullable: true });
    expect(schema).not.toHaveProperty('additionalProperties');
  });
});
