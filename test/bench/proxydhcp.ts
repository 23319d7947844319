import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../daemon/config/schema.js';
import { createSegment, inNs, type Segment } from '../helpers/netns.js';
import { armHosts } from './arm.js';
import { bounded, type Cleanup } from './bounded.js';
import { busyCoresNow } from './cpu.js';
import { DNSMASQ, dnsmasqCommand, startDnsmasq } from './dnsmasq.js';
import { MAC_SERIES, macFor, seededHostName } from './host-fixtures.js';
import { startDaemonInNs } from './netns-daemon.js';
import { nsHttp } from '../helpers/ns-http.js';
import type { StopOutcome } from '../helpers/child.js';
import { PERFDHCP, perfdhcpCommand, type PerfdhcpLoad, type PerfdhcpRun } from './perfdhcp.js';
import { samples } from './prom-text.js';
import { proxyDhcpFailures, proxyDhcpTables, proxyDhcpWarnings, GOALS, type ProxyDhcpResults, type Step } from './proxydhcp-report.js';
import { WARMUP, measureStep, warmUp } from './proxydhcp-sweep.js';
import { seedInNamespace } from './seed-in-ns.js';
import { isMain, runStandalone } from './standalone.js';
import { MAIN_JS, ROOT, failedRun, say, writeJson, type BenchOptions, type BenchSummary } from './summary.js';
import { machineInfo } from './machine.js';

const NAME = 'proxyDHCP offers vs dnsmasq';
const OUTPUT = path.join(ROOT, 'test-output/bench-proxydhcp.json');

const MODES = {
  full: { hosts: 1000, rates: [2000, 5000, 10_000, 20_000], seconds: 10, timeLimitSeconds: 420 },
  short: { hosts: 200, rates: [2000, 5000], seconds: 3, timeLimitSeconds: 75 },
} as const;
// perfdhcp acts as a relay agent (giaddr = its address), so it needs one on the segment.
const CLIENT_ADDRESS = '10.77.0.250/24';
const NETWORK = '10.77.0.0';
const BRIDGE = 'br0';
const HTTP_PORT = 8082;
const SEED_CONCURRENCY = 16;
const START_TIMEOUT_MS = 30_000;
// Above the daemon's default 15 s shutdown grace.
const STOP_TIMEOUT_MS = 20_000;
// warn: no log line per offer or request (both are info); no TFTP: only proxyDHCP and the
// REST API that registers the hosts run.
const DAEMON_SETTINGS = { 'boot.advertiseAddress': '10.77.0.1', 'tftp.enabled': 'false', 'log.level': 'warn' };

/** Fails loudly, saying how to fix it: CI runs as root with the packages installed. */
function requireRootAndTools(): void {
  if (process.getuid?.() !== 0) throw new Error('the proxyDHCP benchmark needs root: it creates network namespaces (ip netns add) and binds UDP 67 inside them; run it as root, as CI does');
  for (const [bin, pkg] of [
    ['/usr/sbin/ip', 'iproute2'],
    [PERFDHCP, 'kea-admin'],
    [DNSMASQ, 'dnsmasq'],
    ['/usr/bin/curl', 'curl'],
  ] as const) {
    if (!existsSync(bin) && !existsSync(bin.replace('/usr', ''))) throw new Error(`${bin} missing: apt-get install -y ${pkg}`);
  }
  if (!existsSync(MAIN_JS)) throw new Error(`${path.relative(ROOT, MAIN_JS)} not found; run "npm run build" first`);
}

const firstLine = (command: string, args: string[]): string => execFileSync(command, args, { encoding: 'utf8', timeout: 5000 }).trim().split('\n')[0] ?? '';

interface Context {
  mode: 'full' | 'short';
  busyBefore: number;
  segment: Segment;
  dir: string;
  signal: AbortSignal;
  cleanup: Cleanup;
}

/** Sums the daemon's DHCP counters over its restarts. */
function addCounters(into: Record<string, number>, more: Record<string, number>): void {
  for (const [series, value] of Object.entries(more)) into[series] = (into[series] ?? 0) + value;
}

async function measure({ mode, busyBefore, segment, dir, signal, cleanup }: Context): Promise<ProxyDhcpResults> {
  const plan = MODES[mode];
  const startedAt = new Date().toISOString();
  inNs(segment.client, ['ip', 'addr', 'add', CLIENT_ADDRESS, 'dev', segment.clientInterface]);
  const macFile = path.join(dir, 'macs.txt');
  await writeFile(macFile, `${Array.from({ length: plan.hosts }, (_, i) => macFor(MAC_SERIES.seeded, i)).join('\n')}\n`);
  const load = (rate: number, seconds: number): PerfdhcpLoad => ({ namespace: segment.client, iface: segment.clientInterface, server: segment.serverAddress, macFile, rate, seconds });
  const cpus = os.cpus();
  const note = `perfdhcp (client namespace) and the server under test (server namespace) share the ${cpus.length} cores; perfdhcp plays a relay agent, so both servers answer it by unicast`;
  say(`load: ${perfdhcpCommand(load(plan.rates[0], plan.seconds)).join(' ')}`);
  say(`  (-M: every exchange from one of ${plan.hosts} MACs, ${macFor(MAC_SERIES.seeded, 0)} .. ${macFor(MAC_SERIES.seeded, plan.hosts - 1)}; rate and -p vary per step)`);
  say(note);

  const dataDir = path.join(dir, 'data');
  const startDaemon = async () => {
    const daemon = await startDaemonInNs({ namespace: segment.server, mainJs: MAIN_JS, dataDir, address: segment.serverAddress, port: HTTP_PORT, settings: DAEMON_SETTINGS, startTimeoutMs: START_TIMEOUT_MS, signal });
    cleanup.add('stop the daemon', () => daemon.child.stop(STOP_TIMEOUT_MS));
    return daemon;
  };
  const config = configSchema.parse({ dataDir, http: { host: segment.serverAddress, port: HTTP_PORT }, boot: { advertiseAddress: segment.serverAddress }, tftp: { enabled: false }, log: { level: 'warn' } });
  const settings = { dhcp: config.dhcp, log: config.log, database: config.database, boot: { advertiseAddress: config.boot.advertiseAddress, biosBootFile: config.boot.biosBootFile }, tftp: { enabled: config.tftp.enabled } };

  say('beskar7: the daemon in the server namespace, to register the hosts ...');
  const first = await startDaemon();
  say(`  node ${path.relative(ROOT, MAIN_JS)} ${first.args.join(' ')}`);
  say(`  effective settings: ${JSON.stringify(settings)}`);
  if (!first.token) throw new Error(`the daemon printed no admin token on its first start\n${first.child.tail()}`);
  say(`  registering ${plan.hosts} hosts through POST /api/v1/hosts (${SEED_CONCURRENCY} in flight, from inside the namespace), then arming them (netboot_mode='inspect' in SQLite) ...`);
  const seed = await seedInNamespace(segment.server, { baseUrl: first.baseUrl, token: first.token, count: plan.hosts, concurrency: SEED_CONCURRENCY, timeoutMs: 120_000 }, signal);
  armHosts(path.join(dataDir, config.database.file), Array.from({ length: plan.hosts }, (_, i) => seededHostName(i)));
  say(`  ${Math.round(seed.perSecond)} hosts/s (${seed.seconds.toFixed(1)} s)`);
  const stops = [await first.child.stop(STOP_TIMEOUT_MS)];

  const dnsmasqArgs = dnsmasqCommand({ namespace: segment.server, iface: BRIDGE, network: NETWORK });
  say(`peer: ${dnsmasqArgs.join(' ')}`);
  say('each rate: dnsmasq (started, warmed up, measured, stopped), then the daemon the same way; both bind UDP 67 on the bridge, so never together');
  const peer = { warmups: [] as PerfdhcpRun[], steps: [] as Step[], stops: [] as StopOutcome[] };
  const ours = { warmups: [] as PerfdhcpRun[], steps: [] as Step[], counters: {} as Record<string, number> };
  for (const rate of plan.rates) {
    const dnsmasq = startDnsmasq({ namespace: segment.server, iface: BRIDGE, network: NETWORK }, signal);
    cleanup.add('stop dnsmasq', () => dnsmasq.stop(5000));
    const peerTarget = { serverName: 'dnsmasq' as const, server: dnsmasq, segment, load, signal };
    peer.warmups.push(await warmUp(dnsmasq, load, signal));
    peer.steps.push(await measureStep(peerTarget, rate, plan.seconds));
    peer.stops.push(await dnsmasq.stop(5000));

    const daemon = await startDaemon();
    ours.warmups.push(await warmUp(daemon.child, load, signal));
    ours.steps.push(await measureStep({ serverName: 'beskar7', server: daemon.child, segment, load, signal }, rate, plan.seconds));
    const metrics = await nsHttp(segment.server, `${daemon.baseUrl}/metrics`, { signal });
    if (metrics.status !== 200) throw new Error(`GET /metrics answered ${metrics.status}`);
    addCounters(ours.counters, samples(metrics.body, ['beskar7_dhcp_datagrams_total', 'beskar7_dhcp_replies_total', 'beskar7_dhcp_ignored_total', 'beskar7_dhcp_send_errors_total']));
    stops.push(await daemon.child.stop(STOP_TIMEOUT_MS));
  }
  return {
    mode,
    startedAt,
    goals: GOALS,
    machine: machineInfo(note),
    busyBefore,
    load: { generator: firstLine(PERFDHCP, ['-v']), example: perfdhcpCommand(load(plan.rates[0], plan.seconds)), hosts: plan.hosts, rates: [...plan.rates], seconds: plan.seconds, warmup: WARMUP },
    dnsmasq: { version: firstLine(DNSMASQ, ['--version']), command: dnsmasqArgs, ...peer },
    beskar7: { command: first.args, settings, seed, ...ours, stops },
  };
}

/**
 * The daemon's proxyDHCP against dnsmasq in proxy mode, one after the other on the same
 * namespace segment under the same perfdhcp load: offers/s, drops and latency per rate.
 */
export async function runProxyDhcpBench(options: BenchOptions): Promise<BenchSummary<ProxyDhcpResults>> {
  const mode = options.short ? 'short' : 'full';
  const plan = MODES[mode];
  const outputFile = path.relative(ROOT, OUTPUT);
  const summary = { name: NAME, outputFile, tables: [], warnings: [] };
  say(`\n${NAME} benchmark, ${mode} mode: ${plan.hosts} clients, ${plan.rates.join(', ')} DISCOVER/s for ${plan.seconds} s each, time limit ${plan.timeLimitSeconds} s`);
  try {
    requireRootAndTools();
    const results = await bounded(NAME, plan.timeLimitSeconds, async (signal, cleanup) => {
      const busyBefore = await busyCoresNow(1000);
      say(`machine busy before start: ${busyBefore} cores`);
      signal.throwIfAborted();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'beskar7-bench-dhcp-'));
      cleanup.add('remove the temp dir', () => rm(dir, { recursive: true, force: true }));
      const segment = createSegment();
      cleanup.add('delete the namespaces', () => segment.destroy());
      say(`namespaces ${segment.server} (bridge ${BRIDGE} ${segment.serverAddress}/24), ${segment.client} (${segment.clientInterface} ${CLIENT_ADDRESS})`);
      return measure({ mode, busyBefore, segment, dir, signal, cleanup });
    });
    const failures = proxyDhcpFailures(results);
    const warnings = proxyDhcpWarnings(results);
    const tables = proxyDhcpTables(results);
    await writeJson(OUTPUT, { ok: failures.length === 0, goals: GOALS, tables, failures, warnings, results });
    return { ...summary, ok: failures.length === 0, tables, failures, warnings, results };
  } catch (error) {
    return failedRun(NAME, OUTPUT, error);
  }
}

if (isMain(import.meta.url)) process.exit(await runStandalone('node --import tsx test/bench/proxydhcp.ts', runProxyDhcpBench));
