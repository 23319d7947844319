import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../bootserver/tftp/ratelimit.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the configured rate', () => {
    let now = 0;
    const limiter = new RateLimiter(10, 3, () => now);
    expect([limiter.take(), limiter.take(), limiter.take(), limiter.take()]).toEqual([true, true, true, false]);
    now += 100; // one token per 100 ms
    expect([limiter.take(), limiter.take()]).toEqual([true, false]);
    now += 10_000; // never more than the burst
    expect(Array.from({ length: 5 }, () => limiter.take()).filter(Boolean)).toHaveLength(3);
  });
});
