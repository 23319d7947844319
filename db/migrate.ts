import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { z } from 'zod';

const journalSchema = z.object({
  entries: z.array(z.object({ idx: z.number().int(), tag: z.string(), when: z.number() })),
});

export interface Migration {
  idx: number;
  tag: string;
  hash: string;
  statements: string[];
}

export class SchemaError extends Error {
  override name = 'SchemaError';
}

export function loadMigrations(dir: string): Migration[] {
  const journal = journalSchema.parse(JSON.parse(readFileSync(join(dir, 'meta', '_journal.json'), 'utf8')));
  return journal.entries
    .sort((a, b) => a.idx - b.idx)
    .map((entry) => {
      const text = readFileSync(join(dir, `${entry.tag}.sql`), 'utf8');
      return {
        idx: entry.idx,
        tag: entry.tag,
        hash: createHash('sha256').update(text).digest('hex'),
        statements: text
          .split('--> statement-breakpoint')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      };
    });
}

const appliedRow = z.object({ idx: z.number(), tag: z.string(), hash: z.string() });

/**
 * Applies every pending migration in one IMMEDIATE transaction: either the database ends up
 * at the newest schema this build knows or it is left exactly as it was.
 * Returns the tags applied.
 */
export function migrate(sqlite: Database.Database, migrations: Migration[]): string[] {
  return sqlite
    .transaction(() => {
      sqlite.exec(`CREATE TABLE IF NOT EXISTS beskar7_migrations (
        idx INTEGER PRIMARY KEY, tag TEXT NOT NULL, hash TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
      const applied = z.array(appliedRow).parse(sqlite.prepare('SELECT idx, tag, hash FROM beskar7_migrations ORDER BY idx').all());
      const newest = migrations.at(-1)?.idx ?? -1;
      const unknown = applied.find((row) => row.idx > newest);
      if (unknown) {
        throw new SchemaError(
          `database schema is newer than this beskar7: it has migration ${unknown.idx} (${unknown.tag}) but this build knows up to ${newest}; ` +
            'run the newer beskar7 that wrote it, or restore a backup taken before the upgrade',
        );
      }
      for (const row of applied) {
        const known = migrations.find((m) => m.idx === row.idx);
        if (known && known.hash !== row.hash) {
          throw new SchemaError(`migration ${row.idx} (${row.tag}) in the database differs from the one shipped with this build`);
        }
      }
      const done = new Set(applied.map((row) => row.idx));
      const insert = sqlite.prepare('INSERT INTO beskar7_migrations (idx, tag, hash, applied_at) VALUES (?, ?, ?, ?)');
      const ran: string[] = [];
      for (const migration of migrations) {
        if (done.has(migration.idx)) continue;
        for (const statement of migration.statements) sqlite.exec(statement);
        insert.run(migration.idx, migration.tag, migration.hash, Date.now());
        ran.push(migration.tag);
      }
      return ran;
    })
    .immediate();
}
