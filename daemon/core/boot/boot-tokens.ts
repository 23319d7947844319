import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { NetbootMode } from '../schemas/host.js';

/** A boot's token carries the boot's mode; `os` tokens belong to the installed system after provisioning. */
export type TokenMode = NetbootMode | 'os';

export interface VerifiedBootToken {
  tokenId: number;
  hostId: number;
  mode: TokenMode;
  expiresAt: number;
}

const ALL_MODES: readonly TokenMode[] = ['inspect', 'provision', 'wipe', 'os'];

interface TokenRow {
  id: number;
  host_id: number;
  mode: TokenMode;
  secret_hash: Buffer;
  expires_at: number;
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
  private readonly revokeBootForHost: Database.Statement<[number, number]>;
  private readonly revokeOlderOs: Database.Statement<[number, number, number]>;
  private readonly revokeOlder: Database.Statement<[number, number, number]>;
  private readonly insert: Database.Statement<[number, TokenMode, Buffer, number, number]>;
  private readonly live: Database.Statement<[string, string, number], TokenRow>;
  private readonly extend: Database.Statement<[number, number]>;
  private readonly revokeOthers: Database.Statement<[number, number, number]>;
  private readonly prune: Database.Statement<[number, number]>;

  constructor(
    sqlite: Database.Database,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.revokeForHost = sqlite.prepare('UPDATE boot_tokens SET revoked_at = ? WHERE host_id = ? AND revoked_at IS NULL');
    this.revokeBootForHost = sqlite.prepare("UPDATE boot_tokens SET revoked_at = ? WHERE host_id = ? AND revoked_at IS NULL AND mode != 'os'");
    this.revokeOlderOs = sqlite.prepare(
      `UPDATE boot_tokens SET revoked_at = ? WHERE host_id = ? AND revoked_at IS NULL AND mode = 'os'
       AND id NOT IN (SELECT id FROM boot_tokens WHERE host_id = ? AND revoked_at IS NULL AND mode = 'os' ORDER BY id DESC LIMIT ${LIVE_PER_HOST})`,
    );
    this.revokeOlder = sqlite.prepare(
      `UPDATE boot_tokens SET revoked_at = ? WHERE host_id = ? AND revoked_at IS NULL AND mode != 'os'
       AND id NOT IN (SELECT id FROM boot_tokens WHERE host_id = ? AND revoked_at IS NULL AND mode != 'os' ORDER BY id DESC LIMIT ${LIVE_PER_HOST})`,
    );
    this.insert = sqlite.prepare('INSERT INTO boot_tokens (host_id, mode, secret_hash, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)');
    this.live = sqlite.prepare(
      `SELECT t.id, t.host_id, t.mode, t.secret_hash, t.expires_at FROM boot_tokens t JOIN hosts h ON h.id = t.host_id
       WHERE h.namespace = ? AND h.name = ? AND t.revoked_at IS NULL AND t.expires_at > ? ORDER BY t.id DESC`,
    );
    this.extend = sqlite.prepare('UPDATE boot_tokens SET expires_at = ? WHERE id = ?');
    this.revokeOthers = sqlite.prepare("UPDATE boot_tokens SET revoked_at = ? WHERE host_id = ? AND id != ? AND revoked_at IS NULL AND mode != 'os'");
    // Dead rows are worth nothing (verify reads live ones only); keeping them would slow every lookup.
    this.prune = sqlite.prepare('DELETE FROM boot_tokens WHERE host_id = ? AND (revoked_at IS NOT NULL OR expires_at <= ?)');
  }

  /**
   * A fresh token for the host's current boot. The script route is public and a MAC is no
   * secret, so a stranger's render must not cancel the real machine's boot: the newest few
   * tokens stay valid, older ones stop working, and disarming the host (revoke) ends them all.
   */
  issue(hostId: number, mode: TokenMode, ttlMs: number = this.ttlMs): string {
    const now = this.now();
    this.prune.run(hostId, now);
    const secret = randomBytes(32).toString('base64url');
    this.insert.run(hostId, mode, hash(secret), now, now + ttlMs);
    (mode === 'os' ? this.revokeOlderOs : this.revokeOlder).run(now, hostId, hostId);
    return secret;
  }

  /** Ends every token of the host, the installed OS's too: it is deprovisioned or gone. */
  revoke(hostId: number): void {
    this.revokeForHost.run(this.now(), hostId);
  }

  /** Ends the ramdisk's tokens only: the installed OS keeps fetching its bootstrap data. */
  revokeBoot(hostId: number): void {
    this.revokeBootForHost.run(this.now(), hostId);
  }

  /**
   * The token's host and mode when it is live, belongs to that host and may do what `allowed`
   * names; null for every kind of failure. Reads only: keepAlive() and bind() are the writes.
   */
  verify(namespace: string, name: string, presented: string, allowed: readonly TokenMode[] = ALL_MODES): VerifiedBootToken | null {
    const presentedHash = hash(presented);
    let match: TokenRow | undefined;
    // Comparing against every live token keeps the time independent of which one matched.
    for (const row of this.live.all(namespace, name, this.now())) {
      if (row.secret_hash.length === presentedHash.length && timingSafeEqual(row.secret_hash, presentedHash)) match = row;
    }
    if (!match || !allowed.includes(match.mode)) return null;
    return { tokenId: match.id, hostId: match.host_id, mode: match.mode, expiresAt: match.expires_at };
  }

  /**
   * A boot that keeps talking stays alive: a slow image download is bounded by the run's own
   * deadline, not by the age of the script that started it. The caller decides when a run is
   * active; OS tokens keep their fixed life.
   */
  keepAlive(token: VerifiedBootToken): void {
    const now = this.now();
    if (token.mode !== 'os' && token.expiresAt < now + this.ttlMs / 2) this.extend.run(now + this.ttlMs, token.tokenId);
  }

  /**
   * First come, first served: the token that reports first owns the boot, and the host's other
   * ramdisk tokens (renders by anyone else who knew the MAC) stop working. OS tokens are spared.
   */
  bind(token: VerifiedBootToken): void {
    this.revokeOthers.run(this.now(), token.hostId, token.tokenId);
  }
}
