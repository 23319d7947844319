import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/daemon.js';
import { spawnDaemon } from '../helpers/process.js';

describe('graceful shutdown', () => {
  it('on SIGTERM ends event streams, drains, checkpoints the database and exits 0', async () => {
    const dataDir = tempDir('beskar7-term-');
    const daemon = await spawnDaemon(dataDir);
    const stream = await fetch(`${daemon.url}/api/v1/events?since=0`, { headers: { authorization: `Bearer ${daemon.token}` } });
    expect(stream.status).toBe(200);
    const body = stream.body;
    if (!body) throw new Error('no stream body');
    const reader = body.getReader();
    await reader.read();
    daemon.child.kill('SIGTERM');
    // The stream must end by itself (done), not hang until the test times out.
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    const { code } = await daemon.exited;
    expect(code).toBe(0);
    const log = daemon.stdout.join('\n');
    expect(log).toContain('"signal":"SIGTERM"');
    expect(log).toContain('"msg":"stopped"');
    // Closing the last connection checkpoints the WAL into the main file and removes it.
    expect(existsSync(join(dataDir, 'beskar7.db-wal'))).toBe(false);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
