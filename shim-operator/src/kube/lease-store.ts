import type { LeaseRecord, LeaseStore } from '../runtime/leader-election.js';
import { isConflict, type KubeApi, type KubeObject, type Resource } from './kube-api.js';

export const LEASES: Resource = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' };

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string | null; renewTime?: string | null; leaseTransitions?: number };
}

const toRecord = (lease: Lease): LeaseRecord => ({
  holderIdentity: lease.spec?.holderIdentity ?? null,
  leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 15,
  acquireTime: lease.spec?.acquireTime ? new Date(lease.spec.acquireTime) : null,
  renewTime: lease.spec?.renewTime ? new Date(lease.spec.renewTime) : null,
  leaseTransitions: lease.spec?.leaseTransitions ?? 0,
  resourceVersion: lease.metadata.resourceVersion,
});

// MicroTime: RFC 3339 with microseconds, as the Lease API wants.
const microTime = (date: Date | null) => (date === null ? null : date.toISOString().replace('Z', '000Z'));

/** One Lease object in the apiserver, for LeaderElector. */
export class KubeLeaseStore implements LeaseStore {
  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly name: string,
  ) {}

  async get(): Promise<LeaseRecord | undefined> {
    const lease = await this.api.getOrUndefined<Lease>(LEASES, this.namespace, this.name);
    return lease && toRecord(lease);
  }

  async create(record: LeaseRecord): Promise<LeaseRecord> {
    return toRecord(await this.api.create<Lease>(LEASES, this.namespace, this.body(record)));
  }

  async replace(record: LeaseRecord): Promise<LeaseRecord> {
    return toRecord(await this.api.replace<Lease>(LEASES, this.body(record)));
  }

  isConflict(error: unknown): boolean {
    return isConflict(error);
  }

  private body(record: LeaseRecord): Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, ...(record.resourceVersion ? { resourceVersion: record.resourceVersion } : {}) },
      spec: {
        holderIdentity: record.holderIdentity,
        leaseDurationSeconds: record.leaseDurationSeconds,
        acquireTime: microTime(record.acquireTime),
        renewTime: microTime(record.renewTime),
        leaseTransitions: record.leaseTransitions,
      },
    };
  }
}
