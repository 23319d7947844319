import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { count } from 'drizzle-orm';
import type { Logger } from 'pino';
import { openDatabase, type OpenDatabase } from '../../db/open.js';
import { hosts, machines } from '../../db/schema.js';
import { buildApi } from '../api/server.js';
import type { LoadedConfig } from '../config/load.js';
import { EventBus } from '../core/event-bus.js';
import { HostService } from '../core/hosts.js';
import { MachineService } from '../core/machines.js';
import { Store } from '../core/store.js';
import { TokenService } from '../core/tokens.js';
import { DaemonMetrics } from '../metrics/registry.js';
import { Keyring } from '../secrets/keyring.js';
import { version } from '../util/version.js';
import { advertiseAddress } from './advertise.js';
import { wireBoot } from './boot-wiring.js';
import { powerSettings } from './power-settings.js';
import type { BootTokens } from '../core/boot/boot-tokens.js';
import type { BootPlanner } from '../core/boot/boot-planner.js';
import { PowerService } from '../core/power.js';
import { BmcGate } from '../redfish/gate.js';
import { powerRoutes } from '../api/routes/power.js';
import { BootServers } from './boot-servers.js';
import { LifecycleStore } from '../lifecycle/lifecycle-store.js';
import { LifecycleEngine } from '../lifecycle/engine.js';
import { RamdiskService } from '../lifecycle/ramdisk-service.js';
import { ramdiskRoutes } from '../api/routes/ramdisk.js';
import { hostLogRoutes } from '../api/routes/host-logs.js';
import { observeLifecycle } from '../metrics/lifecycle.js';

export interface DaemonOptions {
  loaded: LoadedConfig;
  logger: Logger;
  /** Where the first admin token is printed; stderr by default. Never the log. */
  announce?: (text: string) => void;
}

/**
 * Wires the daemon: database, keyring, core services, and the adapters around them.
 * start() brings everything up in order; stop() takes it down in reverse.
 */
export class Daemon {
  readonly bus = new EventBus();
  readonly metrics = new DaemonMetrics();
  private database?: OpenDatabase;
  private http?: FastifyInstance;
  private bootServers?: BootServers;
  /** The base URL booting machines are given; null when it must come from each request. */
  bootBaseUrl: string | null = null;
  private stopping = false;
  services?: {
    store: Store;
    hosts: HostService;
    machines: MachineService;
    tokens: TokenService;
    keyring: Keyring;
    bootTokens: BootTokens;
    planner: BootPlanner;
    power: PowerService;
    engine: LifecycleEngine;
    ramdisk: RamdiskService;
  };

  constructor(private readonly options: DaemonOptions) {}

  get address(): { host: string; port: number } {
    const address = this.http?.server.address();
    if (!address || typeof address === 'string') throw new Error('daemon is not listening');
    return { host: address.address, port: address.port };
  }

  async start(): Promise<void> {
    const { loaded, logger } = this.options;
    const { config } = loaded;
    const keyring = Keyring.open(loaded.keyDir);
    this.database = openDatabase({ file: loaded.databaseFile, busyTimeoutMs: config.database.busyTimeoutMs, synchronous: config.database.synchronous });
    if (this.database.appliedMigrations.length > 0) {
      logger.info({ migrations: this.database.appliedMigrations, file: loaded.databaseFile }, 'database schema migrated');
    }
    const store = new Store(this.database.db, this.database.sqlite, this.bus);
    const services = {
      store,
      keyring,
      hosts: new HostService(store, keyring),
      machines: new MachineService(store, keyring),
      tokens: new TokenService(store),
    };
    this.bus.on('event', (event) => {
      this.metrics.events.inc({ kind: event.kind, type: event.type });
      observeLifecycle(this.metrics, event);
      const subject = event.kind === 'token' ? { tokenId: event.name } : { [event.kind]: `${event.namespace}/${event.name}` };
      logger.info({ event: event.id, kind: event.kind, type: event.type, ...subject }, event.message);
    });
    const db = this.database.db;
    this.metrics.gaugeFromQuery('beskar7_hosts', 'Hosts by state', 'state', () =>
      db.select({ label: hosts.state, value: count() }).from(hosts).groupBy(hosts.state).all(),
    );
    this.metrics.gaugeFromQuery('beskar7_lifecycle_queue', 'Hosts whose next lifecycle step is waiting or running', 'status', () => {
      const size = this.services?.engine.queueSize() ?? { waiting: 0, running: 0 };
      return [
        { label: 'waiting', value: size.waiting },
        { label: 'running', value: size.running },
      ];
    });
    this.metrics.gaugeFromQuery('beskar7_machines', 'Machines by phase', 'phase', () =>
      db.select({ label: machines.phase, value: count() }).from(machines).groupBy(machines.phase).all(),
    );

    if (config.auth.printInitialAdminToken && services.tokens.neverCreated()) this.announceFirstToken(services.tokens);

    const boot = wireBoot(config, loaded.dataDir, store, this.database.sqlite, this.metrics, () => this.bootBaseUrl);
    services.hosts.revokeTokens = (hostId) => boot.tokens.revoke(hostId);
    if (boot.missingInspector.length > 0) {
      logger.warn(
        { missing: boot.missingInspector },
        `inspection ramdisk not installed: hosts cannot be inspected or provisioned until it is; build it with "npm run inspector:build -- --out ${dirname(boot.missingInspector[0] ?? '.')}" (see inspector/README.md)`,
      );
    }
    const power = new PowerService(services.hosts, new BmcGate(config.redfish.maxConcurrentBmcs), powerSettings(config), logger);
    const lifecycle = config.lifecycle;
    const engine = new LifecycleEngine(
      new LifecycleStore(store, boot.tokens),
      power,
      this.bus,
      {
        inspectOnEnroll: lifecycle.inspectOnEnroll,
        inspectionTimeoutMs: lifecycle.inspectionTimeoutSeconds * 1000,
        provisionTimeoutMs: lifecycle.provisionTimeoutSeconds * 1000,
        wipeTimeoutMs: lifecycle.wipeTimeoutSeconds * 1000,
        retryBaseMs: lifecycle.retryBaseSeconds * 1000,
        retryMaxMs: lifecycle.retryMaxSeconds * 1000,
        workers: lifecycle.workers,
        bootMode: lifecycle.bootMode === 'keep' ? null : lifecycle.bootMode,
      },
      logger.child({ component: 'lifecycle' }),
    );
    const ramdisk = new RamdiskService(new LifecycleStore(store, boot.tokens), boot.tokens, services.machines, engine, {
      pollSeconds: lifecycle.ramdiskPollSeconds,
      osTokenTtlMs: lifecycle.osTokenTtlSeconds * 1000,
      logBytesPerHost: lifecycle.logBytesPerHost,
    });
    this.services = { ...services, bootTokens: boot.tokens, planner: boot.planner, power, engine, ramdisk };

    const http = buildApi({
      config,
      version,
      logger,
      store,
      bus: this.bus,
      metrics: this.metrics,
      hosts: services.hosts,
      machines: services.machines,
      tokens: services.tokens,
      readiness: { notReadyReason: () => this.notReadyReason() },
      extraRoutes: [
        ...powerRoutes(power),
        ...boot.routes,
        ...ramdiskRoutes(ramdisk, (request) => this.bootBaseUrl ?? `http://${request.host}`),
        ...hostLogRoutes(ramdisk),
      ],
      staticDirs: boot.staticDirs,
    });
    this.http = http;
    await http.listen({ host: config.http.host, port: config.http.port });

    const advertise = advertiseAddress(config.boot);
    this.bootBaseUrl = config.boot.httpBaseUrl || (advertise.ok ? `http://${advertise.address}:${this.address.port}` : null);
    this.bootServers = new BootServers(config, boot.planner, this.metrics, logger);
    await this.bootServers.start(advertise, this.bootBaseUrl);
    // Last: the engine acts on hosts (BMC calls, boots) only once every server they need is up.
    engine.start();
    logger.info(
      { version, address: this.address, dataDir: loaded.dataDir, database: loaded.databaseFile, bootBaseUrl: this.bootBaseUrl ?? '(from each request)' },
      'beskar7 daemon ready',
    );
  }

  /** The one time a secret is shown outside the API: on stderr, never in the log. */
  private announceFirstToken(tokens: TokenService): void {
    const created = tokens.create('admin');
    const announce = this.options.announce ?? ((text: string) => process.stderr.write(text));
    announce(
      `\n  First start: created API token "admin" (id ${created.id}). It is shown only this once:\n\n    ${created.token}\n\n` +
        `  Use it as BESKAR7_TOKEN or "Authorization: Bearer <token>"; create more with "beskar7 token create".\n\n`,
    );
    this.options.logger.info({ tokenId: created.id }, 'initial admin token created and printed to stderr');
  }

  /** null when ready; otherwise why not, as /readyz reports it. */
  notReadyReason(): string | null {
    if (this.stopping) return 'shutting down';
    try {
      this.database?.sqlite.prepare('SELECT 1').get();
      return this.database ? null : 'database not open';
    } catch (error) {
      return `database error: ${(error as Error).message}`;
    }
  }

  /** Drains HTTP (in-flight requests finish, streams end), then closes the database. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { logger, loaded } = this.options;
    logger.info('shutting down');
    this.bus.emit('closing');
    // Steps in flight finish (bounded by the Redfish deadlines); none starts after this.
    await this.services?.engine.stop();
    await this.bootServers?.stop();
    if (this.http) {
      const grace = loaded.config.http.shutdownGraceSeconds * 1000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), grace);
      });
      const outcome = await Promise.race([this.http.close().then(() => 'closed' as const), timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        logger.warn({ graceSeconds: loaded.config.http.shutdownGraceSeconds }, 'requests still open after the grace period; closing them');
        this.http.server.closeAllConnections();
      }
    }
    // A power action in flight records its outcome before the database closes (bounded by its deadlines).
    await this.services?.power.drain();
    // Writes are synchronous transactions, so none is half-done here; closing checkpoints the WAL.
    this.database?.close();
    logger.info('stopped');
  }
}
