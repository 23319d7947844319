import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { EventBus } from '../../core/event-bus.js';
import { DomainError } from '../../core/errors.js';
import { eventStreamQuery, eventViewSchema, type EventFilter, type EventView } from '../../core/schemas/event.js';
import { matchesFilter, type Store } from '../../core/store.js';
import type { DaemonMetrics } from '../../metrics/registry.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

const REPLAY_BATCH = 500;
// A client this far behind is cut off; it resumes with Last-Event-ID and loses nothing.
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

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

  private stream(response: ServerResponse, afterId: number, filter: EventFilter): void {
    let lastSent = afterId;
    let live = false;
    const pending: EventView[] = [];
    // Ended (slow reader cut off, shutdown) before 'close' arrives: nothing may write after end(),
    // which throws; so every writer checks, and ending unsubscribes at once.
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      unsubscribe();
      clearInterval(heartbeat);
      if (this.open.delete(response)) this.metrics.sseClients.dec();
    };
    const send = (event: EventView) => {
      if (finished || response.writableEnded || response.destroyed || event.id <= lastSent || !matchesFilter(event, filter)) return;
      lastSent = event.id;
      response.write(frame(event));
      // A reader this far behind would hold the daemon's memory: drop the connection and what is
      // buffered for it; the client reconnects with Last-Event-ID and misses nothing.
      if (response.writableLength > MAX_BUFFERED_BYTES) {
        finish();
        response.destroy();
      }
    };
    // Subscribe before replaying, so an event committed during the replay is not missed.
    const unsubscribe = this.bus.on('event', (event) => (live ? send(event) : pending.push(event)));
    const heartbeat = setInterval(() => {
      if (!finished && !response.writableEnded) response.write(': keep-alive\n\n');
    }, this.heartbeatMs);
    heartbeat.unref();
    this.open.add(response);
    this.metrics.sseClients.inc();
    response.on('close', finish);
    // A socket error must never become an uncaught exception in the daemon.
    response.on('error', finish);
    response.write('retry: 2000\n\n');
    for (;;) {
      const batch = this.store.eventsAfter(lastSent, filter, REPLAY_BATCH);
      for (const event of batch) send(event);
      if (batch.length < REPLAY_BATCH || response.writableEnded || response.destroyed) break;
    }
    live = true;
    for (const event of pending.splice(0)) send(event);
    if (response.writableEnded || response.destroyed) finish();
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
