import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { EventBus } from '../../core/event-bus.js';
import { DomainError } from '../../core/errors.js';
import { eventStreamQuery, eventViewSchema, type EventFilter, type EventView } from '../../core/schemas/event.js';
import { matchesFilter, type Store } from '../../core/store.js';
import type { DaemonMetrics } from '../../metrics/registry.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

const REPLAY_BATCH = 500;
// Socket buffer above which a subscriber is fed from the event log instead of live events.
const HIGH_WATER_BYTES = 1024 * 1024;

const eventLogQuery = z
  .object({
    since: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(REPLAY_BATCH).default(100),
    kind: eventStreamQuery.shape.kind,
    namespace: eventStreamQuery.shape.namespace,
    name: eventStreamQuery.shape.name,
  })
  .strict();

const frame = (event: EventView): string => `id: ${event.id}\nevent: ${event.kind}.${event.type}\ndata: ${JSON.stringify(event)}\n\n`;

function resumePoint(header: string | string[] | undefined, since: number | undefined, store: Store): number {
  if (typeof header === 'string' && header.trim() !== '') {
    if (!/^\d{1,15}$/.test(header.trim())) {
      throw new DomainError('BadRequest', 'Last-Event-ID must be the id of an event', [{ field: 'headers.last-event-id', message: 'is not an event id' }]);
    }
    return Number(header.trim());
  }
  if (since !== undefined) return since;
  // A fresh subscriber wants what happens from now on; history is there with ?since=0.
  return store.latestEventId();
}

/** Server-sent events: replay from the event log after the resume point, then live. */
export class EventStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly metrics: DaemonMetrics,
    private readonly heartbeatMs: number,
  ) {}

  closeAll(): void {
    // end() first; the 'close' that follows runs each stream's finish().
    for (const response of [...this.open]) response.end();
  }

  /**
   * One subscriber. The event log is the source of truth: a reader that keeps up gets events
   * live from the bus; one that falls behind (its socket buffer past HIGH_WATER_BYTES) stops
   * taking live events and is fed from the log as its socket drains. So a slow reader costs the
   * daemon at most about HIGH_WATER_BYTES plus one batch, and still misses nothing.
   */
  private stream(response: ServerResponse, afterId: number, filter: EventFilter): void {
    let lastSent = afterId;
    let catchingUp = true;
    // Nothing may be written after the response ended (that throws); every writer checks.
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      unsubscribe();
      clearInterval(heartbeat);
      if (this.open.delete(response)) this.metrics.sseClients.dec();
    };
    const gone = () => finished || response.writableEnded || response.destroyed;
    const send = (event: EventView) => {
      if (gone() || event.id <= lastSent || !matchesFilter(event, filter)) return;
      lastSent = event.id;
      response.write(frame(event));
    };
    const drained = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          response.off('drain', done);
          response.off('close', done);
          resolve();
        };
        response.on('drain', done);
        response.on('close', done);
      });
    // Reads the log from lastSent until it is exhausted, waiting for the socket whenever it is
    // full. The last read and going live happen in one synchronous run: no event falls between.
    const catchUp = async (): Promise<void> => {
      for (;;) {
        if (gone()) return;
        if (response.writableLength > HIGH_WATER_BYTES) {
          await drained();
          continue;
        }
        const batch = this.store.eventsAfter(lastSent, filter, REPLAY_BATCH);
        for (const event of batch) send(event);
        if (batch.length < REPLAY_BATCH && response.writableLength <= HIGH_WATER_BYTES) {
          catchingUp = false;
          return;
        }
      }
    };
    // A failed read of the log (the database closing at shutdown) ends this stream, not the daemon.
    const startCatchUp = () => {
      catchUp().catch(() => {
        finish();
        response.destroy();
      });
    };
    const unsubscribe = this.bus.on('event', (event) => {
      // While catching up the log has it (events are published after their commit).
      if (catchingUp || gone()) return;
      if (response.writableLength > HIGH_WATER_BYTES) {
        catchingUp = true;
        startCatchUp();
        return;
      }
      send(event);
    });
    const heartbeat = setInterval(() => {
      if (!gone()) response.write(': keep-alive\n\n');
    }, this.heartbeatMs);
    heartbeat.unref();
    this.open.add(response);
    this.metrics.sseClients.inc();
    response.on('close', finish);
    // A socket error must never become an uncaught exception in the daemon.
    response.on('error', finish);
    response.write('retry: 2000\n\n');
    startCatchUp();
  }

  routes(): AnyRouteSpec[] {
    return [
      defineRoute({
        method: 'GET',
        url: '/api/v1/events',
        summary: 'Stream events (server-sent events)',
        description:
          'Each event has an increasing id. Reconnect with Last-Event-ID (or ?since=) to receive every event after it; without either, the stream starts now.',
        tag: 'events',
        auth: 'api',
        query: eventStreamQuery,
        responses: { 200: { description: 'text/event-stream of events', schema: eventViewSchema, contentType: 'text/event-stream' } },
        handler: ({ query }, request, reply) => {
          const afterId = resumePoint(request.headers['last-event-id'], query.since, this.store);
          void reply.hijack();
          reply.raw.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            connection: 'keep-alive',
            'x-accel-buffering': 'no',
          });
          this.stream(reply.raw, afterId, query);
        },
      }),
      defineRoute({
        method: 'GET',
        url: '/api/v1/events/log',
        summary: 'Read the event log as JSON pages',
        tag: 'events',
        auth: 'api',
        query: eventLogQuery,
        responses: { 200: { description: 'events after `since`', schema: z.object({ items: z.array(eventViewSchema), next: z.number() }) } },
        handler: ({ query }) => {
          const items = this.store.eventsAfter(query.since, query, query.limit);
          return { items, next: items.at(-1)?.id ?? query.since };
        },
      }),
    ];
  }
}
