import { and, asc, eq, gt, max } from 'drizzle-orm';
import type Database from 'better-sqlite3';
import type { Db } from '../../db/open.js';
import { events } from '../../db/schema.js';
import type { EventBus } from './event-bus.js';
import type { EventFilter, EventView } from './schemas/event.js';

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface NewEvent {
  kind: EventView['kind'];
  namespace: string;
  name: string;
  type: string;
  message: string;
  data?: Record<string, unknown>;
}

type EventRow = typeof events.$inferSelect;

export function toEventView(row: EventRow): EventView {
  return {
    id: row.id,
    time: new Date(row.at).toISOString(),
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    type: row.type,
    message: row.message,
    data: row.data,
  };
}

/**
 * Runs state changes in one IMMEDIATE transaction together with the events that describe
 * them, and publishes the events only once the commit has succeeded — so nothing sees an
 * event for a change that was rolled back.
 */
export class Store {
  private readonly insertEvent: Database.Statement<[number, string, string, string, string, string, string], { id: number }>;

  constructor(
    readonly db: Db,
    /** The same connection without the query builder, for prepared hot-path statements. */
    readonly sqlite: Database.Database,
    private readonly bus: EventBus,
  ) {
    // Every write records events: prepared once rather than built per event.
    this.insertEvent = sqlite.prepare('INSERT INTO events (at, kind, namespace, name, type, message, data) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id');
  }

  write<T>(work: (tx: Tx, record: (event: NewEvent) => void) => T): T {
    const written: EventView[] = [];
    const result = this.db.transaction(
      (tx) => {
        const record = (event: NewEvent) => {
          const at = Date.now();
          const data = event.data ?? {};
          const row = this.insertEvent.get(at, event.kind, event.namespace, event.name, event.type, event.message, JSON.stringify(data));
          if (!row) throw new Error('event insert returned no id');
          written.push(toEventView({ id: row.id, at, kind: event.kind, namespace: event.namespace, name: event.name, type: event.type, message: event.message, data }));
        };
        return work(tx, record);
      },
      { behavior: 'immediate' },
    );
    for (const event of written) this.bus.emit('event', event);
    return result;
  }

  latestEventId(): number {
    return this.db.select({ id: max(events.id) }).from(events).get()?.id ?? 0;
  }

  eventsAfter(afterId: number, filter: EventFilter, limit: number): EventView[] {
    const conditions = [gt(events.id, afterId)];
    if (filter.kind) conditions.push(eq(events.kind, filter.kind));
    if (filter.namespace) conditions.push(eq(events.namespace, filter.namespace));
    if (filter.name) conditions.push(eq(events.name, filter.name));
    return this.db
      .select()
      .from(events)
      .where(and(...conditions))
      .orderBy(asc(events.id))
      .limit(limit)
      .all()
      .map(toEventView);
  }
}

export function matchesFilter(event: EventView, filter: EventFilter): boolean {
  return (
    (!filter.kind || event.kind === filter.kind) &&
    (!filter.namespace || event.namespace === filter.namespace) &&
    (!filter.name || event.name === filter.name)
  );
}
