import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../../daemon/lifecycle/backoff.js';
import { WakeUps } from '../../../daemon/lifecycle/timers.js';
import { KeyedWorkQueue } from '../../../daemon/lifecycle/work-queue.js';

describe('retry backoff', () => {
  it('doubles from the base, caps at the maximum, and jitters within the upper half', () => {
    expect(retryDelayMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(retryDelayMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(retryDelayMs(50, 1000, 60_000, () => 1)).toBe(60_000);
    expect(retryDelayMs(5000, 1000, 60_000, () => 0.5)).toBe(45_000);
  });
});

describe('keyed work queue', () => {
  it('never runs one key twice at once, reruns a key touched while running, and bounds concurrency', async () => {
    const running = new Set<string>();
    let most = 0;
    const runs: string[] = [];
    const releases: (() => void)[] = [];
    const queue = new KeyedWorkQueue<string>(
      2,
      async (key) => {
        expect(running.has(key)).toBe(false);
        running.add(key);
        most = Math.max(most, running.size);
        runs.push(key);
        await new Promise<void>((resolve) => releases.push(resolve));
        running.delete(key);
      },
      (_key, error) => {
        throw error;
      },
    );
    queue.add('a');
    queue.add('b');
    queue.add('c');
    queue.add('a'); // a is running: marked to run once more
    queue.add('a');
    expect(queue.size).toEqual({ waiting: 1, running: 2 });
    while (releases.length > 0 || queue.size.running > 0) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await queue.idle();
    expect(most).toBe(2);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.sort()).toEqual(['a', 'a', 'b', 'c']);
  });

  it('reports a failing run and carries on', async () => {
    const errors: string[] = [];
    const queue = new KeyedWorkQueue<number>(1, (key) => (key === 1 ? Promise.reject(new Error('boom')) : Promise.resolve()), (key, error) => errors.push(`${key}: ${(error as Error).message}`));
    queue.add(1);
    queue.add(2);
    await queue.idle();
    expect(errors).toEqual(['1: boom']);
  });
});

describe('wake-ups', () => {
  it('fires each key once at its latest time, in order, and forgets cleared keys', async () => {
    const fired: string[] = [];
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const now = Date.now();
    const wake = new WakeUps<string>((key) => {
      fired.push(key);
      if (fired.length === 3) done();
    });
    wake.set('late', now + 60);
    wake.set('early', now + 10);
    wake.set('moved', now + 5);
    wake.set('moved', now + 40); // superseded: fires once, at the later time
    wake.set('gone', now + 20);
    wake.clear('gone');
    await all;
    expect(fired).toEqual(['early', 'moved', 'late']);
    expect(wake.pending).toBe(0);
    wake.stop();
  });
});
