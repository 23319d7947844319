import { eq } from 'drizzle-orm';
import type { Db } from '../../db/open.js';
import { bmcCredentials, machineBootstrap } from '../../db/schema.js';
import type { Keyring } from './keyring.js';
import { bmcCredentialContext, bootstrapContext } from './contexts.js';

export interface RotationResult {
  newKeyId: string;
  resealed: number;
  retiredKeyIds: string[];
}

/**
 * Adds a key, re-seals every secret with it in one transaction, then deletes the old key
 * files. A crash before the commit leaves the old rows and keys intact; a crash after it
 * only leaves unused key files, which the next rotation retires.
 */
export function rotateKeys(db: Db, keyring: Keyring): RotationResult {
  const newKeyId = keyring.addKey();
  const resealed = db.transaction((tx) => {
    let count = 0;
    for (const row of tx.select().from(bmcCredentials).all()) {
      const context = bmcCredentialContext(row.hostId);
      const plain = keyring.open({ keyId: row.keyId, data: row.sealedPassword }, context);
      const sealed = keyring.seal(plain, context);
      tx.update(bmcCredentials)
        .set({ keyId: sealed.keyId, sealedPassword: sealed.data, updatedAt: Date.now() })
        .where(eq(bmcCredentials.hostId, row.hostId))
        .run();
      count++;
    }
    for (const row of tx.select().from(machineBootstrap).all()) {
      const context = bootstrapContext(row.machineId);
      const plain = keyring.open({ keyId: row.keyId, data: row.sealedData }, context);
      const sealed = keyring.seal(plain, context);
      tx.update(machineBootstrap)
        .set({ keyId: sealed.keyId, sealedData: sealed.data, updatedAt: Date.now() })
        .where(eq(machineBootstrap.machineId, row.machineId))
        .run();
      count++;
    }
    return count;
  }, { behavior: 'immediate' });
  const retiredKeyIds = keyring.keyIds.filter((id) => id !== newKeyId);
  for (const id of retiredKeyIds) keyring.removeKey(id);
  return { newKeyId, resealed, retiredKeyIds };
}
