import { z } from 'zod';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

// Namespaces and names follow Kubernetes' rules so every host can become a PhysicalHost CR.
export const namespaceSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(DNS1123_LABEL, 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit');

export const nameSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit');

export const labelKeySchema = z.string().refine((key) => {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) return false;
  return prefix === undefined || (prefix.length > 0 && prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix));
}, 'label keys are an optional DNS subdomain prefix and "/", then a name of at most 63 letters, digits, "-", "_" or "."');

export const labelValueSchema = z
  .string()
  .max(63)
  .refine((v) => v === '' || LABEL_NAME.test(v), 'label values are at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit');

export const labelsSchema = z
  .record(labelKeySchema, labelValueSchema)
  .refine((labels) => Object.keys(labels).length <= 64, 'at most 64 labels');

export const macSchema = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/, 'must be a MAC address like 52:54:00:12:34:56')
  .transform((mac) => mac.toLowerCase().replaceAll('-', ':'));

export const sha256Schema = z
  .string()
  .regex(/^[0-9A-Fa-f]{64}$/, 'must be a sha256 digest: 64 hex digits')
  .transform((hex) => hex.toLowerCase());

export const httpUrlSchema = z
  .string()
  .max(2048)
  .refine((text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL');

export const objectRefSchema = z.object({ namespace: z.string(), name: z.string() });

/** `?limit=&continue=` on list endpoints; continue is the opaque cursor of the previous page. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  continue: z
    .string()
    .regex(/^[0-9]+$/, 'must be the continue value of the previous page')
    .transform(Number)
    .optional(),
});

export const labelFilterSchema = z
  .string()
  .regex(/^[^=,]+=[^=,]*$/, 'must be key=value')
  .transform((pair) => {
    const eq = pair.indexOf('=');
    return { key: pair.slice(0, eq), value: pair.slice(eq + 1) };
  })
  // The key becomes a JSON path in SQL, so only real label keys get that far.
  .pipe(z.object({ key: labelKeySchema, value: z.string() }));
