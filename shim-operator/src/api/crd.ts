import type { z } from 'zod';
import { beskar7ClusterSpecSchema, beskar7ClusterStatusSchema } from './beskar7-cluster.js';
import { beskar7ClusterTemplateSpecSchema, beskar7ClusterTemplateStatusSchema } from './beskar7-cluster-template.js';
import { beskar7MachineSpecSchema, beskar7MachineStatusSchema } from './beskar7-machine.js';
import { beskar7MachineTemplateSpecSchema, beskar7MachineTemplateStatusSchema } from './beskar7-machine-template.js';
import { API_GROUP, API_VERSION } from './common.js';
import { physicalHostSpecSchema, physicalHostStatusSchema } from './physical-host.js';
import { type StructuralSchema, toStructuralSchema } from './structural-schema.js';

export const PROVIDER_LABELS = {
  'cluster.x-k8s.io/provider': 'infrastructure-beskar7',
  // The CAPI contract label: CAPI looks up which of this group's versions implements contract v1beta1.
  'cluster.x-k8s.io/v1beta1': API_VERSION,
} as const;

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: RootSchema };
    }[];
  };
}

/** The root differs from StructuralSchema only in metadata, which the apiserver owns and validates. */
export type RootSchema = StructuralSchema & { properties: Record<string, StructuralSchema | { type: 'object' }> };

interface KindDefinition {
  kind: string;
  plural: string;
  shortName: string;
  description: string;
  spec: z.ZodType;
  /** False where an empty spec is meaningful (a Beskar7Cluster may get everything from defaults). */
  specRequired: boolean;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' };

export const kindDefinitions: readonly KindDefinition[] = [
  {
    kind: 'PhysicalHost',
    plural: 'physicalhosts',
    shortName: 'ph',
    description: 'A bare-metal server the Beskar7 daemon can power, inspect and provision; mirrors the daemon\'s host.',
    spec: physicalHostSpecSchema,
    specRequired: true,
    status: physicalHostStatusSchema,
    printerColumns: [
      { name: 'State', type: 'string', jsonPath: '.status.state', description: 'Lifecycle state in the daemon.' },
      { name: 'Power', type: 'string', jsonPath: '.status.powerState', description: 'Power state from the BMC.' },
      { name: 'CPU', type: 'integer', jsonPath: '.status.hardwareSummary.cpuCores', description: 'Physical CPU cores.', priority: 1 },
      { name: 'RAM-GB', type: 'number', jsonPath: '.status.hardwareSummary.memoryGB', description: 'Memory in GB.', priority: 1 },
      { name: 'Disk-GB', type: 'number', jsonPath: '.status.hardwareSummary.diskGB', description: 'All disks together, in GB.', priority: 1 },
      { name: 'Machine', type: 'string', jsonPath: '.status.machineRef.name', description: 'Beskar7Machine that claimed the host.' },
      AGE,
    ],
  },
  {
    kind: 'Beskar7Machine',
    plural: 'beskar7machines',
    shortName: 'b7m',
    description: 'The infrastructure of one CAPI Machine: a claim on a PhysicalHost and the OS it runs.',
    spec: beskar7MachineSpecSchema,
    specRequired: true,
    status: beskar7MachineStatusSchema,
    printerColumns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Phase in the daemon.' },
      { name: 'Ready', type: 'boolean', jsonPath: '.status.ready', description: 'Whether the host runs the target OS.' },
      { name: 'Host', type: 'string', jsonPath: '.status.hostRef.name', description: 'The claimed PhysicalHost.' },
      { name: 'ProviderID', type: 'string', jsonPath: '.spec.providerID', description: 'Provider id of the machine.' },
      AGE,
    ],
  },
  {
    kind: 'Beskar7MachineTemplate',
    plural: 'beskar7machinetemplates',
    shortName: 'b7mt',
    description: 'A template CAPI MachineDeployments and control planes stamp Beskar7Machines out of.',
    spec: beskar7MachineTemplateSpecSchema,
    specRequired: true,
    status: beskar7MachineTemplateStatusSchema,
    printerColumns: [AGE],
  },
  {
    kind: 'Beskar7Cluster',
    plural: 'beskar7clusters',
    shortName: 'b7c',
    description: 'The infrastructure of one CAPI Cluster: its control-plane endpoint, daemon and failure domains.',
    spec: beskar7ClusterSpecSchema,
    specRequired: false,
    status: beskar7ClusterStatusSchema,
    printerColumns: [
      { name: 'Ready', type: 'boolean', jsonPath: '.status.ready', description: 'Whether the cluster infrastructure is ready.' },
      { name: 'Endpoint', type: 'string', jsonPath: '.spec.controlPlaneEndpoint.host', description: 'Control-plane endpoint host.' },
      { name: 'Port', type: 'integer', jsonPath: '.spec.controlPlaneEndpoint.port', description: 'Control-plane endpoint port.', priority: 1 },
      AGE,
    ],
  },
  {
    kind: 'Beskar7ClusterTemplate',
    plural: 'beskar7clustertemplates',
    shortName: 'b7ct',
    description: 'A template ClusterClass stamps Beskar7Clusters out of.',
    spec: beskar7ClusterTemplateSpecSchema,
    specRequired: true,
    status: beskar7ClusterTemplateStatusSchema,
    printerColumns: [AGE],
  },
];

export function buildCrd(definition: KindDefinition): CustomResourceDefinition {
  const openAPIV3Schema: RootSchema = {
    type: 'object',
    description: definition.description,
    properties: {
      apiVersion: {
        type: 'string',
        description: 'Versioned schema of this representation of the object; the apiserver converts other versions to it.',
      },
      kind: { type: 'string', description: 'REST resource this object represents, in CamelCase.' },
      metadata: { type: 'object' },
      spec: toStructuralSchema(definition.spec),
      status: toStructuralSchema(definition.status),
    },
  };
  if (definition.specRequired) openAPIV3Schema.required = ['spec'];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${definition.plural}.${API_GROUP}`, labels: { ...PROVIDER_LABELS } },
    spec: {
      group: API_GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.kind.toLowerCase(),
        shortNames: [definition.shortName],
        categories: ['cluster-api'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

export function buildCrds(): CustomResourceDefinition[] {
  return kindDefinitions.map(buildCrd);
}
