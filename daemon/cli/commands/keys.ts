import { openDatabase } from '../../../db/open.js';
import { Keyring } from '../../secrets/keyring.js';
import { rotateKeys } from '../../secrets/rotate.js';
import type { Command } from '../command.js';
import { existsSync } from 'node:fs';
import { UsageError } from '../command.js';
import { configOptions, loadFromFlags, requireExistingDataDir } from './local-config.js';

export const keysRotateCommand: Command = {
  path: 'keys rotate',
  summary: 'add a new encryption key, re-seal every stored secret with it, delete the old keys',
  usage: 'beskar7 keys rotate [--config FILE] [--data-dir DIR]  (safe while the daemon runs)',
  options: configOptions,
  async run(ctx) {
    const loaded = loadFromFlags(ctx);
    requireExistingDataDir(loaded);
    if (!existsSync(loaded.databaseFile)) throw new UsageError(`no database at ${loaded.databaseFile}: nothing to rotate; check --config or --data-dir`);
    const keyring = Keyring.open(loaded.keyDir);
    const database = openDatabase({ file: loaded.databaseFile, busyTimeoutMs: loaded.config.database.busyTimeoutMs, synchronous: 'FULL' });
    try {
      const result = rotateKeys(database.sqlite, keyring);
      if (ctx.out.json) ctx.out.write(`${JSON.stringify(result)}\n`);
      else
        ctx.out.write(
          `new key ${result.newKeyId}; re-sealed ${result.resealed} secret(s); retired ${result.retiredKeyIds.length} key(s)${result.retiredKeyIds.length ? `: ${result.retiredKeyIds.join(', ')}` : ''}\n`,
        );
      return 0;
    } finally {
      database.close();
    }
  },
};
