import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventView } from '../../../daemon/core/schemas/event.js';
import { DaemonApiError, DaemonClient, followEvents, isConflict, latestEventId, type DaemonStreamStatus, type FollowEventsOptions } from '../../../shim-operator/src/daemon-client/index.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../../helpers/daemon.js';
import { LoopbackProxy } from './loopback-proxy.js';

const DEADLINE_MS = 15_000;
// Short delays so reconnects happen within the test; the jitter is real.
const quickBackoff = { initialMs: 20, maxMs: 200 };

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let d: TestDaemon;
let client: DaemonClient;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  d = await startTestDaemon();
  client = new DaemonClient({ url: d.url, token: d.token, timeoutMs: 5000 });
});
afterAll(async () => {
  await d.stop();
  process.off('unhandledRejection', onUnhandled);
});
afterEach(() => expect(unhandled).toEqual([]));

/** What a follower reported, with waits on conditions (no sleeps) that fail after a deadline. */
class FollowerLog {
  readonly events: EventView[] = [];
  readonly statuses: DaemonStreamStatus[] = [];
  private readonly waiters = new Set<() => void>();

  readonly onEvent = (event: EventView) => {
    this.events.push(event);
    this.wake();
  };

  readonly onStatus = (status: DaemonStreamStatus) => {
    this.statuses.push(status);
    this.wake();
  };

  get states(): string[] {
    return this.statuses.map((status) => status.state);
  }

  get ids(): number[] {
    return this.events.map((event) => event.id);
  }

  saw(name: string, type = 'Registered'): boolean {
    return this.events.some((event) => event.name === name && event.type === type);
  }

  until(condition: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; states ${JSON.stringify(this.states)}, ${this.events.length} events`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Starts a follower; stop() aborts it and returns how followEvents settled. */
function follow(target: DaemonClient, log: FollowerLog, options: Partial<FollowEventsOptions> = {}) {
  const controller = new AbortController();
  const done = followEvents(target, { onEvent: log.onEvent, onStatus: log.onStatus, signal: controller.signal, backoff: quickBackoff, ...options });
  return {
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

const manualHost = (name: string) => ({ namespace: 'events', name, powerControl: 'manual' as const });

/**
 * What a controller does with a retryable failure: try again. Needed after an in-process restart,
 * where the first request can land on a pooled keep-alive socket of the stopped server.
 */
async function createRetrying(target: DaemonClient, body: ReturnType<typeof manualHost>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await target.createHost(body);
      return;
    } catch (error) {
      // A lost answer to a create that did happen comes back as 409 on the retry.
      if (isConflict(error) && attempt > 1) return;
      if (!(error instanceof DaemonApiError && error.retryable) || attempt >= 5) throw error;
    }
  }
}

/** The daemon's own event log after `since`: the ground truth a follower must match. */
async function logIdsAfter(source: DaemonClient, since: number, upTo: number): Promise<number[]> {
  const ids: number[] = [];
  for (let after = since; after < upTo; ) {
    const page = await source.readEventLog({ since: after, limit: 500 });
    if (page.items.length === 0) break;
    ids.push(...page.items.map((event) => event.id).filter((id) => id <= upTo));
    after = page.next;
  }
  return ids;
}

async function expectExactlyTheLog(source: DaemonClient, since: number, log: FollowerLog): Promise<void> {
  const last = log.ids.at(-1) ?? since;
  expect(log.ids).toEqual(await logIdsAfter(source, since, last));
}

describe('latestEventId', () => {
  it('finds the newest event id in O(log n) reads', async () => {
    for (let i = 0; i < 9; i++) await client.createHost(manualHost(`latest-${i}`));
    // Let the lifecycle engine finish enrolling them, so the log holds still while it is searched.
    await d.daemon.services?.engine.settled();
    const newest = d.daemon.services?.store.latestEventId() ?? -1;
    expect(newest).toBeGreaterThanOrEqual(18);
    const reads: string[] = [];
    const counting = new DaemonClient({
      url: d.url,
      token: d.token,
      timeoutMs: 5000,
      fetch: (input, init) => {
        reads.push(input instanceof Request ? input.url : String(input));
        return fetch(input, init);
      },
    });
    expect(await latestEventId(counting)).toBe(newest);
    expect(reads.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(newest + 1)) + 2);
  });
});

describe('followEvents', () => {
  it('delivers live events in id order, exactly the daemon log, and replays history with since', async () => {
    const start = await latestEventId(client);
    const live = new FollowerLog();
    const follower = follow(client, live);
    await live.until(() => live.states.includes('connected'), 'connected');
    for (const name of ['order-1', 'order-2', 'order-3']) await client.createHost(manualHost(name));
    await live.until(() => live.saw('order-3'), 'order-3 registered');
    await follower.stop();
    const registered = live.events.filter((event) => event.type === 'Registered').map((event) => event.name);
    expect(registered).toEqual(['order-1', 'order-2', 'order-3']);
    expect(live.ids).toEqual([...new Set(live.ids)].sort((a, b) => a - b));
    expect(live.ids[0]).toBeGreaterThan(start);
    await expectExactlyTheLog(client, start, live);
    expect(live.states).toEqual(['connected']);

    // A follower given `since` replays from the log first: the same events again, once each.
    const replay = new FollowerLog();
    const replayer = follow(client, replay, { since: start });
    const lastSeen = live.ids.at(-1) ?? 0;
    await replay.until(() => replay.ids.includes(lastSeen), 'the replay to reach the live run');
    await replayer.stop();
    expect(replay.ids.slice(0, live.ids.length)).toEqual(live.ids);
  });

  it('resumes after a cut with no gap and no duplicate; status goes disconnected, then connected', async () => {
    const proxy = await LoopbackProxy.start(d.url);
    try {
      const viaProxy = new DaemonClient({ url: proxy.url, token: d.token, timeoutMs: 5000 });
      const start = await latestEventId(client);
      const log = new FollowerLog();
      const follower = follow(viaProxy, log, { since: start });
      await log.until(() => log.states.includes('connected'), 'connected');
      await client.createHost(manualHost('cut-1'));
      await log.until(() => log.saw('cut-1'), 'cut-1 registered');

      // The daemon stays up but the link goes down and reconnects are refused.
      proxy.mode = 'reject';
      proxy.cutAll();
      await log.until(() => log.states.includes('disconnected'), 'disconnected');
      const refusedBefore = proxy.accepted.reject;
      // Written while the follower is certainly away: it can only get these from the log.
      await client.createHost(manualHost('cut-2'));
      await client.createHost(manualHost('cut-3'));
      await proxy.untilAccepted('reject', refusedBefore + 1, DEADLINE_MS);
      expect(log.saw('cut-2')).toBe(false);

      proxy.mode = 'forward';
      await log.until(() => log.saw('cut-3'), 'cut-3 registered after the reconnect');
      await follower.stop();

      expect(log.states).toEqual(['connected', 'disconnected', 'connected']);
      const disconnected = log.statuses[1];
      expect(disconnected?.state === 'disconnected' && disconnected.error.retryable).toBe(true);
      expect(disconnected?.url).toBe(viaProxy.url);
      await expectExactlyTheLog(client, start, log);
    } finally {
      await proxy.close();
    }
  });

  it('survives a daemon restart on the same data dir and port', async () => {
    const dataDir = tempDir();
    let first: TestDaemon | undefined;
    let second: TestDaemon | undefined;
    try {
      first = await startTestDaemon({ dataDir });
      const port = first.daemon.address.port;
      const target = new DaemonClient({ url: first.url, token: first.token, timeoutMs: 5000 });
      const start = await latestEventId(target);
      const log = new FollowerLog();
      const follower = follow(target, log, { since: start });
      await log.until(() => log.states.includes('connected'), 'connected');
      await target.createHost(manualHost('restart-1'));
      await log.until(() => log.saw('restart-1'), 'restart-1 registered');

      await first.daemon.stop();
      await log.until(() => log.states.includes('disconnected'), 'disconnected');
      // Same data dir: the admin token minted by the first run still holds (no new one is printed).
      second = await startTestDaemon({ dataDir, overrides: [`http.port=${port}`] });
      expect(second.url).toBe(first.url);
      await createRetrying(target, manualHost('restart-2'));
      await createRetrying(target, manualHost('restart-3'));
      await log.until(() => log.saw('restart-3'), 'restart-3 registered after the restart');
      await follower.stop();

      expect(log.states).toEqual(['connected', 'disconnected', 'connected']);
      const disconnected = log.statuses[1];
      expect(disconnected?.state === 'disconnected' ? disconnected.error.error : undefined).toMatch(/^(StreamEnded|Unreachable)$/);
      await expectExactlyTheLog(target, start, log);
      expect(log.events.filter((event) => event.type === 'Registered').map((event) => event.name)).toEqual(['restart-1', 'restart-2', 'restart-3']);
    } finally {
      await second?.daemon.stop();
      await first?.daemon.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('presumes a silent stream dead after idleTimeoutMs and resumes where it was', async () => {
    // Keep-alives every second keep a healthy stream well inside the 2.5 s idle limit.
    const chatty = await startTestDaemon({ overrides: ['http.sseHeartbeatSeconds=1'] });
    const proxy = await LoopbackProxy.start(chatty.url);
    try {
      const direct = new DaemonClient({ url: chatty.url, token: chatty.token, timeoutMs: 5000 });
      const viaProxy = new DaemonClient({ url: proxy.url, token: chatty.token, timeoutMs: 5000 });
      const start = await latestEventId(direct);
      const log = new FollowerLog();
      const follower = follow(viaProxy, log, { since: start, idleTimeoutMs: 2500 });
      await log.until(() => log.states.includes('connected'), 'connected');
      await direct.createHost(manualHost('idle-1'));
      await log.until(() => log.saw('idle-1'), 'idle-1 registered');

      proxy.freeze();
      await direct.createHost(manualHost('idle-2'));
      await log.until(() => log.states.includes('disconnected'), 'the idle timeout');
      const disconnected = log.statuses[1];
      expect(disconnected?.state === 'disconnected' ? disconnected.error : undefined).toMatchObject({ error: 'Timeout', retryable: true });
      await log.until(() => log.saw('idle-2'), 'idle-2 after the reconnect');
      await follower.stop();
      expect(log.states).toEqual(['connected', 'disconnected', 'connected']);
      await expectExactlyTheLog(direct, start, log);
    } finally {
      await proxy.close();
      await chatty.stop();
    }
  });

  it('stops cleanly on abort: connected, while retrying, before starting', async () => {
    const log = new FollowerLog();
    const connected = follow(client, log);
    await log.until(() => log.states.includes('connected'), 'connected');
    await connected.stop();
    expect(log.states).toEqual(['connected']);

    // Abort while waiting out a long backoff against a daemon that refuses: settles at once.
    const proxy = await LoopbackProxy.start(d.url);
    proxy.mode = 'reject';
    try {
      const retrying = new FollowerLog();
      const refused = follow(new DaemonClient({ url: proxy.url, token: d.token, timeoutMs: 5000 }), retrying, { backoff: { initialMs: 60_000, maxMs: 60_000 } });
      await retrying.until(() => retrying.states.includes('disconnected'), 'disconnected');
      const stopping = Date.now();
      await refused.stop();
      expect(Date.now() - stopping).toBeLessThan(5000);
      expect(retrying.states).toEqual(['disconnected']);
      expect(retrying.statuses[0]?.state === 'disconnected' ? retrying.statuses[0].error.error : undefined).toBe('Unreachable');
    } finally {
      await proxy.close();
    }

    const aborted = new AbortController();
    aborted.abort();
    const never = new FollowerLog();
    await followEvents(client, { onEvent: never.onEvent, onStatus: never.onStatus, signal: aborted.signal });
    expect(never.statuses).toEqual([]);
  });

  it('rejects with the error a callback throws', async () => {
    const controller = new AbortController();
    const start = await latestEventId(client);
    const failing = followEvents(client, {
      since: start,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.name === 'poison') throw new Error('handler bug');
      },
    });
    const outcome = expect(failing).rejects.toThrow('handler bug');
    await client.createHost(manualHost('poison'));
    await outcome;
    controller.abort();
  });

  it('keeps reporting a wrong token as disconnected (Unauthorized, not retryable) without showing it', async () => {
    const wrongToken = `b7_fedcba9876543210_${'Q'.repeat(43)}`;
    const log = new FollowerLog();
    const follower = follow(new DaemonClient({ url: d.url, token: wrongToken, timeoutMs: 5000 }), log, { since: 0 });
    await log.until(() => log.states.includes('disconnected'), 'disconnected');
    await follower.stop();
    const status = log.statuses[0];
    expect(status?.state === 'disconnected' ? status.error : undefined).toMatchObject({ status: 401, error: 'Unauthorized', retryable: false });
    expect(JSON.stringify(log.statuses)).not.toContain(wrongToken);
    expect(log.events).toEqual([]);
  });
});
