import { describe, expect, it } from 'vitest';
import { LeaderElector, type LeaseRecord, type LeaseStore } from '../../../shim-operator/src/runtime/leader-election.js';

class Conflict extends Error {}

/** An apiserver's optimistic concurrency on one object, in memory. */
class MemoryLeaseStore implements LeaseStore {
  record: LeaseRecord | undefined;
  version = 0;
  failing = false;
  async get() {
    if (this.failing) throw new Error('apiserver unreachable');
    return this.record && { ...this.record };
  }
  async create(record: LeaseRecord) {
    if (this.failing) throw new Error('apiserver unreachable');
    if (this.record) throw new Conflict('exists');
    this.record = { ...record, resourceVersion: String(++this.version) };
    return { ...this.record };
  }
  async replace(record: LeaseRecord) {
    if (this.failing) throw new Error('apiserver unreachable');
    if (record.resourceVersion !== this.record?.resourceVersion) throw new Conflict('stale');
    this.record = { ...record, resourceVersion: String(++this.version) };
    return { ...this.record };
  }
  isConflict(error: unknown) {
    return error instanceof Conflict;
  }
}

const timing = { leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 20 };

function candidate(store: LeaseStore, identity: string) {
  const events: string[] = [];
  let started: () => void = () => undefined;
  const leading = new Promise<void>((resolve) => (started = resolve));
  const elector = new LeaderElector(store, { identity, ...timing }, {
    onStartedLeading: () => {
      events.push('started');
      started();
    },
    onStoppedLeading: () => {
      events.push('stopped');
    },
  });
  const done = elector.run();
  return { elector, events, leading, done };
}

describe('LeaderElector', () => {
  it('elects exactly one of two candidates, and hands over when the leader stops', async () => {
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'a');
    const b = candidate(store, 'b');
    const first = await Promise.race([a.leading.then(() => a), b.leading.then(() => b)]);
    const second = first === a ? b : a;
    // The follower keeps trying for longer than a lease and still does not lead.
    await new Promise((resolve) => setTimeout(resolve, 3 * timing.leaseDurationMs));
    expect(first.elector.isLeader).toBe(true);
    expect(second.elector.isLeader).toBe(false);
    expect(store.record?.holderIdentity).toBe(first === a ? 'a' : 'b');

    // A clean stop releases the lease: the other takes over without waiting out the lease.
    const stoppedAt = Date.now();
    first.elector.stop();
    await first.done;
    await second.leading;
    expect(Date.now() - stoppedAt).toBeLessThan(timing.leaseDurationMs + 1000);
    expect(first.events).toEqual(['started', 'stopped']);
    expect(store.record?.leaseTransitions).toBeGreaterThanOrEqual(1);
    second.elector.stop();
    await second.done;
  });

  it('stops leading when it cannot renew within the renew deadline', async () => {
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'a');
    await a.leading;
    store.failing = true;
    await a.done;
    expect(a.events).toEqual(['started', 'stopped']);
    expect(a.elector.isLeader).toBe(false);
  });

  it('takes over a lease whose holder died, only after watching it unrenewed for a lease duration', async () => {
    const store = new MemoryLeaseStore();
    store.record = { holderIdentity: 'dead', leaseDurationSeconds: 1, acquireTime: new Date(0), renewTime: new Date(0), leaseTransitions: 3, resourceVersion: '7' };
    const started = Date.now();
    const b = candidate(store, 'b');
    await b.leading;
    // Its renewTime says 1970; b still waited a full lease by its own clock.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(store.record?.leaseTransitions).toBe(4);
    b.elector.stop();
    await b.done;
  });
});
