import type Database from 'better-sqlite3';
import type { Keyring } from './keyring.js';
import { bmcCredentialContext, bootstrapContext } from './contexts.js';

export interface RotationResult {
  newKeyId: string;
  resealed: number;
  retiredKeyIds: string[];
}

/** Every place a sealed value lives, with the row context it was sealed under. */
const SEALED_COLUMNS = [
  { table: 'bmc_credentials', id: 'host_id', data: 'sealed_password', context: bmcCredentialContext },
  { table: 'machine_bootstrap', id: 'machine_id', data: 'sealed_data', context: bootstrapContext },
] as const;

interface SealedRow {
  id: number;
  keyId: string;
  data: Buffer;
}

/**
 * Adds a key, re-seals every secret with it in one transaction, then deletes the old key
 * files. A crash before the commit leaves the old rows and keys intact; a crash after it
 * only leaves unused key files, which the next rotation retires.
 */
export function rotateKeys(sqlite: Database.Database, keyring: Keyring): RotationResult {
  const newKeyId = keyring.addKey();
  const reseal = sqlite.transaction(() => {
    let count = 0;
    for (const column of SEALED_COLUMNS) {
      const rows = sqlite.prepare<[], SealedRow>(`SELECT ${column.id} AS id, key_id AS keyId, ${column.data} AS data FROM ${column.table}`).all();
      const update = sqlite.prepare(`UPDATE ${column.table} SET key_id = ?, ${column.data} = ?, updated_at = ? WHERE ${column.id} = ?`);
      for (const row of rows) {
        const context = column.context(row.id);
        const sealed = keyring.seal(keyring.open({ keyId: row.keyId, data: row.data }, context), context);
        update.run(sealed.keyId, sealed.data, Date.now(), row.id);
        count++;
      }
    }
    return count;
  });
  // IMMEDIATE: take the write lock up front rather than fail half-way when the daemon writes.
  const resealed = reseal.immediate();
  const retiredKeyIds = keyring.keyIds.filter((id) => id !== newKeyId);
  for (const id of retiredKeyIds) keyring.removeKey(id);
  return { newKeyId, resealed, retiredKeyIds };
}
