import { eventViewSchema, type EventView } from '../../../daemon/core/schemas/event.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import type { DaemonClient } from './client.js';
import { DaemonApiError, isDaemonApiError, problemsOf } from './errors.js';
import { latestEventId } from './event-position.js';
import { ServerSentEventParser } from './sse-parser.js';

export type DaemonStreamStatus = { state: 'connected'; url: string } | { state: 'disconnected'; url: string; error: DaemonApiError };

export interface FollowEventsOptions {
  /** Deliver events with id > since. Default: from the newest event when the follower starts. */
  since?: number;
  /** Awaited before the next event is read (backpressure). If it throws, followEvents rejects with that error. */
  onEvent: (event: EventView) => void | Promise<void>;
  /** Transitions only: connected after a stream opens, disconnected (with why) after it fails or ends. */
  onStatus?: (status: DaemonStreamStatus) => void;
  /** Stops the follower; followEvents then resolves. */
  signal: AbortSignal;
  /** Delays between attempts. initialMs defaults to the daemon's `retry:` hint, else 1 s; maxMs to 30 s. */
  backoff?: Partial<BackoffPolicy>;
  /** A stream that delivered an event, or stayed open this long, resets the backoff. Default 10 s. */
  healthyAfterMs?: number;
  /**
   * Silence (no event, no keep-alive comment) after which the stream is presumed dead, as when a
   * NAT or a peer vanishes without closing the socket. Keep it above the daemon's
   * http.sseHeartbeatSeconds (default 15 s). Default 60 s.
   */
  idleTimeoutMs?: number;
}

const DEFAULTS = { initialMs: 1000, maxMs: 30_000, healthyAfterMs: 10_000, idleTimeoutMs: 60_000 };
const EVENT_PATH = 'GET /api/v1/events';

/** Marks an error thrown by the caller's own callback, which ends the follower instead of a reconnect. */
class CallbackFailure extends Error {
  constructor(readonly error: unknown) {
    super('a follower callback failed', { cause: error });
  }
}

function pause(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, milliseconds);
    signal.addEventListener('abort', done, { once: true });
  });
}

const streamError = (error: string, message: string, retryable: boolean, status: number | null = 200) =>
  new DaemonApiError({ status, error, message: `${EVENT_PATH}: ${message}`, retryable, request: EVENT_PATH });

/** One daemon's event stream, followed across disconnects: every event once, in id order. */
class EventFollower {
  private position: number | undefined;
  private reported: DaemonStreamStatus['state'] | undefined;
  private serverRetryMs: number | undefined;
  private failedAttempts = 0;

  constructor(
    private readonly client: DaemonClient,
    private readonly options: FollowEventsOptions,
  ) {
    this.position = options.since;
  }

  async run(): Promise<void> {
    try {
      await this.loop();
    } catch (error) {
      throw error instanceof CallbackFailure ? error.error : error;
    }
  }

  private async loop(): Promise<void> {
    const { signal } = this.options;
    while (!signal.aborted) {
      try {
        // Resolved once, before the first stream: a stream opened without a position starts at
        // a point it does not tell, and a cut before the first event would then lose events.
        this.position ??= await latestEventId(this.client, { signal });
        await this.streamOnce(this.position);
      } catch (error) {
        if (error instanceof CallbackFailure) throw error;
        if (signal.aborted) return;
        const failure = isDaemonApiError(error) ? error : streamError('Unreachable', String(error), true, null);
        this.report({ state: 'disconnected', url: this.client.url, error: failure });
      }
      await pause(this.nextDelay(), signal);
    }
  }

  private nextDelay(): number {
    const initialMs = this.options.backoff?.initialMs ?? this.serverRetryMs ?? DEFAULTS.initialMs;
    const maxMs = Math.max(initialMs, this.options.backoff?.maxMs ?? DEFAULTS.maxMs);
    return backoffDelay(this.failedAttempts++, { initialMs, maxMs });
  }

  private report(status: DaemonStreamStatus): void {
    if (status.state === this.reported) return;
    this.reported = status.state;
    try {
      this.options.onStatus?.(status);
    } catch (error) {
      throw new CallbackFailure(error);
    }
  }

  /** Reads one stream until it fails or ends; always throws (the stream is endless by design) unless aborted. */
  private async streamOnce(afterId: number): Promise<void> {
    const { signal } = this.options;
    const idleTimeoutMs = this.options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
    const healthyAfterMs = this.options.healthyAfterMs ?? DEFAULTS.healthyAfterMs;
    const connection = new AbortController();
    const stop = () => connection.abort();
    signal.addEventListener('abort', stop, { once: true });
    let idleTimer: NodeJS.Timeout | undefined;
    let idled = false;
    const armIdleTimer = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idled = true;
        connection.abort();
      }, idleTimeoutMs);
    };
    let openedAt: number | undefined;
    try {
      const response = await this.client.openEventStream(afterId, connection.signal);
      const type = response.headers.get('content-type') ?? '';
      if (!response.body || !type.toLowerCase().startsWith('text/event-stream')) {
        throw streamError('InvalidResponse', `expected text/event-stream, got "${type}"`, false);
      }
      openedAt = Date.now();
      this.report({ state: 'connected', url: this.client.url });
      // Node's typings leave the chunk type open; fetch bodies yield bytes.
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      const parser = new ServerSentEventParser();
      armIdleTimer();
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        armIdleTimer();
        for (const item of parser.push(decoder.decode(chunk.value, { stream: true }))) {
          if (item.kind === 'retry') {
            this.serverRetryMs = item.milliseconds > 0 ? item.milliseconds : undefined;
            continue;
          }
          const event = this.parseEvent(item.message.data);
          // A replay may overlap what was already delivered; ids only grow.
          if (this.position !== undefined && event.id <= this.position) continue;
          await this.deliver(event);
          this.position = event.id;
          this.failedAttempts = 0;
          if (signal.aborted) return;
        }
      }
      throw streamError('StreamEnded', 'the daemon ended the stream (restarting?)', true);
    } catch (error) {
      if (error instanceof CallbackFailure) throw error;
      if (signal.aborted) return;
      if (idled) throw streamError('Timeout', `no data, not even a keep-alive, for ${idleTimeoutMs} ms`, true, null);
      if (isDaemonApiError(error)) throw error;
      // Cut mid-stream: fetch reports it as TypeError('terminated') with the socket error as cause.
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      throw streamError('Unreachable', `connection lost: ${cause instanceof Error ? cause.message : String(cause)}`, true, null);
    } finally {
      clearTimeout(idleTimer);
      signal.removeEventListener('abort', stop);
      connection.abort();
      if (openedAt !== undefined && Date.now() - openedAt >= healthyAfterMs) this.failedAttempts = 0;
    }
  }

  private parseEvent(data: string): EventView {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      throw streamError('InvalidResponse', 'an event is not JSON', false);
    }
    const parsed = eventViewSchema.safeParse(json);
    if (!parsed.success) {
      throw new DaemonApiError({
        status: 200,
        error: 'InvalidResponse',
        message: `${EVENT_PATH}: an event does not match the daemon's event schema (daemon and shim versions differ?)`,
        details: problemsOf(parsed.error),
        retryable: false,
        request: EVENT_PATH,
      });
    }
    return parsed.data;
  }

  private async deliver(event: EventView): Promise<void> {
    try {
      await this.options.onEvent(event);
    } catch (error) {
      throw new CallbackFailure(error);
    }
  }
}

/**
 * Follows one daemon's events (`GET /api/v1/events`) until `signal` aborts, reconnecting with
 * Last-Event-ID after every disconnect (exponential backoff with jitter), so the caller sees
 * each event exactly once and in id order. Resolves on abort; rejects only with an error thrown
 * by onEvent or onStatus. Failures of the daemon or the network are reported through onStatus
 * and retried forever, including non-retryable ones (a revoked token can be fixed without
 * restarting the shim).
 */
export function followEvents(client: DaemonClient, options: FollowEventsOptions): Promise<void> {
  return new EventFollower(client, options).run();
}
