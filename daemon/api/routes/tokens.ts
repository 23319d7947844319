import type { TokenService } from '../../core/tokens.js';
import { tokenCreatedSchema, tokenCreateSchema, tokenIdParams, tokenListSchema, tokenViewSchema } from '../../core/schemas/token.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

export function tokenRoutes(tokens: TokenService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/tokens',
      summary: 'Create an API token',
      description: 'The token is in this response only; the daemon keeps just its hash.',
      tag: 'tokens',
      auth: 'api',
      body: tokenCreateSchema,
      responses: { 201: { description: 'the new token', schema: tokenCreatedSchema } },
      handler: ({ body }, _request, reply) => {
        void reply.status(201);
        return tokens.create(body.name);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/tokens',
      summary: 'List API tokens (without secrets)',
      tag: 'tokens',
      auth: 'api',
      responses: { 200: { description: 'tokens', schema: tokenListSchema } },
      handler: () => ({ items: tokens.list() }),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/tokens/:id',
      summary: 'Revoke an API token',
      tag: 'tokens',
      auth: 'api',
      params: tokenIdParams,
      responses: { 200: { description: 'the revoked token', schema: tokenViewSchema }, 404: { description: 'no such token' } },
      handler: ({ params }) => tokens.revoke(params.id),
    }),
  ];
}
