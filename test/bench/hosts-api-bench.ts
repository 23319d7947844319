import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../daemon/config/schema.js';
import { bounded } from './bounded.js';
import { busyCoresNow, withCpu, type CpuShare } from './cpu.js';
import { startDaemon, type DaemonProcess } from './daemon-process.js';
import { benchGetHost, benchPostHost, type LoadShape } from './hosts-api.js';
import type { LoadSummary } from './load.js';
import { readMemory } from './memory.js';
import { GOALS, failures, rows, warnings, type BenchResults } from './report.js';
import { seedHosts } from './seed.js';
import { isMain, runStandalone } from './standalone.js';
import { MAIN_JS, ROOT, failedRun, say, writeJson, type BenchOptions, type BenchSummary } from './summary.js';
import { table } from './table.js';
import { machineInfo } from './machine.js';

const NAME = 'hosts API (REST)';
const OUTPUT = path.join(ROOT, 'test-output/bench-hosts-api.json');

const MODES = {
  full: { hosts: 10_000, durationSeconds: 10, warmupSeconds: 1, timeLimitSeconds: 900 },
  short: { hosts: 500, durationSeconds: 2, warmupSeconds: 1, timeLimitSeconds: 180 },
} as const;
const CONNECTIONS = 32;
const SEED_CONCURRENCY = 32;
const START_TIMEOUT_MS = 30_000;
// Above the daemon's default 15 s shutdown grace, so a slow but orderly stop is not cut short.
const STOP_TIMEOUT_MS = 20_000;

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const cpuLine = (share: CpuShare) => `CPU cores: daemon ${share.daemon}, bench ${share.bench}, other ${share.other}`;
const brief = (run: LoadSummary) =>
  `${Math.round(run.requestsPerSecond)} req/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, non-2xx ${run.non2xx}, errors ${run.errors}`;

function checkAlive(daemon: DaemonProcess, phase: string): void {
  const exit = daemon.exit();
  if (exit) throw new Error(`daemon exited during ${phase} (code ${exit.code}, signal ${exit.signal})\n${daemon.tail()}`);
}

/** The effective settings: the schema's defaults plus the flags the bench passes, since BESKAR7_* env is stripped. */
function daemonSettings(dataDir: string): Record<string, unknown> {
  const config = configSchema.parse({ dataDir, http: { host: '127.0.0.1', port: 0 } });
  return { log: config.log, database: config.database, http: { host: config.http.host, port: 'free (0)', bodyLimitBytes: config.http.bodyLimitBytes } };
}

async function measure(daemon: DaemonProcess, mode: keyof typeof MODES, dataDir: string, busyBefore: number, signal: AbortSignal): Promise<BenchResults> {
  const plan = MODES[mode];
  const startedAt = new Date().toISOString();
  const target = { baseUrl: daemon.baseUrl, token: daemon.token };
  const shape = (durationSeconds: number): LoadShape => ({ connections: CONNECTIONS, durationSeconds, signal });
  const cpus = os.cpus();
  const note = `autocannon and this script run in one node process, the daemon in another: together they share the ${cpus.length} cores`;
  say(`daemon pid ${daemon.pid} at ${daemon.baseUrl}; settings: ${JSON.stringify(daemonSettings(dataDir))}`);
  say(`daemon stdout (request log on) is piped to this process and discarded; BESKAR7_* env not passed`);
  say(note);

  say(`seeding ${plan.hosts} hosts through POST /api/v1/hosts, ${SEED_CONCURRENCY} in flight ...`);
  const seed = await withCpu(daemon.pid, () => seedHosts({ ...target, count: plan.hosts, concurrency: SEED_CONCURRENCY, signal }));
  checkAlive(daemon, 'seeding');
  const memoryAfterSeed = await readMemory(daemon.pid);
  say(`  ${Math.round(seed.result.perSecond)} hosts/s (${seed.result.seconds.toFixed(1)} s); ${cpuLine(seed.cpu)}; daemon RSS ${memoryAfterSeed.rssMB.toFixed(1)} MB`);

  say(`warm-up: GET for ${plan.warmupSeconds} s (not scored) ...`);
  const warmup = await benchGetHost(target, plan.hosts, shape(plan.warmupSeconds), 'GET warm-up');
  checkAlive(daemon, 'warm-up');

  say(`GET /api/v1/hosts/default/{random seeded name}: ${CONNECTIONS} connections, ${plan.durationSeconds} s ...`);
  const get = await withCpu(daemon.pid, () => benchGetHost(target, plan.hosts, shape(plan.durationSeconds)));
  checkAlive(daemon, 'GET run');
  say(`  ${brief(get.result)}; ${cpuLine(get.cpu)}`);

  say(`POST /api/v1/hosts, every request a new host: ${CONNECTIONS} connections, ${plan.durationSeconds} s ...`);
  const post = await withCpu(daemon.pid, () => benchPostHost(target, shape(plan.durationSeconds)));
  checkAlive(daemon, 'POST run');
  say(`  ${brief(post.result)}; ${cpuLine(post.cpu)}`);

  const memory = await readMemory(daemon.pid);
  return {
    mode,
    startedAt,
    machine: machineInfo(note),
    daemon: { pid: daemon.pid, command: daemon.args, settings: daemonSettings(dataDir), logMB: mb(daemon.logBytes()) },
    seed: seed.result,
    memoryAfterSeed,
    warmup,
    get: get.result,
    post: post.result,
    memory,
    cpu: { busyBefore, seed: seed.cpu, get: get.cpu, post: post.cpu },
  };
}

/** The REST API on loopback: reads and writes of hosts against a store of 10,000 (500 in short mode). */
export async function runHostsApiBench(options: BenchOptions): Promise<BenchSummary<BenchResults>> {
  const mode = options.short ? 'short' : 'full';
  const plan = MODES[mode];
  const outputFile = path.relative(ROOT, OUTPUT);
  const summary = { name: NAME, outputFile, tables: [], warnings: [] };
  say(`\n${NAME} benchmark, ${mode} mode: ${plan.hosts} hosts, ${plan.durationSeconds} s per run, time limit ${plan.timeLimitSeconds} s`);
  try {
    if (!existsSync(MAIN_JS)) throw new Error(`${path.relative(ROOT, MAIN_JS)} not found; run "npm run build" first`);
    const results = await bounded(NAME, plan.timeLimitSeconds, async (signal, cleanup) => {
      const busyBefore = await busyCoresNow(1000);
      say(`machine busy before start: ${busyBefore} cores`);
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'beskar7-bench-'));
      cleanup.add('remove the data dir', () => rm(dataDir, { recursive: true, force: true }));
      const daemon = await startDaemon({ mainJs: MAIN_JS, dataDir, startTimeoutMs: START_TIMEOUT_MS, signal });
      cleanup.add('stop the daemon', () => (daemon.exit() ? undefined : daemon.stop(STOP_TIMEOUT_MS)));
      const measured = await measure(daemon, mode, dataDir, busyBefore, signal);
      measured.daemon.stop = await daemon.stop(STOP_TIMEOUT_MS);
      return measured;
    });
    const body = rows(results);
    const failed = failures(results);
    const warned = warnings(results);
    await writeJson(OUTPUT, { ok: failed.length === 0, goals: GOALS, table: body, failures: failed, warnings: warned, results });
    const heading = `${NAME} (${mode} mode, ${results.machine.cpus} cores: ${results.machine.cpuModel}; ${results.machine.note})`;
    const footnote = '(latency percentiles are autocannon\'s, in whole ms; misses do not fail the run, errors and non-2xx do)';
    return { ...summary, ok: failed.length === 0, tables: [`${heading}\n${table(body)}\n${footnote}`], failures: failed, warnings: warned, results };
  } catch (error) {
    return failedRun(NAME, OUTPUT, error);
  }
}

if (isMain(import.meta.url)) process.exit(await runStandalone('node --import tsx test/bench/hosts-api-bench.ts', runHostsApiBench));
