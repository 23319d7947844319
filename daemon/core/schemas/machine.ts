import { z } from 'zod';
import { httpUrlSchema, labelFilterSchema, labelKeySchema, labelsSchema, nameSchema, namespaceSchema, objectRefSchema, pageQuerySchema, sha256Schema } from './common.js';

export const machinePhases = ['Pending', 'Claimed', 'Provisioning', 'Provisioned', 'Deprovisioning', 'Failed', 'Deleting'] as const;

const artifactSchema = z.object({ url: httpUrlSchema, sha256: sha256Schema }).strict();

export const hardwareRequirementsSchema = z
  .object({
    minCPUCores: z.number().int().min(1).max(65_536).optional(),
    minMemoryGB: z.number().positive().max(1_048_576).optional(),
    minDiskGB: z.number().positive().max(1_048_576).optional(),
    architecture: z.enum(['x86_64', 'aarch64']).optional(),
    minNICSpeedMbps: z.number().int().positive().max(10_000_000).optional(),
    diskType: z.enum(['SSD', 'HDD', 'NVMe']).optional(),
  })
  .strict();

export const hostSelectorSchema = z
  .object({
    matchLabels: labelsSchema.optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: labelKeySchema,
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(z.string().max(63)).max(64).default([]),
          })
          .strict()
          .superRefine((expr, ctx) => {
            const needsValues = expr.operator === 'In' || expr.operator === 'NotIn';
            if (needsValues && expr.values.length === 0) {
              ctx.addIssue({ code: 'custom', path: ['values'], message: `must not be empty for operator ${expr.operator}` });
            }
            if (!needsValues && expr.values.length > 0) {
              ctx.addIssue({ code: 'custom', path: ['values'], message: `must be empty for operator ${expr.operator}` });
            }
          }),
      )
      .max(32)
      .optional(),
  })
  .strict();

const kexecImageSchema = z
  .object({
    mode: z.literal('kexec'),
    kernel: artifactSchema.optional(),
    initrd: artifactSchema.optional(),
    tarball: artifactSchema.optional(),
    cmdline: z.string().max(4096).default(''),
  })
  .strict()
  .superRefine((image, ctx) => {
    const explicit = image.kernel !== undefined || image.initrd !== undefined;
    if (image.tarball && explicit) {
      ctx.addIssue({ code: 'custom', path: ['tarball'], message: 'give either tarball or kernel+initrd, not both' });
    } else if (!image.tarball) {
      if (!image.kernel) ctx.addIssue({ code: 'custom', path: ['kernel'], message: 'is required (or give a tarball holding kernel and initrd)' });
      if (!image.initrd) ctx.addIssue({ code: 'custom', path: ['initrd'], message: 'is required (or give a tarball holding kernel and initrd)' });
    }
  });

const rootDeviceHintsSchema = z
  .object({
    deviceName: z.string().regex(/^\/dev\/[A-Za-z0-9/_-]+$/, 'must be a /dev path').optional(),
    model: z.string().max(256).optional(),
    serialNumber: z.string().max(256).optional(),
    minSizeGB: z.number().positive().optional(),
    rotational: z.boolean().optional(),
  })
  .strict();

const diskImageSchema = z
  .object({
    mode: z.literal('disk'),
    url: httpUrlSchema,
    sha256: sha256Schema,
    format: z.enum(['raw', 'gzip', 'zstd']).default('raw'),
    rootDeviceHints: rootDeviceHintsSchema.default({}),
  })
  .strict();

export const deprovisionSchema = z
  .object({
    wipe: z
      .object({
        /** metadata: wipefs; discard: blkdiscard (zeroing the ends where discard is unsupported); zero: overwrite every byte. */
        method: z.enum(['none', 'metadata', 'discard', 'zero']).default('none'),
        /** Devices to wipe; empty: every disk the ramdisk finds. */
        disks: z.array(z.string().regex(/^\/dev\/[A-Za-z0-9/_.-]+$/, 'must be a /dev path').max(256)).max(64).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const imageSchema = z.discriminatedUnion('mode', [kexecImageSchema, diskImageSchema]);
export type ImageSpec = z.output<typeof imageSchema>;

// 1 MiB: cloud-init caps user-data well below this; kubeadm join configs are a few KiB.
export const MAX_BOOTSTRAP_BYTES = 1024 * 1024;

export const machineCreateSchema = z
  .object({
    namespace: namespaceSchema.default('default'),
    name: nameSchema,
    labels: labelsSchema.default({}),
    hardwareRequirements: hardwareRequirementsSchema.default({}),
    hostSelector: hostSelectorSchema.default({}),
    image: imageSchema,
    bootstrapData: z
      .string()
      .refine((s) => Buffer.byteLength(s) <= MAX_BOOTSTRAP_BYTES, 'must be at most 1 MiB')
      .optional(),
    configurationURL: httpUrlSchema.optional(),
    /** What happens to the host's disks when the machine lets it go. */
    deprovision: deprovisionSchema.prefault({}),
  })
  .strict()
  .superRefine((machine, ctx) => {
    if (machine.bootstrapData !== undefined && machine.configurationURL !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['configurationURL'], message: 'give either bootstrapData or configurationURL, not both' });
    }
  });
export type MachineCreate = z.output<typeof machineCreateSchema>;

export const machineRefParams = z.object({ namespace: namespaceSchema, name: nameSchema }).strict();

export const machineListQuery = pageQuerySchema
  .extend({
    namespace: namespaceSchema.optional(),
    phase: z.enum(machinePhases).optional(),
    label: z.union([labelFilterSchema, z.array(labelFilterSchema)]).optional(),
  })
  .strict();

export const machineViewSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  hardwareRequirements: hardwareRequirementsSchema,
  hostSelector: hostSelectorSchema,
  image: z.unknown(),
  hasBootstrapData: z.boolean(),
  configurationURL: z.string().nullable(),
  deprovision: deprovisionSchema,
  status: z.object({
    phase: z.enum(machinePhases),
    host: objectRefSchema.nullable(),
    providerID: z.string().nullable(),
    addresses: z.array(z.unknown()),
    failureReason: z.string().nullable(),
    failureMessage: z.string().nullable(),
  }),
  resourceVersion: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type MachineView = z.infer<typeof machineViewSchema>;

export const machineListSchema = z.object({ items: z.array(machineViewSchema), continue: z.string().nullable() });
