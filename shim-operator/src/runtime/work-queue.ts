/**
 * A controller's work queue, as client-go's: a key is queued at most once; a key being reconciled
 * that changes again is reconciled once more after the current run; failures come back later by
 * per-key exponential backoff, and an overall token bucket keeps a burst of failures from flooding
 * the apiserver or the daemon. Keys are "namespace/name".
 */
export interface RateLimits {
  /** First retry delay of a failing key; doubles per failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Overall retries per second, and the burst allowed above it. */
  retriesPerSecond: number;
  burst: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { baseDelayMs: 5, maxDelayMs: 300_000, retriesPerSecond: 10, burst: 100 };

export type ReconcileOutcome = { requeueAfterMs?: number } | void;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  /** Changed while running: queue again when the run ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiting: (() => void)[] = [];
  private tokens: number;
  private tokensAt = Date.now();
  private shuttingDown = false;

  constructor(private readonly limits: RateLimits = DEFAULT_RATE_LIMITS) {
    this.tokens = limits.burst;
  }

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.waiting.shift()?.();
  }

  /** Adds the key after delayMs; an earlier pending add of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** After a failure: per-key exponential backoff, never faster than the overall bucket allows. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const perKey = Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** Math.min(failures, 40));
    const delay = Math.max(perKey, this.bucketDelayMs());
    this.addAfter(key, delay);
    return delay;
  }

  /** Success: the key's backoff starts over. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key, or undefined once shut down and drained. */
  async get(): Promise<string | undefined> {
    while (this.queue.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    const key = this.queue.shift() as string;
    this.queued.delete(key);
    this.running.add(key);
    return key;
  }

  done(key: string): void {
    this.running.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const wake of this.waiting.splice(0)) wake();
  }

  private bucketDelayMs(): number {
    const now = Date.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.limits.retriesPerSecond);
    this.tokensAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.limits.retriesPerSecond) * 1000;
  }
}

/**
 * Runs `workers` loops over the queue until it shuts down. A thrown error requeues the key with
 * backoff (reported to onError); a requested requeue comes back after its delay.
 */
export async function runWorkers(
  queue: WorkQueue,
  workers: number,
  reconcile: (key: string) => Promise<ReconcileOutcome>,
  onError: (key: string, error: unknown, retryInMs: number) => void,
): Promise<void> {
  const loop = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const outcome = await reconcile(key);
        queue.forget(key);
        if (outcome?.requeueAfterMs !== undefined) queue.addAfter(key, outcome.requeueAfterMs);
      } catch (error) {
        onError(key, error, queue.addRateLimited(key));
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}
