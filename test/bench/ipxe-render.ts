import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type autocannon from 'autocannon';
import { configSchema } from '../../daemon/config/schema.js';
import { armHosts } from './arm.js';
import { bounded } from './bounded.js';
import { busyCoresNow, withCpu } from './cpu.js';
import { startDaemon } from './daemon-process.js';
import { freePort } from '../helpers/free-port.js';
import { MAC_SERIES, macFor, seededHostName } from './host-fixtures.js';
import { GOALS, VARIANT_LABEL, ipxeFailures, ipxeTables, ipxeWarnings, type IpxeResults, type Measured, type Variant } from './ipxe-report.js';
import { runLoad } from './load.js';
import { NGINX, startNginx } from './nginx.js';
import { seedHosts } from './seed.js';
import { isMain, runStandalone } from './standalone.js';
import { MAIN_JS, ROOT, failedRun, say, writeJson, type BenchOptions, type BenchSummary } from './summary.js';
import { machineInfo } from './machine.js';

const NAME = 'iPXE script renders vs nginx';
const OUTPUT = path.join(ROOT, 'test-output/bench-ipxe-render.json');

const MODES = {
  full: { durationSeconds: 10, warmupSeconds: 1, timeLimitSeconds: 180 },
  short: { durationSeconds: 3, warmupSeconds: 1, timeLimitSeconds: 60 },
} as const;
const CONNECTIONS = 32;
// Requests spread over several hosts per variant, as several machines booting at once.
const MACS_PER_VARIANT = 10;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

const indexes = (variant: Variant): number[] => Array.from({ length: MACS_PER_VARIANT }, (_, i) => (variant === 'armed' ? i : MACS_PER_VARIANT + i));
const macsOf = (variant: Variant): string[] => indexes(variant).map((i) => macFor(MAC_SERIES.seeded, i));

// nginx prints its version on stderr.
const nginxVersion = (): string => spawnSync(NGINX, ['-v'], { encoding: 'utf8', timeout: 5000 }).stderr.trim();

/** What the daemon renders for this variant, checked so the load measures the script meant. */
async function sampleScript(baseUrl: string, variant: Variant): Promise<string> {
  const mac = macsOf(variant)[0] ?? '';
  const response = await fetch(`${baseUrl}/ipxe/${mac}`);
  const text = await response.text();
  const expected = variant === 'armed' ? /beskar7\.token=[A-Za-z0-9_-]{43} beskar7\.mode=inspect/ : /boots from its local disk/;
  if (response.status !== 200 || !expected.test(text)) throw new Error(`GET /ipxe/${mac} (${variant}) answered ${response.status} without the expected script:\n${text.slice(0, 1000)}`);
  return text;
}

async function load(target: Measured['target'], variant: Variant, bytes: number, url: string, pid: number, seconds: number, signal: AbortSignal): Promise<Measured> {
  // Fixed requests cycled through, not setupRequest: rebuilding each request costs autocannon
  // enough CPU to make it, not nginx, the limit.
  const request: autocannon.Request[] = macsOf(variant).map((mac) => ({ method: 'GET', path: `/ipxe/${mac}` }));
  const title = `${target} ${variant}`;
  const { result, cpu } = await withCpu(pid, () => runLoad({ title, url, headers: {}, request, connections: CONNECTIONS, durationSeconds: seconds, signal }));
  say(`  ${target}, ${VARIANT_LABEL[variant]}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}; server ${cpu.daemon} cores`);
  return { target, variant, bytes, load: result, cpu };
}

/** Unscored, so the first scored run does not pay for JIT compilation and cold caches. */
async function warmUp(url: string, variant: Variant, seconds: number, signal: AbortSignal): Promise<void> {
  const request: autocannon.Request[] = macsOf(variant).map((mac) => ({ method: 'GET', path: `/ipxe/${mac}` }));
  await runLoad({ title: 'warm-up', url, headers: {}, request, connections: CONNECTIONS, durationSeconds: seconds, signal });
}

/**
 * GET /ipxe/<mac> for a host that boots its disk (a pure render) and for one armed for an
 * inspection boot (a token and an event written per render), then nginx serving static
 * files of the same sizes, under the same autocannon load.
 */
export async function runIpxeRenderBench(options: BenchOptions): Promise<BenchSummary<IpxeResults>> {
  const mode = options.short ? 'short' : 'full';
  const plan = MODES[mode];
  const outputFile = path.relative(ROOT, OUTPUT);
  const summary = { name: NAME, outputFile, tables: [], warnings: [] };
  say(`\n${NAME} benchmark, ${mode} mode: ${CONNECTIONS} connections, ${plan.durationSeconds} s per run, time limit ${plan.timeLimitSeconds} s`);
  try {
    if (!existsSync(MAIN_JS)) throw new Error(`${path.relative(ROOT, MAIN_JS)} not found; run "npm run build" first`);
    if (!existsSync(NGINX)) throw new Error(`${NGINX} missing: apt-get install -y nginx`);
    const results = await bounded(NAME, plan.timeLimitSeconds, async (signal, cleanup): Promise<IpxeResults> => {
      const startedAt = new Date().toISOString();
      const busyBefore = await busyCoresNow(1000);
      say(`machine busy before start: ${busyBefore} cores`);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'beskar7-bench-ipxe-'));
      cleanup.add('remove the temp dir', () => rm(dir, { recursive: true, force: true }));
      const dataDir = path.join(dir, 'data');
      const daemon = await startDaemon({ mainJs: MAIN_JS, dataDir, startTimeoutMs: START_TIMEOUT_MS, signal });
      cleanup.add('stop the daemon', () => (daemon.exit() ? undefined : daemon.stop(STOP_TIMEOUT_MS)));
      const config = configSchema.parse({ dataDir });
      const settings = { log: config.log, database: config.database, boot: config.boot, dhcp: { enabled: false }, tftp: { enabled: false } };
      say(`daemon pid ${daemon.pid} at ${daemon.baseUrl}: node ${path.relative(ROOT, MAIN_JS)} ${daemon.args.join(' ')}`);
      say(`  every other setting at its default (BESKAR7_* env not passed): ${JSON.stringify({ log: config.log, database: config.database })}`);
      say('  its stdout (one request log line per render, the default) is piped to this process and discarded');

      await seedHosts({ baseUrl: daemon.baseUrl, token: daemon.token, count: 2 * MACS_PER_VARIANT, concurrency: 4, signal });
      armHosts(path.join(dataDir, config.database.file), indexes('armed').map(seededHostName));
      const scripts = { local: await sampleScript(daemon.baseUrl, 'local'), armed: await sampleScript(daemon.baseUrl, 'armed') };
      const bytes = { local: Buffer.byteLength(scripts.local), armed: Buffer.byteLength(scripts.armed) };
      say(`  ${2 * MACS_PER_VARIANT} hosts registered, ${MACS_PER_VARIANT} armed; scripts: local ${bytes.local} bytes, armed ${bytes.armed} bytes`);

      const runs: Measured[] = [];
      for (const variant of ['local', 'armed'] as const) {
        await warmUp(daemon.baseUrl, variant, plan.warmupSeconds, signal);
        runs.push(await load('beskar7', variant, bytes[variant], daemon.baseUrl, daemon.pid, plan.durationSeconds, signal));
      }
      const daemonStop = await daemon.stop(STOP_TIMEOUT_MS);

      const ports = { local: await freePort(), armed: await freePort() };
      const sites = (['local', 'armed'] as const).map((variant) => ({ name: variant, port: ports[variant], content: scripts[variant] }));
      const nginx = await startNginx(path.join(dir, 'nginx'), sites, signal);
      cleanup.add('stop nginx', () => nginx.child.stop(5000));
      say(`nginx pid ${nginx.child.pid}: ${nginx.command.join(' ')} (127.0.0.1:${ports.local} local, :${ports.armed} armed)`);
      for (const variant of ['local', 'armed'] as const) {
        const url = `http://127.0.0.1:${ports[variant]}`;
        await warmUp(url, variant, plan.warmupSeconds, signal);
        runs.push(await load('nginx', variant, bytes[variant], url, nginx.child.pid, plan.durationSeconds, signal));
      }
      const nginxStop = await nginx.child.stop(5000);

      return {
        mode,
        startedAt,
        goals: GOALS,
        machine: machineInfo(`autocannon runs in this process; it and the server share the ${os.cpus().length} cores; nginx: one process, access_log off`),
        busyBefore,
        shape: { connections: CONNECTIONS, durationSeconds: plan.durationSeconds, warmupSeconds: plan.warmupSeconds, macsPerVariant: MACS_PER_VARIANT },
        daemon: { pid: daemon.pid, command: daemon.args, settings, stop: daemonStop },
        nginx: { version: nginxVersion(), command: nginx.command, config: nginx.config, stop: nginxStop },
        scripts: { local: { bytes: bytes.local, sample: scripts.local }, armed: { bytes: bytes.armed, sample: scripts.armed } },
        runs,
      };
    });
    const failures = ipxeFailures(results);
    const warnings = ipxeWarnings(results);
    const tables = ipxeTables(results);
    await writeJson(OUTPUT, { ok: failures.length === 0, goals: GOALS, tables, failures, warnings, results });
    return { ...summary, ok: failures.length === 0, tables, failures, warnings, results };
  } catch (error) {
    return failedRun(NAME, OUTPUT, error);
  }
}

if (isMain(import.meta.url)) process.exit(await runStandalone('node --import tsx test/bench/ipxe-render.ts', runIpxeRenderBench));
