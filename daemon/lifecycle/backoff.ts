/**
 * Delay before retry number `attempt` (1 = first retry): doubling from base, capped, with
 * "equal jitter" so a rack of hosts that failed together does not retry together.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}
