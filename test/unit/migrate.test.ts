import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate, SchemaError } from '../../db/migrate.js';
import { migrationsDir, openDatabase } from '../../db/open.js';
import { tempDir } from '../helpers/daemon.js';

const tables = (db: Database.Database): string[] =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);

describe('migrations', () => {
  it('apply once on a new file, with WAL, foreign keys and a 0600 file', async () => {
    const file = join(tempDir(), 'b7.db');
    const first = openDatabase({ file, busyTimeoutMs: 100, synchronous: 'FULL' });
    expect(first.appliedMigrations).toEqual(['0000_initial', '0001_boot', '0002_lifecycle']);
    expect(first.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(first.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(first.sqlite.pragma('synchronous', { simple: true })).toBe(2);
    expect(tables(first.sqlite)).toEqual(expect.arrayContaining(['hosts', 'host_macs', 'bmc_credentials', 'machines', 'machine_bootstrap', 'api_tokens', 'events', 'boot_tokens']));
    first.close();
    const { statSync } = await import('node:fs');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = openDatabase({ file, busyTimeoutMs: 100, synchronous: 'FULL' });
    expect(second.appliedMigrations).toEqual([]);
    second.close();
  });

  it('refuses a database written by a newer beskar7, clearly', () => {
    const file = join(tempDir(), 'b7.db');
    openDatabase({ file, busyTimeoutMs: 100, synchronous: 'FULL' }).close();
    const raw = new Database(file);
    raw.prepare('INSERT INTO beskar7_migrations (idx, tag, hash, applied_at) VALUES (99, ?, ?, 0)').run('0099_future', 'x');
    raw.close();
    expect(() => openDatabase({ file, busyTimeoutMs: 100, synchronous: 'FULL' })).toThrow(SchemaError);
    expect(() => openDatabase({ file, busyTimeoutMs: 100, synchronous: 'FULL' })).toThrow(/newer than this beskar7: it has migration 99 \(0099_future\)/);
  });

  it('runs all pending migrations in one transaction: a failing one leaves the database as it was', () => {
    const dir = tempDir();
    const migrations = join(dir, 'migrations');
    mkdirSync(join(migrations, 'meta'), { recursive: true });
    writeFileSync(
      join(migrations, 'meta', '_journal.json'),
      JSON.stringify({ entries: [{ idx: 0, tag: '0000_a', when: 1 }, { idx: 1, tag: '0001_b', when: 2 }] }),
    );
    writeFileSync(join(migrations, '0000_a.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(join(migrations, '0001_b.sql'), 'CREATE TABLE b (x INTEGER);\n--> statement-breakpoint\nTHIS IS NOT SQL;');
    const db = new Database(join(dir, 't.db'));
    expect(() => migrate(db, loadMigrations(migrations))).toThrow();
    expect(tables(db)).toEqual([]);
    db.close();
  });

  it('detects a shipped migration that differs from the applied one', () => {
    const file = join(tempDir(), 'b7.db');
    openDatabase({ file, busyTimeoutMs: 100, synchronous: 'FULL' }).close();
    const raw = new Database(file);
    raw.prepare("UPDATE beskar7_migrations SET hash = 'tampered' WHERE idx = 0").run();
    expect(() => migrate(raw, loadMigrations(migrationsDir()))).toThrow(/differs from the one shipped/);
    raw.close();
  });
});
