import { z } from 'zod';

// Every pattern here is enforced twice: by zod in the controllers and by the apiserver from the generated
// CRD. The apiserver uses RE2, so patterns stay in the subset JavaScript and RE2 share (no lookaround,
// no backreferences).

export const API_GROUP = 'infrastructure.cluster.x-k8s.io';
export const API_VERSION = 'v1beta1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name (DNS-1123 subdomain), e.g. of a Secret in the same namespace. */
export const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit');

export const httpUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s/?#]+([/?#]\S*)?$/, 'must be an http:// or https:// URL');

/** Lower or upper case are both accepted; the daemon compares digests case-insensitively. */
export const sha256Hex = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a sha256 digest: 64 hex digits');

export const macAddress = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/, 'must be a MAC address like 52:54:00:12:34:56');

export const pemBundle = z
  .string()
  .max(256 * 1024)
  .regex(/-----BEGIN CERTIFICATE-----/, 'must be PEM text holding at least one CERTIFICATE');

export const timestamp = z.iso.datetime({ offset: true });

// Label values are at most 63 characters; keys are checked loosely (the daemon checks them fully).
export const stringMap = z.record(z.string().min(1).max(317), z.string().max(63));

export type CelRule = { rule: string; message: string };

/**
 * A cross-field rule stated once for both enforcers: `rule` is the CEL expression the apiserver runs
 * (`x-kubernetes-validations`, ignored by apiservers older than 1.25), `holds` is the same check for zod.
 * A rule without `holds` is apiserver-only (transition rules that compare with `oldSelf`).
 */
export type CrossFieldRule<T> = CelRule & { holds?: (value: T) => boolean; path?: string[] };

export function withRules<S extends z.ZodType>(schema: S, rules: CrossFieldRule<z.output<S>>[]): S {
  const existing = z.globalRegistry.get(schema)?.['x-kubernetes-validations'] as CelRule[] | undefined;
  const cel = [...(existing ?? []), ...rules.map(({ rule, message }) => ({ rule, message }))];
  const checked = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (rule.holds && !rule.holds(value)) ctx.addIssue({ code: 'custom', message: rule.message, path: rule.path ?? [] });
    }
  });
  return checked.meta({ 'x-kubernetes-validations': cel });
}

export const objectReference = z
  .object({
    namespace: objectName.describe('Namespace of the referenced object.'),
    name: objectName.describe('Name of the referenced object.'),
  })
  .strict();

// metav1.Condition, field for field, so CAPI tooling and `kubectl wait --for=condition=…` read it.
const condition = z
  .object({
    type: z
      .string()
      .max(316)
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
        'must be a CamelCase condition type, optionally prefixed by a DNS subdomain and "/"',
      )
      .describe('Type of condition in CamelCase, e.g. Ready or HostClaimed.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition: True, False or Unknown.'),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation the condition was set from; older than the current generation means stale.'),
    lastTransitionTime: timestamp.describe('When the condition last changed from one status to another.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, 'must be a CamelCase reason')
      .describe('Programmatic identifier for the last transition, in CamelCase.'),
    message: z.string().max(32768).describe('Human-readable detail of the last transition; may be empty.'),
  })
  .strict();

export const conditions = z
  .array(condition)
  .max(32)
  .refine((list) => new Set(list.map((c) => c.type)).size === list.length, 'must not repeat a condition type')
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
  .describe('Observations of the object\'s state, one per type (metav1.Condition).');

export type Condition = z.infer<typeof condition>;

const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

const selectorRequirement = withRules(
  z
    .object({
      key: z.string().min(1).max(317).describe('The label key the requirement applies to.'),
      operator: z.enum(selectorOperators).describe('How the key relates to the values: In, NotIn, Exists or DoesNotExist.'),
      values: z
        .array(z.string().max(63))
        .max(64)
        .optional()
        .describe('Values for In and NotIn (at least one); must be empty for Exists and DoesNotExist.'),
    })
    .strict(),
  [
    {
      rule: "(self.operator == 'In' || self.operator == 'NotIn') == (has(self.values) && size(self.values) > 0)",
      message: 'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
      holds: (r) => (r.operator === 'In' || r.operator === 'NotIn') === (r.values !== undefined && r.values.length > 0),
      path: ['values'],
    },
  ],
);

/** metav1.LabelSelector, which the daemon also accepts for choosing hosts. */
export const labelSelector = z
  .object({
    matchLabels: stringMap.optional().describe('Labels a host must carry, key for key and value for value.'),
    matchExpressions: z
      .array(selectorRequirement)
      .max(32)
      .optional()
      .describe('Set-based requirements on host labels; all must hold.'),
  })
  .strict();

/** CAPI templates may carry labels and annotations for the objects made from them. */
export const templateMetadata = z
  .object({
    labels: stringMap.optional().describe('Labels added to objects created from this template.'),
    annotations: z
      .record(z.string().min(1).max(317), z.string().max(256 * 1024))
      .optional()
      .describe('Annotations added to objects created from this template.'),
  })
  .strict();

/**
 * The parts of ObjectMeta the controllers read. Loose on purpose: the apiserver owns metadata, so
 * fields this list does not name are kept, not rejected.
 */
export const objectMeta = z.looseObject({
  name: objectName.describe('Name of the object, unique in its namespace.'),
  namespace: objectName.optional().describe('Namespace of the object.'),
  uid: z.string().optional().describe('Unique id the apiserver assigned.'),
  resourceVersion: z.string().optional().describe('Opaque version for optimistic concurrency.'),
  generation: z.number().int().min(0).optional().describe('Sequence number of spec changes.'),
  creationTimestamp: z.string().optional().describe('When the object was created.'),
  deletionTimestamp: z.string().optional().describe('When deletion was requested; set while finalizers run.'),
  labels: z.record(z.string(), z.string()).optional().describe('Labels of the object.'),
  annotations: z.record(z.string(), z.string()).optional().describe('Annotations of the object.'),
  finalizers: z.array(z.string()).optional().describe('Finalizers that hold deletion back.'),
  ownerReferences: z
    .array(
      z.looseObject({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        uid: z.string(),
        controller: z.boolean().optional(),
      }),
    )
    .optional()
    .describe('Objects this one belongs to (e.g. the CAPI Machine of a Beskar7Machine).'),
});

/** The envelope every custom resource of this group shares; spec and status come per kind. */
export function resourceSchema<K extends string, Spec extends z.ZodType, Status extends z.ZodType>(
  kind: K,
  spec: Spec,
  status: Status,
) {
  return z.object({
    apiVersion: z.literal(GROUP_VERSION),
    kind: z.literal(kind),
    metadata: objectMeta,
    spec,
    status: status.optional(),
  });
}
