import { z } from 'zod';

export const tokenCreateSchema = z
  .object({ name: z.string().min(1).max(128).regex(/^[\w.@ -]+$/, 'letters, digits, space and . _ - @ only') })
  .strict();

export const tokenIdParams = z.object({ id: z.string().regex(/^[a-f0-9]{16}$/, 'must be a token id') }).strict();

export const tokenViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type TokenView = z.infer<typeof tokenViewSchema>;

export const tokenCreatedSchema = tokenViewSchema.extend({
  token: z.string().describe('the secret bearer token; shown only in this response'),
});

export const tokenListSchema = z.object({ items: z.array(tokenViewSchema) });
