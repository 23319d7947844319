import { z } from 'zod';
import { namespaceSchema, nameSchema } from './common.js';

export const eventKinds = ['host', 'machine', 'token'] as const;

export const eventViewSchema = z.object({
  id: z.number().int(),
  time: z.string(),
  kind: z.enum(eventKinds),
  namespace: z.string(),
  name: z.string(),
  type: z.string(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type EventView = z.infer<typeof eventViewSchema>;

export const eventStreamQuery = z
  .object({
    kind: z.enum(eventKinds).optional(),
    namespace: namespaceSchema.optional(),
    name: nameSchema.optional(),
    /** Same as the Last-Event-ID header, for clients that cannot set headers (EventSource on first connect). */
    since: z.coerce.number().int().min(0).optional(),
  })
  .strict();
export type EventFilter = z.output<typeof eventStreamQuery>;
