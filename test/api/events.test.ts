import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBody, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

interface SseEvent {
  id: number;
  event: string;
  data: { id: number; kind: string; namespace: string; name: string; type: string; data: Record<string, unknown> };
}

let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => d.stop());

/** Reads an SSE stream until `count` events arrived (or one matches `until`, or the deadline), then closes it. */
async function collect(path: string, count: number | ((event: SseEvent) => boolean), headers: Record<string, string> = {}, whileOpen?: () => Promise<void>): Promise<SseEvent[]> {
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(), 10_000);
  const response = await fetch(`${d.url}${path}`, { headers: { authorization: `Bearer ${d.token}`, ...headers }, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const events: SseEvent[] = [];
  const body = response.body;
  if (!body) throw new Error('event stream has no body');
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  // Wait for the first byte (the retry: line) so the subscription is certain to exist.
  const first = await reader.read();
  buffer += first.value ?? '';
  const pending = whileOpen?.();
  try {
    for (;;) {
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
        const data = field('data');
        if (data) events.push({ id: Number(field('id')), event: field('event') ?? '', data: JSON.parse(data) as SseEvent['data'] });
      }
      if (typeof count === 'number' ? events.length >= count : events.some(count)) break;
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
    }
  } finally {
    clearTimeout(deadline);
    controller.abort();
    await pending;
  }
  return events;
}

describe('GET /api/v1/events', () => {
  it('streams live events after connecting, in commit order', async () => {
    const all = await collect('/api/v1/events?kind=host&name=sse-1', (e) => e.event === 'host.Deleted', {}, async () => {
      // No wait needed: the daemon subscribes before it writes the first byte, and fetch
      // resolved on that byte.
      await d.api('POST', '/api/v1/hosts', hostBody('sse-1'));
      await d.api('PATCH', '/api/v1/hosts/default/sse-1', { labels: { a: 'b' }, redfishConnection: { password: 'changed-pw' } });
      await d.api('DELETE', '/api/v1/hosts/default/sse-1');
    });
    // The lifecycle engine adds its own events (enrollment, state changes) in between; the API's are in order.
    const events = all.filter((e) => ['host.Registered', 'host.Updated', 'host.DeletionRequested', 'host.Deleted'].includes(e.event));
    expect(events.map((e) => e.event)).toEqual(['host.Registered', 'host.Updated', 'host.DeletionRequested', 'host.Deleted']);
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((a, b) => a - b));
    expect(events[1]?.data.data).toEqual({ changed: ['labels', 'redfishConnection.password'] });
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
    expect(JSON.stringify(events)).not.toContain('changed-pw');
  });

  it('resumes after Last-Event-ID with every later event exactly once, then goes live', async () => {
    const log = await d.api('GET', '/api/v1/events/log?since=0&limit=500');
    const all = (log.body as { items: { id: number }[] }).items;
    expect(all.length).toBeGreaterThanOrEqual(4);
    const resumeFrom = all[all.length - 3]?.id ?? 0;
    const events = await collect('/api/v1/events', 3, { 'last-event-id': String(resumeFrom) }, async () => {
      await d.api('POST', '/api/v1/hosts', hostBody('sse-2'));
    });
    expect(events.map((e) => e.id)).toEqual([...all.slice(-2).map((e) => e.id), expect.any(Number)]);
    expect(events[2]?.data).toMatchObject({ kind: 'host', name: 'sse-2', type: 'Registered' });
  });

  it('replays history with ?since=0 and filters by kind and name', async () => {
    await d.api('POST', '/api/v1/machines', {
      name: 'sse-m',
      image: { mode: 'disk', url: 'http://x.example/i.raw', sha256: '0'.repeat(64) },
    });
    const events = await collect('/api/v1/events?since=0&kind=machine', 1);
    expect(events[0]?.data).toMatchObject({ kind: 'machine', name: 'sse-m', type: 'Created' });
    const named = await collect('/api/v1/events?since=0&name=sse-2', 1);
    expect(named[0]?.data.name).toBe('sse-2');
  });

  it('rejects a malformed Last-Event-ID and bad filters with 400', async () => {
    expect((await d.api('GET', '/api/v1/events', undefined, { 'last-event-id': 'abc' })).status).toBe(400);
    expect((await d.api('GET', '/api/v1/events?kind=planet')).status).toBe(400);
  });
});

describe('a reader that stops reading', () => {
  it('is fed from the event log while it lags, and gets every event once, in order, when it reads again', async () => {
    const { connect } = await import('node:net');
    const url = new URL(d.url);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const headers = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.write(`GET /api/v1/events?kind=host&name=flood HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${d.token}\r\n\r\n`);
    await headers;
    // From here on, do not read: everything piles up on the daemon's side.
    socket.pause();
    const store = d.daemon.services?.store;
    if (!store) throw new Error('no store');
    // 300 × 64 KiB of real, committed events: far past what loopback and the high-water mark hold.
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 300; i++) {
      store.write((_tx, record) => record({ kind: 'host', namespace: 'default', name: 'flood', type: 'Flood', message: `${i} ${big}` }));
      if (i % 25 === 0) await new Promise((r) => setImmediate(r));
    }
    expect((await fetch(`${d.url}/healthz`)).status).toBe(200);
    // Read everything now: every event, once, in order.
    let text = '';
    const seen: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.length} events arrived`)), 20_000);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) seen.push(Number((JSON.parse(data.slice(6)) as { message: string }).message.split(' ')[0]));
        }
        if (seen.length >= 300) {
          clearTimeout(timer);
          resolve();
        }
      });
      socket.resume();
    });
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i));
    socket.destroy();
  });
});
