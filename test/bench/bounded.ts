type Step = () => unknown;

/** What a benchmark started, undone in reverse order however the run ends. */
export class Cleanup {
  private readonly steps: { what: string; step: Step }[] = [];
  private closed = false;

  /** After run(), a step is run at once: work that outlived an abort may still create things. */
  add(what: string, step: Step): void {
    if (!this.closed) return void this.steps.push({ what, step });
    void (async () => step())().catch((error: unknown) => process.stderr.write(`late cleanup failed: ${what}: ${(error as Error).message}\n`));
  }

  /** Runs every step even when one fails; returns what went wrong. */
  async run(): Promise<string[]> {
    this.closed = true;
    const errors: string[] = [];
    for (const { what, step } of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        errors.push(`${what}: ${(error as Error).message}`);
      }
    }
    return errors;
  }
}

let interruptedBy: NodeJS.Signals | undefined;

/** The signal that interrupted a benchmark, so a runner of several stops instead of starting the next. */
export const interrupted = (): NodeJS.Signals | undefined => interruptedBy;

/**
 * Runs work under a time limit and SIGINT/SIGTERM: either ends the wait at once, then the
 * cleanup kills what the work started. Work must pass the signal on to whatever can block.
 */
export async function bounded<T>(what: string, limitSeconds: number, work: (signal: AbortSignal, cleanup: Cleanup) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const watchdog = setTimeout(() => controller.abort(new Error(`${what}: time limit of ${limitSeconds} s reached`)), limitSeconds * 1000);
  const onSignal = (signal: NodeJS.Signals) => {
    interruptedBy = signal;
    controller.abort(new Error(`${what}: received ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const aborted = new Promise<never>((_resolve, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true });
  });
  aborted.catch(() => undefined);
  const cleanup = new Cleanup();
  const working = work(controller.signal, cleanup);
  // After an abort the work fails late, against processes already stopped: expected, not news.
  working.catch(() => undefined);
  try {
    return await Promise.race([working, aborted]);
  } finally {
    clearTimeout(watchdog);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const error of await cleanup.run()) process.stderr.write(`${what}: cleanup failed: ${error}\n`);
  }
}
