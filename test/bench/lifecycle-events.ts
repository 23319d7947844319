import { EventEmitter } from 'node:events';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

/** The fields of an event the benchmark looks at. */
export interface FollowedEvent {
  id: number;
  kind: string;
  type: string;
  name: string;
  message: string;
  data: Record<string, unknown>;
}

const RECONNECT_DELAY_MS = 200;
const LOG_PAGE = 500;
const LOG_IDLE_MS = 250;

/**
 * `sse`: GET /api/v1/events, the push stream. `log`: GET /api/v1/events/log pages, read back to
 * back and every 250 ms once caught up: for runs where the stream cannot be used (see lifecycle.ts).
 */
export type FollowMode = 'sse' | 'log';

/**
 * Follows the daemon's events from an event id on. Over SSE it reconnects with Last-Event-ID when
 * the daemon ends the stream (it cuts off a reader more than 4 MB behind), so no event is lost;
 * only events whose `kind.type` is in `wanted` are parsed there, all are counted. Emits 'events'
 * after each chunk or page that held a wanted event.
 */
export class EventFollower extends EventEmitter<{ events: []; error: [Error] }> {
  events = 0;
  bytes = 0;
  reconnects = 0;
  private failedConnects = 0;
  lastId: number;
  /** performance.now() of the latest event of any kind. */
  lastEventAt = performance.now();
  readonly byType = new Map<string, number>();
  private buffer = '';
  private current: ClientRequest | null = null;
  private stopped = false;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    since: number,
    private readonly wanted: ReadonlySet<string>,
    private readonly onEvent: (event: FollowedEvent) => void,
    readonly mode: FollowMode = 'sse',
  ) {
    super();
    this.lastId = since;
  }

  /** Resolves once the first connection answered 200 (the first page arrived): events from then on are not missed. */
  async start(): Promise<void> {
    if (this.mode === 'sse') return this.connect();
    const first = await this.page();
    void this.pages(first);
  }

  private async page(): Promise<number> {
    const response = await fetch(new URL(`/api/v1/events/log?since=${this.lastId}&limit=${LOG_PAGE}`, this.baseUrl), { headers: { authorization: `Bearer ${this.token}` } });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET /api/v1/events/log: HTTP ${response.status}: ${text.slice(0, 300)}`);
    this.bytes += text.length;
    const { items } = JSON.parse(text) as { items: FollowedEvent[] };
    let wantedSeen = false;
    for (const event of items) {
      if (event.id <= this.lastId) continue;
      this.lastId = event.id;
      this.count(`${event.kind}.${event.type}`);
      if (!this.wanted.has(`${event.kind}.${event.type}`)) continue;
      this.onEvent(event);
      wantedSeen = true;
    }
    if (wantedSeen) this.emit('events');
    return items.length;
  }

  private async pages(previous: number): Promise<void> {
    let got = previous;
    while (!this.stopped) {
      if (got < LOG_PAGE) await new Promise((resolve) => setTimeout(resolve, LOG_IDLE_MS));
      if (this.stopped) return;
      try {
        got = await this.page();
      } catch (error) {
        if (!this.stopped) this.emit('error', error instanceof Error ? error : new Error(String(error)));
        return;
      }
    }
  }

  private count(name: string): void {
    this.events++;
    this.lastEventAt = performance.now();
    this.byType.set(name, (this.byType.get(name) ?? 0) + 1);
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
    this.current = null;
  }

  private connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const url = new URL(`/api/v1/events?since=${this.lastId}`, this.baseUrl);
      const req = request(url, { headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream', 'last-event-id': String(this.lastId) }, agent: false });
      this.current = req;
      req.on('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET /api/v1/events: HTTP ${res.statusCode}`));
          return;
        }
        resolve();
        this.buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.take(chunk));
        // One reconnect per lost stream, however many of end/error/close report the loss.
        res.on('end', () => this.lost(req));
        res.on('error', () => this.lost(req));
      });
      req.on('error', (error) => {
        reject(error);
        this.lost(req);
      });
      req.end();
    });
  }

  private lost(req: ClientRequest): void {
    if (this.current === req) this.again();
  }

  private again(): void {
    if (this.stopped) return;
    this.current = null;
    this.reconnects++;
    setTimeout(() => {
      if (this.stopped) return;
      // A busy daemon may drop a connect now and then: try again, but not for ever.
      this.connect().then(
        () => (this.failedConnects = 0),
        (error: unknown) => {
          if (++this.failedConnects >= 20) this.emit('error', error instanceof Error ? error : new Error(String(error)));
        },
      );
    }, RECONNECT_DELAY_MS);
  }

  private take(chunk: string): void {
    this.bytes += chunk.length;
    this.buffer += chunk;
    let wantedSeen = false;
    let end = this.buffer.indexOf('\n\n');
    let start = 0;
    while (end >= 0) {
      if (this.frame(this.buffer.slice(start, end))) wantedSeen = true;
      start = end + 2;
      end = this.buffer.indexOf('\n\n', start);
    }
    this.buffer = this.buffer.slice(start);
    if (wantedSeen) this.emit('events');
  }

  /** One frame: `id:`, `event:`, `data:` lines; comments (keep-alive) and `retry:` are skipped. */
  private frame(text: string): boolean {
    let id: number | null = null;
    let name: string | null = null;
    let data: string | null = null;
    for (const line of text.split('\n')) {
      if (line.startsWith('id: ')) id = Number(line.slice(4));
      else if (line.startsWith('event: ')) name = line.slice(7);
      else if (line.startsWith('data: ')) data = line.slice(6);
    }
    if (id === null || name === null || data === null || id <= this.lastId) return false;
    this.lastId = id;
    this.count(name);
    if (!this.wanted.has(name)) return false;
    const event = JSON.parse(data) as FollowedEvent;
    this.onEvent(event);
    return true;
  }
}
