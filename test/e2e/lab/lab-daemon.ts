import { join } from 'node:path';
import { eventViewSchema, type EventView } from '../../../daemon/core/schemas/event.js';
import { inNamespace } from '../../helpers/child.js';
import { CLI } from '../../helpers/process.js';
import { nsHttp } from '../../helpers/ns-http.js';
import { startTimedProcess, type TimedProcess } from './timed-process.js';

const ADMIN_TOKEN = /b7_[a-f0-9]{16}_[A-Za-z0-9_-]{43}/;

/** One line of the daemon's JSON log (pino), with the fields the timeline reads. */
export interface LogRecord {
  /** ISO time (pino isoTime). */
  time: string;
  msg: string;
  [field: string]: unknown;
}

export interface LabDaemon {
  process: TimedProcess;
  baseUrl: string;
  token: string;
  /** Every event so far, in order, from one event stream opened before anything happened. */
  events: EventView[];
  /** The daemon's log records so far. */
  log(): LogRecord[];
  api<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** The number of events so far: pass it to untilEvent to match only what happens after now. */
  mark(): number;
  untilEvent(match: (event: EventView) => boolean, timeoutMs: number, what: string, after?: number): Promise<EventView>;
  stop(): Promise<void>;
}

/**
 * The real daemon as its own process in the provisioning namespace: proxyDHCP, TFTP and HTTP on
 * the lab bridge, exactly as `beskar7 daemon` runs on a provisioning host. The test reaches its
 * API with curl inside the namespace.
 */
export async function startLabDaemon(options: { namespace: string; dataDir: string; address: string; port: number; settings: Record<string, string>; dir: string; signal: AbortSignal }): Promise<LabDaemon> {
  const { namespace, signal } = options;
  const sets = Object.entries(options.settings).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
  const command = [process.execPath, CLI, 'daemon', '--data-dir', options.dataDir, '--host', options.address, '--port', String(options.port), ...sets];
  const daemon = startTimedProcess('daemon', inNamespace(namespace, command), { logFile: join(options.dir, 'daemon.log'), env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const baseUrl = `http://${options.address}:${options.port}`;
  let token = '';
  let follower: TimedProcess | undefined;
  const events: EventView[] = [];
  const stop = async () => {
    await follower?.stop(2000);
    await daemon.stop(20_000);
  };

  const api = async <T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => {
    const answer = await nsHttp(namespace, `${baseUrl}${path}`, { method, token, body: body === undefined ? undefined : JSON.stringify(body), timeoutMs: 20_000, signal });
    let parsed: unknown = answer.body;
    try {
      parsed = answer.body === '' ? undefined : JSON.parse(answer.body);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: answer.status, body: parsed as T };
  };

  try {
    const until = Date.now() + 60_000;
    for (;;) {
      if (daemon.exit()) throw new Error(`the daemon exited during start\n${daemon.tail()}`);
      if ((await nsHttp(namespace, `${baseUrl}/readyz`, { timeoutMs: 2000, signal })).status === 200) break;
      if (Date.now() > until) throw new Error(`the daemon was not ready within 60 s\n${daemon.tail()}`);
      await daemon.waitForLine(/./, 500, daemon.lines.length).catch(() => undefined);
    }
    token = daemon.lines.map((l) => ADMIN_TOKEN.exec(l.text)?.[0]).find((t) => t !== undefined) ?? '';
    if (token === '') throw new Error('the daemon printed no admin token on its first start');
    // The stream's own arrival order is the event order; ?since=0 replays anything already logged.
    follower = startTimedProcess(
      'events',
      inNamespace(namespace, ['curl', '-sSN', '--no-buffer', '-H', `authorization: Bearer ${token}`, `${baseUrl}/api/v1/events?since=0`]),
      { logFile: join(options.dir, 'events.log'), secrets: [token] },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const stream = follower;
  let parsedLines = 0;
  const drain = () => {
    for (; parsedLines < stream.lines.length; parsedLines++) {
      const text = stream.lines[parsedLines]?.text ?? '';
      if (text.startsWith('data: ')) events.push(eventViewSchema.parse(JSON.parse(text.slice(6))));
    }
  };

  return {
    process: daemon,
    baseUrl,
    token,
    events,
    log: () =>
      daemon.lines.flatMap((line) => {
        if (!line.text.startsWith('{')) return [];
        try {
          return [JSON.parse(line.text) as LogRecord];
        } catch {
          return [];
        }
      }),
    api,
    mark() {
      drain();
      return events.length;
    },
    async untilEvent(match, timeoutMs, what, after = 0) {
      const deadline = Date.now() + timeoutMs;
      let seen = after;
      for (;;) {
        drain();
        for (; seen < events.length; seen++) {
          const event = events[seen];
          if (event && match(event)) return event;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no event "${what}" within ${timeoutMs} ms; the last events:\n${events.slice(-15).map((e) => `${e.time} ${e.kind} ${e.name} ${e.type}: ${e.message}`).join('\n')}`);
        if (stream.exit()) throw new Error(`the event stream ended\n${stream.tail()}\n${daemon.tail()}`);
        // Woken by the next line of the stream (no sleep as synchronisation).
        await stream.waitForLine(/^data: /, left, parsedLines).catch(() => undefined);
      }
    },
    stop,
  };
}
