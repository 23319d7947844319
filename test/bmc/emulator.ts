import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { Bmc } from './bmc.js';
import type { BmcHost } from './bmc.js';
import { HEALTHY, mergeFaults } from './faults.js';
import { deriveSeed } from './prng.js';
import { selfSignedCertificate } from './tls.js';
import { TreeCache } from './tree.js';
import type { BmcConfig, BmcEmulator, BmcEmulatorOptions, BmcFaults } from './types.js';

const HOST = '127.0.0.1';
const DEFAULT_SEED = 0x5eed;
const IDLE_TIMEOUT_MS = 5 * 60_000;

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function plan(options: BmcEmulatorOptions): { config: BmcConfig; faults: BmcFaults }[] {
  const count = options.count ?? (options.bmcs?.length || 1);
  if (!Number.isInteger(count) || count < 1) throw new Error(`count must be a positive integer, got ${count}`);
  if (options.portBase !== undefined && (!Number.isInteger(options.portBase) || options.portBase < 1 || options.portBase + count - 1 > 65535)) {
    throw new Error(`portBase ${options.portBase} with ${count} BMCs does not fit in 1-65535`);
  }
  const defaults: BmcConfig = {
    mockup: options.mockup,
    https: options.https ?? false,
    username: options.username ?? 'admin',
    password: options.password ?? 'password',
    basicAuth: options.basicAuth ?? true,
    sessionService: options.sessionService ?? 'auto',
    sessionLimit: options.sessionLimit ?? 16,
    sessionTimeoutMs: options.sessionTimeoutMs ?? null,
    initialPowerState: options.initialPowerState ?? null,
    requestLogSize: options.requestLogSize ?? 100,
  };
  return Array.from({ length: count }, (_, i) => {
    const { faults, ...overrides } = options.bmcs?.[i] ?? {};
    return { config: { ...defaults, ...definedOnly(overrides) }, faults: mergeFaults(HEALTHY, options.faults, faults) };
  });
}

function openFilesLimit(): string {
  try {
    return /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function listen(server: NetServer, port: number, index: number, fdLimit: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EMFILE') return reject(error);
      // Every BMC holds one listening descriptor; say so instead of leaving a bare EMFILE.
      const hint = new Error(`out of file descriptors at BMC ${index}: each BMC needs one listening socket plus one per open connection; raise ulimit -n (soft limit ${fdLimit})`, { cause: error });
      reject(Object.assign(hint, { code: 'EMFILE' }));
    });
    server.listen({ host: HOST, port, exclusive: true }, () => {
      server.removeAllListeners('error');
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('listener has no TCP address'));
      else resolve(address.port);
    });
  });
}

/**
 * Starts `count` emulated BMCs in this process. Design: ONE http.Server (and one https.Server) parse
 * and route every request; each BMC owns only a plain listening socket on 127.0.0.1 with its own port,
 * whose accepted connections are handed to the shared server. The BMC is found from the connection's
 * local port. So 1,000 BMCs cost 1,000 listening descriptors plus live connections, and one copy of
 * each mockup tree. Distinct loopback addresses (127.0.0.2…) were rejected: they do not exist on macOS
 * and a certificate per address would be needed.
 */
export async function startBmcEmulator(options: BmcEmulatorOptions): Promise<BmcEmulator> {
  const started = performance.now();
  const plans = plan(options);
  const trees = new TreeCache();
  const loaded = await Promise.all(plans.map((p) => trees.get(p.config.mockup)));
  const tls = plans.some((p) => p.config.https) ? (options.tls ?? (await selfSignedCertificate())) : null;

  const abort = new AbortController();
  const sockets = new Set<Socket>();
  const socketUses = new WeakMap<object, number>();
  const byPort = new Map<number, Bmc>();
  const totals = { requests: 0, inFlight: 0, maxInFlight: 0 };
  const host: BmcHost = {
    signal: abort.signal,
    useSocket(socket) {
      const uses = socketUses.get(socket) ?? 0;
      socketUses.set(socket, uses + 1);
      return uses;
    },
    inFlightChanged(delta) {
      if (delta > 0) totals.requests++;
      totals.inFlight += delta;
      totals.maxInFlight = Math.max(totals.maxInFlight, totals.inFlight);
    },
    ...(options.onRequest ? { onRequest: options.onRequest } : {}),
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const bmc = byPort.get(req.socket.localPort ?? -1);
    if (!bmc) {
      req.socket.destroy();
      return;
    }
    bmc.handle(req, res).catch(() => {
      // A bug in the emulator must not look like a BMC answer the client could learn to accept.
      req.socket.destroy();
    });
  };
  const httpServer = createHttpServer(handler);
  const httpsServer = tls ? createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, handler) : null;
  // These servers never listen(), so Node's request/headers timeouts never run; an idle cap keeps a
  // silent client from holding a descriptor for ever.
  httpServer.timeout = IDLE_TIMEOUT_MS;
  if (httpsServer) httpsServer.timeout = IDLE_TIMEOUT_MS;
  httpsServer?.on('tlsClientError', (_error, socket) => socket.destroy());

  const listeners: NetServer[] = [];
  const closeAll = async (): Promise<void> => {
    abort.abort();
    for (const bmc of byPort.values()) bmc.dispose();
    const closed = listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    const gone = [...sockets].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve()))));
    for (const socket of sockets) socket.destroy();
    await Promise.all([...closed, ...gone]);
    // 'close' fires before libuv has released the handles; two turns of the loop let its close phase run,
    // so a caller counting handles right after stop() sees none of ours.
    for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
  };

  const epoch = performance.now();
  const clock = (): number => performance.now() - epoch;
  const seed = options.seed ?? DEFAULT_SEED;
  // Read now: once descriptors run out, /proc/self/limits cannot be opened either.
  const fdLimit = openFilesLimit();
  let bmcs: Bmc[];
  try {
    bmcs = await Promise.all(
      plans.map(async (p, index) => {
        const target = p.config.https ? httpsServer : httpServer;
        if (!target) throw new Error('HTTPS BMC without TLS material');
        const listener = createNetServer((socket) => {
          sockets.add(socket);
          socket.once('close', () => sockets.delete(socket));
          target.emit('connection', socket);
        });
        listeners.push(listener);
        const port = await listen(listener, options.portBase === undefined ? 0 : options.portBase + index, index, fdLimit);
        const tree = loaded[index];
        if (!tree) throw new Error(`mockup for BMC ${index} did not load`);
        const bmc = new Bmc({ index, config: p.config, tree, faults: p.faults, seed: deriveSeed(seed, index), clock, onBoot: options.onBoot }, port, host);
        byPort.set(port, bmc);
        return bmc;
      }),
    );
  } catch (error) {
    await closeAll();
    throw error;
  }

  let stopping: Promise<void> | null = null;
  return {
    bmcs,
    caPem: tls?.certPem ?? null,
    startupMs: Math.round(performance.now() - started),
    openConnections: () => sockets.size,
    totals: () => ({ ...totals }),
    stop: () => (stopping ??= closeAll()),
  };
}
