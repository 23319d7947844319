import Database from 'better-sqlite3';
import { NAMESPACE } from './host-fixtures.js';

/**
 * Marks hosts for an inspection boot straight in SQLite, standing in for the lifecycle
 * engine as the system tests do; the daemon reads netboot_mode on every request.
 */
export function armHosts(databaseFile: string, names: readonly string[]): void {
  const db = new Database(databaseFile, { timeout: 5000 });
  try {
    const arm = db.prepare("UPDATE hosts SET netboot_mode = 'inspect' WHERE namespace = ? AND name = ?");
    const changed = db.transaction(() => names.reduce((sum, name) => sum + arm.run(NAMESPACE, name).changes, 0))();
    if (changed !== names.length) throw new Error(`armed ${changed} of ${names.length} hosts: some were not registered`);
  } finally {
    db.close();
  }
}
