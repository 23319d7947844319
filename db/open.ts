import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { packageRoot } from '../daemon/util/package-root.js';
import { loadMigrations, migrate } from './migrate.js';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;

export interface OpenOptions {
  file: string;
  busyTimeoutMs: number;
  /** FULL survives power loss; NORMAL only survives a process crash. */
  synchronous: 'FULL' | 'NORMAL';
}

export interface OpenDatabase {
  db: Db;
  sqlite: Database.Database;
  appliedMigrations: string[];
  close(): void;
}

export function migrationsDir(): string {
  return join(packageRoot(), 'db', 'migrations');
}

export function openDatabase(options: OpenOptions): OpenDatabase {
  const isNew = !existsSync(options.file);
  mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
  const sqlite = new Database(options.file);
  try {
    // Credentials are sealed, but token hashes and inventory are still nobody else's business.
    if (isNew) chmodSync(options.file, 0o600);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${options.synchronous}`);
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    const appliedMigrations = migrate(sqlite, loadMigrations(migrationsDir()));
    const db = drizzle(sqlite, { schema });
    return {
      db,
      sqlite,
      appliedMigrations,
      close: () => {
        if (sqlite.open) sqlite.close();
      },
    };
  } catch (error) {
    sqlite.close();
    throw error;
  }
}
