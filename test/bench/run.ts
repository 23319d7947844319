import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configSchema } from '../../daemon/config/schema.js';
import { busyCoresNow, withCpu, type CpuShare } from './cpu.js';
import { startDaemon, type DaemonProcess } from './daemon-process.js';
import { benchGetHost, benchPostHost, type LoadShape } from './hosts-api.js';
import type { LoadSummary } from './load.js';
import { readMemory } from './memory.js';
import { GOALS, failures, rows, warnings, type BenchResults } from './report.js';
import { seedHosts } from './seed.js';
import { table } from './table.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN_JS = path.join(ROOT, 'dist/daemon/cli/main.js');
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

const say = (text: string) => process.stdout.write(`${text}\n`);
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const cpuLine = (share: CpuShare) => `CPU cores: daemon ${share.daemon}, bench ${share.bench}, other ${share.other}`;
const brief = (run: LoadSummary) =>
  `${Math.round(run.requestsPerSecond)} req/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, non-2xx ${run.non2xx}, errors ${run.errors}`;

function parseMode(): keyof typeof MODES | undefined {
  try {
    const { values } = parseArgs({ options: { short: { type: 'boolean', default: false } }, strict: true, allowPositionals: false });
    return values.short ? 'short' : 'full';
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\nusage: node --import tsx test/bench/run.ts [--short]\n`);
    return undefined;
  }
}

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
    machine: { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}`, note },
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

async function writeOutput(data: unknown): Promise<void> {
  await mkdir(path.dirname(OUTPUT), { recursive: true });
  await writeFile(OUTPUT, `${JSON.stringify(data, null, 2)}\n`);
}

async function main(): Promise<number> {
  const mode = parseMode();
  if (!mode) return 1;
  if (!existsSync(MAIN_JS)) {
    process.stderr.write(`bench: ${path.relative(ROOT, MAIN_JS)} not found; run "npm run build" first\n`);
    return 1;
  }
  const plan = MODES[mode];
  say(`beskar7 hosts API benchmark, ${mode} mode: ${plan.hosts} hosts, ${plan.durationSeconds} s per run, time limit ${plan.timeLimitSeconds} s`);

  const controller = new AbortController();
  const watchdog = setTimeout(() => controller.abort(new Error(`time limit of ${plan.timeLimitSeconds} s reached`)), plan.timeLimitSeconds * 1000);
  const onSignal = (signal: NodeJS.Signals) => controller.abort(new Error(`received ${signal}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // Whatever phase is running, an abort ends the wait at once; cleanup then kills the daemon.
  const aborted = new Promise<never>((_resolve, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true });
  });
  aborted.catch(() => undefined);

  const busyBefore = await busyCoresNow(1000);
  say(`machine busy before start: ${busyBefore} cores`);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'beskar7-bench-'));
  let daemon: DaemonProcess | undefined;
  let code = 0;
  try {
    daemon = await startDaemon({ mainJs: MAIN_JS, dataDir, startTimeoutMs: START_TIMEOUT_MS, signal: controller.signal });
    const results = await Promise.race([measure(daemon, mode, dataDir, busyBefore, controller.signal), aborted]);
    results.daemon.stop = await daemon.stop(STOP_TIMEOUT_MS);

    const body = rows(results);
    const failed = failures(results);
    const warned = warnings(results);
    say(`\nResults (${mode} mode, ${results.machine.cpus} cores: ${results.machine.cpuModel}; ${results.machine.note})`);
    say(table(body));
    say(`(latency percentiles are autocannon's, in whole ms; misses do not fail the run, errors and non-2xx do)`);
    for (const warning of warned) say(`warning: ${warning}`);
    await writeOutput({ ok: failed.length === 0, goals: GOALS, table: body, failures: failed, warnings: warned, results });
    say(`\nwrote ${path.relative(ROOT, OUTPUT)}`);
    if (failed.length > 0) {
      process.stderr.write(`bench: requests failed:\n${failed.map((f) => `  - ${f}`).join('\n')}\n`);
      code = 1;
    }
  } catch (error) {
    const reason = controller.signal.aborted ? (controller.signal.reason as Error) : (error as Error);
    process.stderr.write(`bench: ${reason.stack ?? reason.message}\n`);
    await writeOutput({ ok: false, error: reason.message }).catch(() => undefined);
    code = 1;
  } finally {
    clearTimeout(watchdog);
    if (daemon && !daemon.exit()) await daemon.stop(STOP_TIMEOUT_MS);
    await rm(dataDir, { recursive: true, force: true });
  }
  return code;
}

// Exit explicitly: keep-alive sockets or a stopped load run must not hold the benchmark open.
process.exit(await main());
