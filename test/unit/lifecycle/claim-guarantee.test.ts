import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../db/open.js';
import { tempDir } from '../../helpers/daemon.js';

describe('claims are a database guarantee', () => {
  it('refuses a second machine on a host, whatever the code above it does', () => {
    const dir = tempDir();
    const database = openDatabase({ file: join(dir, 'b7.db'), busyTimeoutMs: 100, synchronous: 'NORMAL' });
    const { sqlite } = database;
    try {
      const now = Date.now();
      const host = sqlite.prepare("INSERT INTO hosts (namespace, name, power_control, state, created_at, updated_at) VALUES ('default', 'h', 'manual', 'Available', ?, ?)").run(now, now);
      const machine = sqlite.prepare(
        "INSERT INTO machines (namespace, name, hardware_requirements, host_selector, image, phase, host_id, created_at, updated_at) VALUES ('default', ?, '{}', '{}', '{}', 'Claimed', ?, ?, ?)",
      );
      machine.run('m1', host.lastInsertRowid, now, now);
      expect(() => machine.run('m2', host.lastInsertRowid, now, now)).toThrow(/UNIQUE constraint failed: machines.host_id/);
    } finally {
      database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
