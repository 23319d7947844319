import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { NetbootMode } from '../schemas/host.js';

export interface VerifiedBootToken {
  tokenId: number;
  hostId: number;
  mode: NetbootMode;
}

interface TokenRow {
  id: number;
  host_id: number;
  mode: NetbootMode;
  secret_hash: Buffer;
}

const hash = (secret: string): Buffer => createHash('sha256').update(secret).digest();

/** How many renders of one boot stay valid at once (see issue()). */
const LIVE_PER_HOST = 3;

/**
 * The ramdisk's bearer tokens: 256 random bits, bound to one host and its current boot,
 * expiring, kept only as sha256, compared in constant time. Callers run issue() inside their
 * write transaction.
 */
export class BootTokens {
  private readonly revokeForHost: Database.Statement<[number, number]>;
  private readonly revokeOlder: Database.Statement<[number, number, number]>;
  private readonly insert: Database.Statement<[number, NetbootMode, Buffer, number, number]>;
  private readonly live: Database.Statement<[string, string, number], TokenRow>;

  constructor(
    sqlite: Database.Database,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.revokeForHost = sqlite.prepare('UPDATE boot_tokens SET revoked_at = ? WHERE host_id = ? AND revoked_at IS NULL');
    this.revokeOlder = sqlite.prepare(
      `UPDATE boot_tokens SET revoked_at = ? WHERE host_id = ? AND revoked_at IS NULL
       AND id NOT IN (SELECT id FROM boot_tokens WHERE host_id = ? AND revoked_at IS NULL ORDER BY id DESC LIMIT ${LIVE_PER_HOST})`,
    );
    this.insert = sqlite.prepare('INSERT INTO boot_tokens (host_id, mode, secret_hash, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)');
    this.live = sqlite.prepare(
      `SELECT t.id, t.host_id, t.mode, t.secret_hash FROM boot_tokens t JOIN hosts h ON h.id = t.host_id
       WHERE h.namespace = ? AND h.name = ? AND t.revoked_at IS NULL AND t.expires_at > ? ORDER BY t.id DESC`,
    );
  }

  /**
   * A fresh token for the host's current boot. The script route is public and a MAC is no
   * secret, so a stranger's render must not cancel the real machine's boot: the newest few
   * tokens stay valid, older ones stop working, and disarming the host (revoke) ends them all.
   */
  issue(hostId: number, mode: NetbootMode): string {
    const now = this.now();
    const secret = randomBytes(32).toString('base64url');
    this.insert.run(hostId, mode, hash(secret), now, now + this.ttlMs);
    this.revokeOlder.run(now, hostId, hostId);
    return secret;
  }

  /** Ends the host's boot tokens, e.g. when its run finishes or it is deprovisioned. */
  revoke(hostId: number): void {
    this.revokeForHost.run(this.now(), hostId);
  }

  /** The token's host and mode when it is live and belongs to that host; null for every kind of failure. */
  verify(namespace: string, name: string, presented: string): VerifiedBootToken | null {
    const presentedHash = hash(presented);
    let match: TokenRow | undefined;
    // At most one token is live per host; comparing against each keeps the time independent of which matched.
    for (const row of this.live.all(namespace, name, this.now())) {
      if (row.secret_hash.length === presentedHash.length && timingSafeEqual(row.secret_hash, presentedHash)) match = row;
    }
    return match ? { tokenId: match.id, hostId: match.host_id, mode: match.mode } : null;
  }
}
