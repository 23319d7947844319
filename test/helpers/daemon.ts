import type { EventView } from '../../daemon/core/schemas/event.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../daemon/config/load.js';
import { createLogger } from '../../daemon/log/logger.js';
import { Daemon } from '../../daemon/process/daemon.js';

/** Collects every log line the daemon writes, so tests can assert on them. */
export class LogCapture extends Writable {
  private chunks: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk.toString('utf8'));
    done();
  }
  get text(): string {
    return this.chunks.join('');
  }
  lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface TestDaemon {
  daemon: Daemon;
  url: string;
  token: string;
  dataDir: string;
  logs: LogCapture;
  announced: string;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown; text: string; headers: Headers }>;
  /** The first event (already written or still to come) that matches; rejects after timeoutMs. */
  untilEvent(match: (event: EventView) => boolean, timeoutMs?: number): Promise<EventView>;
  stop(): Promise<void>;
}

/** Waits on the daemon's own event bus (no polling); events already in the log count too. */
export function untilEvent(daemon: Daemon, match: (event: EventView) => boolean, timeoutMs = 30_000): Promise<EventView> {
  return new Promise((resolve, reject) => {
    const store = daemon.services?.store;
    if (!store) return reject(new Error('daemon not started'));
    const done = (event: EventView) => {
      clearTimeout(timer);
      off();
      resolve(event);
    };
    const off = daemon.bus.on('event', (event) => {
      if (match(event)) done(event);
    });
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    for (let after = 0; ; ) {
      const page = store.eventsAfter(after, {}, 1000);
      const found = page.find(match);
      if (found) return done(found);
      const last = page.at(-1);
      if (!last) break;
      after = last.id;
    }
  });
}

export const tempDir = (prefix = 'beskar7-test-'): string => mkdtempSync(join(tmpdir(), prefix));

/** A real daemon on 127.0.0.1 and a free port, with its own data dir. */
export async function startTestDaemon(options: { dataDir?: string; overrides?: string[] } = {}): Promise<TestDaemon> {
  const dataDir = options.dataDir ?? tempDir();
  const loaded = loadConfig({
    env: {},
    // UDP boot servers off: tests run as root here and would bind the machine's ports 67 and 69.
    overrides: [`dataDir=${dataDir}`, 'http.host=127.0.0.1', 'http.port=0', 'log.level=debug', 'dhcp.enabled=false', 'tftp.enabled=false',
      // Test hosts point at unroutable BMCs: fail fast and retry soon, so the engine never holds a test up.
      'redfish.requestTimeoutMs=1000', 'redfish.retryAttempts=1', 'lifecycle.retryBaseSeconds=0.05', 'lifecycle.retryMaxSeconds=2',
      ...(options.overrides ?? [])],
  });
  const logs = new LogCapture();
  let announced = '';
  const daemon = new Daemon({ loaded, logger: createLogger('debug', logs), announce: (text) => (announced += text) });
  await daemon.start();
  const token = /b7_[a-f0-9]{16}_[A-Za-z0-9_-]{43}/.exec(announced)?.[0] ?? '';
  const url = `http://127.0.0.1:${daemon.address.port}`;
  const owned = options.dataDir === undefined;
  return {
    daemon,
    url,
    token,
    dataDir,
    logs,
    get announced() {
      return announced;
    },
    async api(method, path, body, headers = {}) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, body: parsed, text, headers: response.headers };
    },
    untilEvent: (match, timeoutMs) => untilEvent(daemon, match, timeoutMs),
    async stop() {
      await daemon.stop();
      if (owned) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const hostBody = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  namespace: 'default',
  name,
  labels: { 'topology.kubernetes.io/zone': 'zone-a' },
  redfishConnection: { address: 'https://192.0.2.10', username: 'admin', password: 'hunter2-secret' },
  bootMACAddresses: [],
  ...extra,
});

export const kexecImage = {
  mode: 'kexec',
  kernel: { url: 'http://images.example/vmlinuz', sha256: 'a'.repeat(64) },
  initrd: { url: 'http://images.example/initrd', sha256: 'b'.repeat(64) },
  cmdline: 'console=ttyS0',
};
