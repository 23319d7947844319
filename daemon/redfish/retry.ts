import { setTimeout as sleep } from 'node:timers/promises';
import { RedfishError } from './errors.js';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** 0..1 of randomness so a rack of BMCs recovering together is not retried in lockstep. */
  jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 8000, jitter: 0.5 };

/** Statuses that mean "not now" rather than "no": busy, overloaded, restarting. */
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export function isTransient(error: unknown): boolean {
  if (!(error instanceof RedfishError)) return false;
  if (error.kind === 'transport' || error.kind === 'timeout') return true;
  return error.kind === 'http' && error.status !== undefined && TRANSIENT_STATUS.has(error.status);
}

export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(exponential * (1 - policy.jitter + policy.jitter * random()));
}

/**
 * Runs `work` until it succeeds, fails for good, or the attempts are used up. The caller says
 * which failures may be retried (only idempotent requests, or errors that prove nothing happened).
 */
export async function withRetry<T>(
  work: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  retryable: (error: unknown) => boolean = isTransient,
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt + 1 >= policy.attempts || !retryable(error)) throw error;
      const asked = error instanceof RedfishError ? error.retryAfterMs : undefined;
      // Honour Retry-After, but never wait longer than the policy allows for one step.
      const delayMs = Math.min(policy.maxDelayMs * 4, asked ?? backoffDelay(attempt, policy));
      onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}
