/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: the holder renews the
 * lease every retryPeriod; others take it over only once they have watched it go unrenewed for
 * leaseDuration by their own clock (never comparing clocks across machines); every write carries
 * the resourceVersion it read, so two candidates can never both win. A leader that cannot renew
 * within renewDeadline stops leading.
 */
export interface LeaseRecord {
  holderIdentity: string | null;
  leaseDurationSeconds: number;
  acquireTime: Date | null;
  renewTime: Date | null;
  leaseTransitions: number;
  resourceVersion?: string;
}

/** The apiserver side, narrow so that tests and the real client both fit. */
export interface LeaseStore {
  get(): Promise<LeaseRecord | undefined>;
  /** Rejects with a conflict (see isConflict) when the lease exists already. */
  create(record: LeaseRecord): Promise<LeaseRecord>;
  /** Rejects with a conflict when record.resourceVersion is stale. */
  replace(record: LeaseRecord): Promise<LeaseRecord>;
  isConflict(error: unknown): boolean;
}

export interface LeaderElectionSettings {
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  now?: () => number;
}

export const DEFAULT_LEADER_ELECTION = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaderCallbacks {
  onStartedLeading(): void;
  /** Awaited before the lease is given up, so that no write of this replica overlaps the next leader's. */
  onStoppedLeading(): void | Promise<void>;
  onNewLeader?(identity: string): void;
  onError?(error: unknown): void;
}

export class LeaderElector {
  private observed: { record: LeaseRecord | undefined; key: string; at: number } = { record: undefined, key: '', at: 0 };
  private leading = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: LeaseStore,
    private readonly settings: LeaderElectionSettings,
    private readonly callbacks: LeaderCallbacks,
  ) {
    this.now = settings.now ?? Date.now;
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = settings;
    // client-go's rule: a leader must give up before anyone else may take over.
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs * 1.2)) {
      throw new Error(`leader election needs leaseDuration > renewDeadline > 1.2 × retryPeriod (got ${leaseDurationMs}, ${renewDeadlineMs}, ${retryPeriodMs} ms)`);
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns, leads, and returns when leadership is lost or stop() is called. */
  async run(): Promise<void> {
    while (!this.stopped && !this.leading) {
      if (await this.tryAcquireOrRenew()) break;
      await this.sleep(this.settings.retryPeriodMs);
    }
    if (this.stopped) return;
    this.leading = true;
    this.callbacks.onStartedLeading();
    let lastRenew = this.now();
    while (!this.stopped) {
      await this.sleep(this.settings.retryPeriodMs);
      if (this.stopped) break;
      // A renewal that hangs (a stalled apiserver) must not keep us leading past the deadline:
      // by then another replica may have taken the lease.
      const left = lastRenew + this.settings.renewDeadlineMs - this.now();
      const renewed = left > 0 && (await Promise.race([this.tryAcquireOrRenew(), this.timeout(left)]));
      if (renewed) {
        lastRenew = this.now();
        continue;
      }
      if (this.now() - lastRenew >= this.settings.renewDeadlineMs || !this.holdsObserved()) break;
    }
    const wasLeading = this.leading;
    this.leading = false;
    if (wasLeading) {
      await this.callbacks.onStoppedLeading();
      if (this.stopped) await this.release();
    }
  }

  private timeout(ms: number): Promise<false> {
    return new Promise((resolve) => setTimeout(() => resolve(false), ms).unref());
  }

  /** Stops campaigning or leading; a leader gives the lease up so another replica takes over at once. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private holdsObserved(): boolean {
    return this.observed.record?.holderIdentity === this.settings.identity;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const mine: LeaseRecord = {
      holderIdentity: this.settings.identity,
      leaseDurationSeconds: Math.ceil(this.settings.leaseDurationMs / 1000),
      acquireTime: new Date(now),
      renewTime: new Date(now),
      leaseTransitions: 0,
    };
    try {
      const current = await this.store.get();
      if (!current) {
        this.observe(await this.store.create(mine));
        return true;
      }
      this.observe(current);
      const held = current.holderIdentity !== null && current.holderIdentity !== '' && current.holderIdentity !== this.settings.identity;
      // Someone else holds it and we have not yet watched it go unrenewed for a whole lease.
      if (held && this.observed.at + current.leaseDurationSeconds * 1000 > now) return false;
      const ours = current.holderIdentity === this.settings.identity;
      const next: LeaseRecord = {
        ...mine,
        resourceVersion: current.resourceVersion,
        acquireTime: ours ? current.acquireTime : mine.acquireTime,
        leaseTransitions: ours ? current.leaseTransitions : current.leaseTransitions + 1,
      };
      this.observe(await this.store.replace(next));
      return true;
    } catch (error) {
      if (!this.store.isConflict(error)) this.callbacks.onError?.(error);
      return false;
    }
  }

  /** Remembers when the record last changed, by our clock: the basis of every expiry decision. */
  private observe(record: LeaseRecord): void {
    const key = `${record.holderIdentity ?? ''}|${record.renewTime?.getTime() ?? 0}|${record.resourceVersion ?? ''}`;
    if (key !== this.observed.key) {
      const previousHolder = this.observed.record?.holderIdentity;
      this.observed = { record, key, at: this.now() };
      if (record.holderIdentity && record.holderIdentity !== previousHolder) this.callbacks.onNewLeader?.(record.holderIdentity);
    }
  }

  private async release(): Promise<void> {
    const record = this.observed.record;
    if (!record || record.holderIdentity !== this.settings.identity) return;
    try {
      this.observe(await this.store.replace({ ...record, holderIdentity: null, leaseDurationSeconds: 1, renewTime: new Date(this.now()) }));
    } catch (error) {
      if (!this.store.isConflict(error)) this.callbacks.onError?.(error);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
