import { describe, expect, it } from 'vitest';
import { runWorkers, WorkQueue } from '../../../shim-operator/src/runtime/work-queue.js';

const limits = { baseDelayMs: 5, maxDelayMs: 1000, retriesPerSecond: 1000, burst: 1000 };

describe('WorkQueue', () => {
  it('queues a key once, and once more when it changes while being reconciled', async () => {
    const queue = new WorkQueue(limits);
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('a');
    queue.add('a'); // changed while running
    expect(queue.length).toBe(1);
    queue.done('a');
    expect(await queue.get()).toBe('b');
    expect(await queue.get()).toBe('a');
  });

  it('backs a failing key off exponentially, and starts over after a success', () => {
    const queue = new WorkQueue(limits);
    expect([1, 2, 3, 4].map(() => queue.addRateLimited('k'))).toEqual([5, 10, 20, 40]);
    queue.forget('k');
    expect(queue.addRateLimited('k')).toBe(5);
    for (let i = 0; i < 30; i++) queue.addRateLimited('k');
    expect(queue.addRateLimited('k')).toBe(1000);
    queue.shutDown();
  });

  it('limits retries overall with a token bucket', () => {
    const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 1, retriesPerSecond: 10, burst: 2 });
    const delays = ['a', 'b', 'c', 'd'].map((k) => queue.addRateLimited(k));
    expect(delays[0]).toBe(1);
    expect(delays[1]).toBe(1);
    expect(delays[2]).toBeGreaterThan(90);
    expect(delays[3]).toBeGreaterThan(190);
    queue.shutDown();
  });

  it('keeps the earlier of two delayed adds', async () => {
    const queue = new WorkQueue(limits);
    queue.addAfter('k', 60_000);
    queue.addAfter('k', 10);
    const started = Date.now();
    expect(await queue.get()).toBe('k');
    expect(Date.now() - started).toBeLessThan(5000);
    queue.shutDown();
  });

  it('runs workers until shut down: errors requeue with backoff, requeueAfter comes back', async () => {
    const queue = new WorkQueue(limits);
    const seen: string[] = [];
    const errors: string[] = [];
    let failFirst = true;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const workers = runWorkers(
      queue,
      2,
      async (key) => {
        seen.push(key);
        if (key === 'flaky' && failFirst) {
          failFirst = false;
          throw new Error('daemon unreachable');
        }
        if (key === 'poll' && seen.filter((k) => k === 'poll').length === 1) return { requeueAfterMs: 10 };
        if (seen.filter((k) => k === 'poll').length === 2 && seen.filter((k) => k === 'flaky').length === 2) done();
        return undefined;
      },
      (key, error) => errors.push(`${key}: ${(error as Error).message}`),
    );
    queue.add('flaky');
    queue.add('poll');
    await finished;
    queue.shutDown();
    await workers;
    expect(errors).toEqual(['flaky: daemon unreachable']);
    expect(queue.failuresOf('flaky')).toBe(0);
    expect(seen.filter((k) => k === 'flaky')).toHaveLength(2);
  });
});
