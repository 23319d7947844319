import { EventEmitter, once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * forward: relay to the target. reject: accept and close at once (a daemon that is down).
 * blackhole: accept, swallow the request, never answer (a partitioned network).
 */
export type ProxyMode = 'forward' | 'reject' | 'blackhole';

interface Relay {
  client: Socket;
  upstream?: Socket;
}

/** A TCP relay on 127.0.0.1 in front of a real daemon, to cut, refuse or stall its connections. */
export class LoopbackProxy {
  mode: ProxyMode = 'forward';
  /** Connections accepted in each mode, so tests can wait for an attempt to have happened. */
  readonly accepted: Record<ProxyMode, number> = { forward: 0, reject: 0, blackhole: 0 };
  private readonly relays = new Set<Relay>();
  private readonly accepts = new EventEmitter();

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(targetUrl: string): Promise<LoopbackProxy> {
    const target = new URL(targetUrl);
    const server = createServer();
    const proxy = new LoopbackProxy(server, { host: target.hostname, port: Number(target.port) });
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get url(): string {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('proxy is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Resolves once `count` connections were accepted in `mode`; rejects after timeoutMs. */
  async untilAccepted(mode: ProxyMode, count: number, timeoutMs: number): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    while (this.accepted[mode] < count) {
      await once(this.accepts, 'accepted', { signal }).catch(() => {
        throw new Error(`only ${this.accepted[mode]} of ${count} ${mode} connections within ${timeoutMs} ms`);
      });
    }
  }

  /** Drops every open connection, as a crash or a network cut would. */
  cutAll(): void {
    for (const relay of this.relays) this.drop(relay);
  }

  /** Open connections stop relaying in both directions but stay open: a silent, half-dead link. */
  freeze(): void {
    for (const { client, upstream } of this.relays) {
      if (!upstream) continue;
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const mode = this.mode;
    this.accepted[mode]++;
    this.accepts.emit('accepted');
    client.on('error', () => undefined);
    if (mode === 'reject') {
      client.destroy();
      return;
    }
    const relay: Relay = { client };
    this.relays.add(relay);
    client.on('close', () => this.drop(relay));
    if (mode === 'blackhole') {
      client.resume();
      return;
    }
    const upstream = connect(this.target);
    relay.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.on('close', () => this.drop(relay));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private drop(relay: Relay): void {
    if (!this.relays.delete(relay)) return;
    relay.client.destroy();
    relay.upstream?.destroy();
  }
}
