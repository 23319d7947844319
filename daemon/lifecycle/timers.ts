/**
 * Wake-ups at stored times (deadlines, retry times) for many keys with one Node timer: a
 * binary heap ordered by due time, with lazy deletion of superseded entries. The times
 * themselves live in the database; this only turns them into calls after a restart too.
 */
export class WakeUps<K> {
  private heap: { at: number; key: K }[] = [];
  private readonly due = new Map<K, number>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private stopped = false;

  constructor(
    private readonly fire: (key: K) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Wake `key` at `at` (ms epoch); replaces any earlier wish for that key. */
  set(key: K, at: number): void {
    if (this.stopped) return;
    this.due.set(key, at);
    this.push({ at, key });
    this.arm();
  }

  clear(key: K): void {
    this.due.delete(key);
  }

  get pending(): number {
    return this.due.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.heap = [];
    this.due.clear();
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top || top.at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = top.at;
    // setTimeout caps at 2^31-1 ms; a later wish just re-arms when this one fires.
    const delay = Math.min(Math.max(top.at - this.now(), 0), 2_147_483_647);
    this.timer = setTimeout(() => this.onTimer(), delay);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.now();
    for (let top = this.heap[0]; top && top.at <= now; top = this.heap[0]) {
      this.pop();
      // Superseded by a later set() or a clear(): skip.
      if (this.due.get(top.key) !== top.at) continue;
      this.due.delete(top.key);
      this.fire(top.key);
    }
    this.arm();
  }

  private push(entry: { at: number; key: K }): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as { at: number }).at <= entry.at) break;
      heap[i] = heap[parent] as { at: number; key: K };
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as { at: number }).at < (heap[left] as { at: number }).at ? right : left;
      if ((heap[child] as { at: number }).at >= last.at) break;
      heap[i] = heap[child] as { at: number; key: K };
      i = child;
    }
    heap[i] = last;
  }
}
