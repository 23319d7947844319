import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { asc, count, eq, isNull } from 'drizzle-orm';
import { apiTokens } from '../../db/schema.js';
import { notFound } from './errors.js';
import type { TokenView } from './schemas/token.js';
import type { Store } from './store.js';

const TOKEN = /^b7_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
const LAST_USED_RESOLUTION_MS = 60_000;

type TokenRow = typeof apiTokens.$inferSelect;

const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret).digest();
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function toView(row: TokenRow): TokenView {
  return { id: row.id, name: row.name, createdAt: iso(row.createdAt) as string, lastUsedAt: iso(row.lastUsedAt), revokedAt: iso(row.revokedAt) };
}

/**
 * API bearer tokens `b7_<id>_<secret>`: the id finds the row, the secret is 256 random bits
 * kept only as its sha256 and compared in constant time.
 */
export class TokenService {
  // Avoids a write per request: last-use is recorded at most once a minute per token.
  private readonly lastUseWritten = new Map<string, number>();
  // Every authenticated request runs this lookup; prepared once, not rebuilt per request.
  private readonly lookup: Database.Statement<[string], { id: string; secret_hash: Buffer; revoked_at: number | null }>;

  constructor(private readonly store: Store) {
    this.lookup = store.sqlite.prepare('SELECT id, secret_hash, revoked_at FROM api_tokens WHERE id = ?');
  }

  create(name: string): TokenView & { token: string } {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    return this.store.write((tx, record) => {
      const row = tx.insert(apiTokens).values({ id, name, secretHash: hashSecret(secret), createdAt: Date.now() }).returning().get();
      record({ kind: 'token', namespace: '', name: id, type: 'Created', message: `API token "${name}" created`, data: { tokenName: name } });
      return { ...toView(row), token: `b7_${id}_${secret}` };
    });
  }

  list(): TokenView[] {
    return this.store.db.select().from(apiTokens).orderBy(asc(apiTokens.createdAt)).all().map(toView);
  }

  revoke(id: string): TokenView {
    return this.store.write((tx, record) => {
      const row = tx.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
      if (!row) throw notFound('token', id);
      if (row.revokedAt !== null) return toView(row);
      const updated = tx.update(apiTokens).set({ revokedAt: Date.now() }).where(eq(apiTokens.id, id)).returning().get();
      record({ kind: 'token', namespace: '', name: id, type: 'Revoked', message: `API token "${row.name}" revoked`, data: { tokenName: row.name } });
      return toView(updated);
    });
  }

  /** True when no token was ever created: the first start, when an admin token is minted. */
  neverCreated(): boolean {
    return (this.store.db.select({ n: count() }).from(apiTokens).get()?.n ?? 0) === 0;
  }

  activeCount(): number {
    return this.store.db.select({ n: count() }).from(apiTokens).where(isNull(apiTokens.revokedAt)).get()?.n ?? 0;
  }

  /** Returns the token's id when valid; every kind of failure is the same `null`. */
  verify(presented: string): string | null {
    const match = TOKEN.exec(presented);
    // Hash even on a malformed token so failures take the same path and time.
    const presentedHash = hashSecret(match?.[2] ?? presented);
    const id = match?.[1];
    const row = id ? this.lookup.get(id) : undefined;
    const expected = row?.secret_hash ?? Buffer.alloc(32);
    const equal = timingSafeEqual(presentedHash, expected.length === 32 ? expected : Buffer.alloc(32));
    if (!row || !equal || row.revoked_at !== null) return null;
    const now = Date.now();
    if (now - (this.lastUseWritten.get(row.id) ?? 0) > LAST_USED_RESOLUTION_MS) {
      this.lastUseWritten.set(row.id, now);
      this.store.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.id)).run();
    }
    return row.id;
  }
}
