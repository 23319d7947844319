/**
 * One operation in flight per BMC (BMCs are small computers that serialise or fail under
 * concurrent sessions), and at most `limit` BMCs in conversation at once across the daemon.
 */
export class BmcGate {
  private readonly tails = new Map<string, Promise<unknown>>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  run<T>(bmc: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(bmc) ?? Promise.resolve();
    const result = previous.catch(() => undefined).then(() => this.withSlot(work));
    const tail = result.catch(() => undefined);
    this.tails.set(bmc, tail);
    void tail.then(() => {
      if (this.tails.get(bmc) === tail) this.tails.delete(bmc);
    });
    return result;
  }

  private async withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  get inFlight(): number {
    return this.active;
  }
}
