export interface BackoffPolicy {
  /** Delay before the first retry after a healthy connection. */
  initialMs: number;
  /** Cap of the exponential growth. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 first), with "equal jitter": between half and all of
 * min(maxMs, initialMs · 2^attempt), so shims restarted together do not reconnect in step and
 * no delay collapses to zero.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  // 2^30 already exceeds any sensible cap; bounding the exponent keeps the product finite.
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
