/**
 * Work keyed by host: at most one worker per key at a time, at most `concurrency` keys at once.
 * Adding a key that is running marks it dirty, so it runs once more after the current run —
 * nothing that happened during a run is missed, and no key ever runs twice in parallel.
 */
export class KeyedWorkQueue<K> {
  private readonly waiting: K[] = [];
  private readonly queued = new Set<K>();
  private readonly running = new Set<K>();
  private readonly dirty = new Set<K>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly concurrency: number,
    private readonly work: (key: K) => Promise<void>,
    private readonly onError: (key: K, error: unknown) => void,
  ) {}

  add(key: K): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.waiting.push(key);
    this.pump();
  }

  get size(): { waiting: number; running: number } {
    return { waiting: this.waiting.length, running: this.running.size };
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift() as K;
      this.queued.delete(key);
      this.running.add(key);
      void this.run(key);
    }
    if (this.running.size === 0 && this.waiting.length === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async run(key: K): Promise<void> {
    try {
      await this.work(key);
    } catch (error) {
      this.onError(key, error);
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Takes no new work; runs in progress finish (the caller awaits idle()). */
  stop(): void {
    this.stopped = true;
    this.waiting.length = 0;
    this.queued.clear();
    this.dirty.clear();
    if (this.running.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
