import { randomBytes } from 'node:crypto';
import type { KubeApi, KubeObject, Resource } from './kube-api.js';

const EVENTS: Resource = { group: '', version: 'v1', plural: 'events', kind: 'Event' };
const AGGREGATE_MS = 10 * 60_000;

export type EventType = 'Normal' | 'Warning';

/**
 * Kubernetes events on the objects the shim reconciles (`kubectl describe` shows them). A repeat of
 * the same reason and message on the same object within ten minutes bumps the count of the event
 * already there instead of creating another, so a failing reconcile loop cannot flood etcd.
 */
export class EventRecorder {
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  constructor(
    private readonly api: KubeApi,
    private readonly component: string,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async record(object: KubeObject & { apiVersion: string; kind: string }, type: EventType, reason: string, message: string): Promise<void> {
    const { namespace = 'default', name, uid } = object.metadata;
    const key = `${uid ?? `${namespace}/${name}`}|${type}|${reason}|${message}`;
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    try {
      const seen = this.recent.get(key);
      if (seen && now - seen.at < AGGREGATE_MS) {
        seen.count += 1;
        seen.at = now;
        await this.api.mergePatch(EVENTS, seen.namespace, seen.name, { count: seen.count, lastTimestamp: nowIso });
        return;
      }
      const eventName = `${name}.${randomBytes(8).toString('hex')}`;
      await this.api.create(EVENTS, namespace, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: eventName, namespace },
        involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name, namespace, uid, resourceVersion: object.metadata.resourceVersion },
        reason,
        message: message.slice(0, 1024),
        type,
        source: { component: this.component },
        reportingComponent: this.component,
        firstTimestamp: nowIso,
        lastTimestamp: nowIso,
        count: 1,
      } as KubeObject);
      this.recent.set(key, { name: eventName, namespace, count: 1, at: now });
      if (this.recent.size > 10_000) this.prune(now);
    } catch (error) {
      // An event is a courtesy: failing to write one must never fail a reconcile.
      this.onError(error);
    }
  }

  private prune(now: number): void {
    for (const [key, seen] of this.recent) if (now - seen.at >= AGGREGATE_MS) this.recent.delete(key);
  }
}
