import { z } from 'zod';
import { httpUrlSchema, labelFilterSchema, labelKeySchema, labelsSchema, labelValueSchema, macSchema, nameSchema, namespaceSchema, objectRefSchema, pageQuerySchema } from './common.js';

export const hostStates = [
  'Enrolling',
  'Available',
  'Claimed',
  'Inspecting',
  'Inspected',
  'Provisioning',
  'Provisioned',
  'Deprovisioning',
  'Error',
  'Deleting',
] as const;
export const inspectionPhases = ['Pending', 'Booting', 'InProgress', 'Complete', 'Failed', 'Timeout'] as const;
export const powerControls = ['redfish', 'wol', 'manual'] as const;
export const netbootModes = ['inspect', 'provision', 'wipe'] as const;
export type NetbootMode = (typeof netbootModes)[number];

const bmcAddressSchema = httpUrlSchema.superRefine((text, ctx) => {
  // zod runs this even when the URL check above failed; that failure is already reported.
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url) return;
  if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials; use username and password' });
  }
  if (url.search || url.hash) ctx.addIssue({ code: 'custom', message: 'must not have a query or fragment' });
  if (url.pathname !== '/' && url.pathname !== '') {
    ctx.addIssue({ code: 'custom', message: 'must be the BMC base URL (scheme, host, port), without a path such as /redfish/v1' });
  }
});

const caBundleSchema = z
  .string()
  .max(256 * 1024)
  .refine((pem) => pem.includes('-----BEGIN CERTIFICATE-----'), 'must be PEM text holding at least one CERTIFICATE');

const usernameSchema = z.string().min(1).max(256);
const passwordSchema = z.string().min(1).max(1024);

export const redfishConnectionInput = z
  .object({
    address: bmcAddressSchema,
    username: usernameSchema,
    password: passwordSchema,
    systemId: z.string().min(1).max(256).nullable().default(null),
    insecureSkipVerify: z.boolean().default(false),
    caBundle: caBundleSchema.nullable().default(null),
  })
  .strict();

const bootMacsSchema = z
  .array(macSchema)
  .max(16)
  .refine((macs) => new Set(macs).size === macs.length, 'must not repeat a MAC address');

export const hostCreateSchema = z
  .object({
    namespace: namespaceSchema.default('default'),
    name: nameSchema,
    labels: labelsSchema.default({}),
    redfishConnection: redfishConnectionInput.optional(),
    powerControl: z.enum(powerControls).default('redfish'),
    bootMACAddresses: bootMacsSchema.default([]),
  })
  .strict()
  .superRefine((host, ctx) => {
    if (host.powerControl === 'redfish' && !host.redfishConnection) {
      ctx.addIssue({ code: 'custom', path: ['redfishConnection'], message: 'is required when powerControl is "redfish"' });
    }
    if (host.powerControl === 'wol' && host.bootMACAddresses.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['bootMACAddresses'], message: 'needs at least one MAC when powerControl is "wol" (the magic packet goes to it)' });
    }
  });
export type HostCreate = z.output<typeof hostCreateSchema>;

export const hostPatchSchema = z
  .object({
    // JSON merge patch (RFC 7386) semantics: a null value removes the label.
    labels: z.record(labelKeySchema, labelValueSchema.nullable()).optional(),
    redfishConnection: z
      .object({
        address: bmcAddressSchema.optional(),
        username: usernameSchema.optional(),
        password: passwordSchema.optional(),
        systemId: z.string().min(1).max(256).nullable().optional(),
        insecureSkipVerify: z.boolean().optional(),
        caBundle: caBundleSchema.nullable().optional(),
      })
      .strict()
      .optional(),
    powerControl: z.enum(powerControls).optional(),
    bootMACAddresses: bootMacsSchema.optional(),
    /** When given, the patch applies only if the host is still at this version (else 409). */
    resourceVersion: z.number().int().positive().optional(),
  })
  .strict();
export type HostPatch = z.output<typeof hostPatchSchema>;

export const hostRefParams = z.object({ namespace: namespaceSchema, name: nameSchema }).strict();

export const hostListQuery = pageQuerySchema
  .extend({
    namespace: namespaceSchema.optional(),
    state: z.enum(hostStates).optional(),
    label: z.union([labelFilterSchema, z.array(labelFilterSchema)]).optional(),
  })
  .strict();

export const systemInfoSchema = z.object({
  manufacturer: z.string().nullable(),
  model: z.string().nullable(),
  serialNumber: z.string().nullable(),
  uuid: z.string().nullable(),
  biosVersion: z.string().nullable(),
});

export const hostViewSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  redfishConnection: z
    .object({
      address: z.string(),
      username: z.string(),
      systemId: z.string().nullable(),
      insecureSkipVerify: z.boolean(),
      caBundle: z.string().nullable(),
      hasPassword: z.boolean(),
    })
    .nullable(),
  powerControl: z.enum(powerControls),
  bootMACAddresses: z.array(z.string()),
  status: z.object({
    state: z.enum(hostStates),
    powerState: z.string(),
    inspectionPhase: z.enum(inspectionPhases).nullable(),
    /** What the host boots from the network now (null: its local disk). */
    netbootMode: z.enum(netbootModes).nullable(),
    system: systemInfoSchema.nullable(),
    inspectionReport: z.unknown().nullable(),
    lastError: z.string().nullable(),
    retryAt: z.string().nullable(),
    machine: objectRefSchema.nullable(),
  }),
  resourceVersion: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type HostView = z.infer<typeof hostViewSchema>;

export const hostListSchema = z.object({ items: z.array(hostViewSchema), continue: z.string().nullable() });
