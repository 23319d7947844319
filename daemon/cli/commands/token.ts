import { z } from 'zod';
import { openDatabase } from '../../../db/open.js';
import { EventBus } from '../../core/event-bus.js';
import { tokenCreatedSchema, tokenCreateSchema, tokenListSchema, tokenViewSchema, type TokenView } from '../../core/schemas/token.js';
import { Store } from '../../core/store.js';
import { TokenService } from '../../core/tokens.js';
import { UsageError, type Command, type CommandContext } from '../command.js';
import { age, printJson, printTable } from '../output.js';
import { configOptions, loadFromFlags, requireExistingDataDir } from './local-config.js';

const tokenOptions = { ...configOptions, offline: { type: 'boolean', default: false } } as const;

/** --offline works on the database file directly: for the first token under systemd, or a lost one. */
async function withOfflineTokens<T>(ctx: CommandContext, work: (tokens: TokenService) => T): Promise<T> {
  const loaded = loadFromFlags(ctx);
  requireExistingDataDir(loaded);
  const database = openDatabase({ file: loaded.databaseFile, busyTimeoutMs: loaded.config.database.busyTimeoutMs, synchronous: 'FULL' });
  try {
    return work(new TokenService(new Store(database.db, database.sqlite, new EventBus())));
  } finally {
    database.close();
  }
}

function printTokens(ctx: CommandContext, items: TokenView[]): void {
  if (ctx.out.json) return printJson(ctx.out, { items });
  printTable(
    ctx.out,
    ['ID', 'NAME', 'AGE', 'LAST USED', 'STATUS'],
    items.map((t) => [t.id, t.name, age(t.createdAt), t.lastUsedAt ? `${age(t.lastUsedAt)} ago` : 'never', t.revokedAt ? 'revoked' : 'active']),
  );
}

export const tokenCreateCommand: Command = {
  path: 'token create',
  summary: 'create an API token (printed once)',
  usage: 'beskar7 token create --name NAME [--offline [--config FILE|--data-dir DIR]]',
  options: { ...tokenOptions, name: { type: 'string' } },
  async run(ctx) {
    const name = ctx.values.name;
    if (typeof name !== 'string' || name === '') throw new UsageError('--name is required');
    // The same rule the REST API applies, for the --offline path that bypasses it.
    const valid = tokenCreateSchema.safeParse({ name });
    if (!valid.success) throw new UsageError(`--name ${valid.error.issues[0]?.message ?? 'is invalid'}`);
    const created = ctx.values.offline
      ? await withOfflineTokens(ctx, (tokens) => tokens.create(name))
      : await ctx.client().request('POST', '/api/v1/tokens', tokenCreatedSchema, { name });
    if (ctx.out.json) printJson(ctx.out, created);
    else ctx.out.write(`token ${created.id} "${created.name}" created; it is shown only now:\n${created.token}\n`);
    return 0;
  },
};

export const tokenListCommand: Command = {
  path: 'token list',
  summary: 'list API tokens (never their secrets)',
  usage: 'beskar7 token list [--offline] [--json]',
  options: tokenOptions,
  async run(ctx) {
    const items = ctx.values.offline
      ? await withOfflineTokens(ctx, (tokens) => tokens.list())
      : (await ctx.client().request('GET', '/api/v1/tokens', tokenListSchema)).items;
    printTokens(ctx, items);
    return 0;
  },
};

export const tokenRevokeCommand: Command = {
  path: 'token revoke',
  summary: 'revoke an API token by id',
  usage: 'beskar7 token revoke ID [--offline]',
  options: tokenOptions,
  async run(ctx) {
    const id = ctx.positionals[0];
    if (!id || !z.string().regex(/^[a-f0-9]{16}$/).safeParse(id).success) throw new UsageError('give the token id (16 hex digits) from "beskar7 token list"');
    const revoked = ctx.values.offline
      ? await withOfflineTokens(ctx, (tokens) => tokens.revoke(id))
      : await ctx.client().request('DELETE', `/api/v1/tokens/${id}`, tokenViewSchema);
    if (ctx.out.json) printJson(ctx.out, revoked);
    else ctx.out.write(`token ${revoked.id} "${revoked.name}" revoked\n`);
    return 0;
  },
};
