import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { hostBody, tempDir } from '../helpers/daemon.js';
import { spawnDaemon, stopDaemon, type DaemonProcess } from '../helpers/process.js';

const dataDir = tempDir('beskar7-crash-');
const started: DaemonProcess[] = [];
afterAll(async () => {
  for (const daemon of started) await stopDaemon(daemon);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 during a burst of writes', () => {
  it('loses nothing that was acknowledged, and the daemon restarts cleanly', async () => {
    const first = await spawnDaemon(dataDir);
    started.push(first);
    const token = first.token;
    expect(token).not.toBe('');
    const acknowledged: string[] = [];
    let killed = false;
    let attempted = 0;
    const writer = async (worker: number) => {
      for (let i = 0; !killed; i++) {
        const name = `burst-${worker}-${i}`;
        attempted++;
        try {
          const res = await fetch(`${first.url}/api/v1/hosts`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(hostBody(name, { bootMACAddresses: [`52:54:${worker.toString(16).padStart(2, '0')}:${[(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`] })),
          });
          if (res.status === 201) acknowledged.push(name);
          else expect(res.status).toBe(201);
        } catch {
          // The connection died with the process: this write was never acknowledged.
          return;
        }
      }
    };
    const writers = Array.from({ length: 12 }, (_, w) => writer(w));
    // Kill once a good number of writes were acknowledged, while the others are in flight.
    while (acknowledged.length < 300) await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGKILL');
    killed = true;
    await first.exited;
    await Promise.all(writers);
    expect(attempted).toBeGreaterThan(acknowledged.length);

    const second = await spawnDaemon(dataDir);
    started.push(second);
    expect(second.token).toBe('');
    const names = new Set<string>();
    let cursor: string | null = null;
    do {
      const res = await fetch(`${second.url}/api/v1/hosts?limit=10000${cursor ? `&continue=${cursor}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: { name: string }[]; continue: string | null };
      for (const host of page.items) names.add(host.name);
      cursor = page.continue;
    } while (cursor);
    const lost = acknowledged.filter((name) => !names.has(name));
    expect(lost).toEqual([]);
    // Every stored host has its Registered event: state and event log were one transaction.
    const registered: string[] = [];
    for (let since = 0; ; ) {
      const res = await fetch(`${second.url}/api/v1/events/log?since=${since}&limit=500&kind=host`, { headers: { authorization: `Bearer ${token}` } });
      const page = (await res.json()) as { items: { name: string; type: string }[]; next: number };
      if (page.items.length === 0) break;
      registered.push(...page.items.filter((e) => e.type === 'Registered').map((e) => e.name));
      since = page.next;
    }
    expect(registered.sort()).toEqual([...names].sort());
    const ready = await fetch(`${second.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await stopDaemon(second)).code).toBe(0);
  });
});
