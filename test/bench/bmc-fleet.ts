import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../daemon/config/schema.js';
import { RedfishDriver } from '../../daemon/power/redfish-driver.js';
import { DEFAULT_TIMINGS, type PxeResult } from '../../daemon/redfish/client.js';
import type { ConnectionOptions } from '../../daemon/redfish/connection.js';
import { RedfishError } from '../../daemon/redfish/errors.js';
import { BmcGate } from '../../daemon/redfish/gate.js';
import { DEFAULT_RETRY } from '../../daemon/redfish/retry.js';
import { dmtfMockup, haveRedfishData, redfishDataDir } from '../bmc/index.js';
import type { BmcFaultsPatch } from '../bmc/types.js';
import { emulatorReadySchema, fleetStateSchema, type EmulatorReady, type EmulatorSpec, type FleetState } from './bmc-fleet-protocol.js';
import { fleetFailures, fleetTables, fleetWarnings, GOALS, describeFaults, type FleetResults, type Measured, type Scenario } from './bmc-fleet-report.js';
import { bounded } from './bounded.js';
import { jsonLineOf, startChild, type Child } from '../helpers/child.js';
import { busyCoresNow, cpuShare, sampleCpu } from './cpu.js';
import { readMemory } from './memory.js';
import { isMain, runStandalone } from './standalone.js';
import { ROOT, failedRun, say, writeJson, type BenchOptions, type BenchSummary } from './summary.js';
import { machineInfo } from './machine.js';

const NAME = 'BMC fleet power-on + one-time PXE';
const OUTPUT = path.join(ROOT, 'test-output/bench-bmc-fleet.json');
const EMULATOR = path.join(ROOT, 'test/bench/bmc-fleet-emulator.ts');
const MOCKUP = 'public-rackmount1';
const SEED = 20_260_101;
const START_TIMEOUT_MS = 60_000;
const STATE_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const MAX_FAILURE_SAMPLES = 5;

/** A BMC that does what it is told at once: the client's own cost, nothing to wait for. */
const CLEAN: BmcFaultsPatch = {};
/**
 * Closer to a rack: power-on takes 1-2 s (quirk 9), each answer a few ms, and 2% of answers are
 * 503 + Retry-After (quirk 12). Only on GET and PATCH: the client sends the session POST (login)
 * once, without retrying, so a 503 there fails that BMC's whole operation (reported; not this
 * benchmark's subject).
 */
const REALISTIC: BmcFaultsPatch = { latencyMs: [2, 20], serverErrorProbability: 0.02, serverErrorStatus: 503, retryAfterSeconds: 1, serverErrorMethods: ['GET', 'PATCH'] };
const REALISTIC_POWER_ON: [number, number] = [1000, 2000];

// The daemon's default (config redfish.maxConcurrentBmcs), then more in flight.
const DEFAULT_LIMIT = 64;
const scenario = (name: 'clean' | 'realistic', count: number, limit: number, https = false): Scenario => ({
  name,
  count,
  https,
  limit,
  faults: name === 'clean' ? CLEAN : REALISTIC,
  powerOnDelayMs: name === 'clean' ? [0, 0] : REALISTIC_POWER_ON,
});

const MODES = {
  full: {
    scenarios: [
      scenario('clean', 1000, DEFAULT_LIMIT),
      scenario('clean', 1000, DEFAULT_LIMIT, true),
      scenario('realistic', 1000, DEFAULT_LIMIT),
      scenario('realistic', 1000, 128),
      scenario('realistic', 1000, 256),
      scenario('realistic', 2000, 256),
    ],
    timeLimitSeconds: 900,
  },
  short: { scenarios: [scenario('clean', 100, DEFAULT_LIMIT), scenario('realistic', 100, DEFAULT_LIMIT)], timeLimitSeconds: 180 },
} as const;

/** The daemon's Redfish settings at their defaults, as daemon/process/daemon.ts builds them. */
function daemonClientOptions(): { connection: ConnectionOptions; timings: { powerDeadlineMs: number; gracefulDeadlineMs: number } } {
  const { redfish } = configSchema.parse({});
  return {
    connection: { timeoutMs: redfish.requestTimeoutMs, retry: { ...DEFAULT_RETRY, attempts: redfish.retryAttempts } },
    timings: { powerDeadlineMs: redfish.powerDeadlineSeconds * 1000, gracefulDeadlineMs: redfish.gracefulShutdownSeconds * 1000 },
  };
}

function openFilesLimit(): number | null {
  try {
    const soft = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return soft === undefined ? null : soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return null;
  }
}

/**
 * The emulator holds a listening socket per BMC and one per open connection (two per BMC in
 * conversation at most: the client's keep-alive agent); it inherits this process's limit.
 */
function checkOpenFiles(scenarios: readonly Scenario[]): number | null {
  const limit = openFilesLimit();
  if (limit === null) return null;
  for (const s of scenarios) {
    const needed = s.count + 2 * s.limit + 256;
    if (needed > limit) {
      throw new Error(
        `ulimit -n is ${limit}, but ${s.count} emulated BMCs with ${s.limit} in conversation need about ${needed} file descriptors in the emulator process (one listening socket per BMC plus connections): raise it, e.g. "ulimit -n ${Math.ceil(needed / 1024) * 1024}", and run again`,
      );
    }
  }
  return Number.isFinite(limit) ? limit : null;
}


async function startEmulator(s: Scenario, signal: AbortSignal): Promise<{ child: Child; ready: EmulatorReady }> {
  const spec: EmulatorSpec = { mockup: dmtfMockup(MOCKUP), count: s.count, https: s.https, seed: SEED, faults: s.faults, powerOnDelayMs: s.powerOnDelayMs };
  const child = startChild('bmc-fleet-emulator', [process.execPath, '--import', 'tsx', EMULATOR, JSON.stringify(spec)], { keepStdout: true, cwd: ROOT, signal });
  try {
    const ready = emulatorReadySchema.parse(await jsonLineOf(child, 0, START_TIMEOUT_MS, 'its BMCs', signal, 'the emulator'));
    if (ready.urls.length !== s.count) throw new Error(`the emulator started ${ready.urls.length} BMCs, not ${s.count}`);
    return { child, ready };
  } catch (error) {
    await child.stop(STOP_TIMEOUT_MS);
    throw error;
  }
}

async function emulatorState(child: Child, signal: AbortSignal): Promise<FleetState> {
  // Our own child, by its PID: print what the BMCs saw.
  process.kill(child.pid, 'SIGUSR2');
  return fleetStateSchema.parse(await jsonLineOf(child, 1, STATE_TIMEOUT_MS, 'the fleet state', signal, 'the emulator'));
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

type Outcome = { ok: true; ms: number; result: PxeResult } | { ok: false; ms: number; error: string };

async function measure(s: Scenario, signal: AbortSignal, cleanupStop: (child: Child) => void): Promise<Measured> {
  say(`\n${s.name}, ${s.count} BMCs (${s.https ? 'HTTPS' : 'HTTP'}), gate limit ${s.limit}: ${describeFaults(s)}`);
  const { child, ready } = await startEmulator(s, signal);
  cleanupStop(child);
  say(`  emulator pid ${child.pid}: ${s.count} BMCs up in ${ready.startupMs} ms`);

  const retries: Record<string, number> = {};
  const base = daemonClientOptions();
  const connection: ConnectionOptions = {
    ...base.connection,
    onRetry: ({ what, error }) => {
      const reason = error instanceof RedfishError ? String(error.status ?? error.kind) : 'other';
      const key = `${what.split(' ')[0] ?? '?'} ${reason}`;
      retries[key] = (retries[key] ?? 0) + 1;
    },
  };
  const gate = new BmcGate(s.limit);
  const credentials = { username: ready.username, password: ready.password };
  const drivers = ready.urls.map(
    (url) => new RedfishDriver({ address: url, systemId: null, insecureSkipVerify: false, caBundle: ready.caPem }, () => credentials, gate, { connection, timings: base.timings }),
  );

  const before = await sampleCpu(child.pid);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const outcomes = await Promise.all(
    drivers.map((driver): Promise<Outcome> =>
      driver.bootFromNetwork('UEFI').then(
        (result) => ({ ok: true, ms: performance.now() - started, result }),
        (error: unknown) => ({ ok: false, ms: performance.now() - started, error: error instanceof Error ? error.message : String(error) }),
      ),
    ),
  );
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const after = await sampleCpu(child.pid);
  const share = cpuShare(before, after);

  const state = await emulatorState(child, signal);
  const memory = await readMemory(child.pid);
  const stop = await child.stop(STOP_TIMEOUT_MS);

  const settled = outcomes.map((o) => o.ms / 1000).sort((a, b) => a - b);
  const failed = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
  const enabled: Record<string, number> = {};
  for (const o of outcomes) if (o.ok) enabled[o.result.enabled] = (enabled[o.result.enabled] ?? 0) + 1;
  const measured: Measured = {
    scenario: s,
    emulator: { pid: child.pid, startupMs: ready.startupMs, rssMB: round(memory.rssMB, 1), peakRssMB: round(memory.peakRssMB, 1), stop },
    wallSeconds: round(wallMs / 1000),
    clientCpuSeconds: { user: round(cpu.user / 1e6), system: round(cpu.system / 1e6), total: round((cpu.user + cpu.system) / 1e6) },
    clientRssMB: round(process.memoryUsage.rss() / 1024 / 1024, 1),
    emulatorCpuSeconds: round((after.daemonMs - before.daemonMs) / 1000),
    otherCores: share.other,
    settledSeconds: { p50: round(percentile(settled, 50)), p90: round(percentile(settled, 90)), p99: round(percentile(settled, 99)), max: round(settled.at(-1) ?? 0) },
    failures: { count: failed.length, first: failed.slice(0, MAX_FAILURE_SAMPLES).map((f) => f.error) },
    enabled,
    retries,
    state,
  };
  say(
    `  wall ${measured.wallSeconds} s; CPU client ${measured.clientCpuSeconds.total} s, emulator ${measured.emulatorCpuSeconds} s, other ${share.other} cores; ` +
      `${state.requests} requests, ${state.injectedErrors} injected 5xx, retries ${JSON.stringify(retries)}; failed ${failed.length}; ` +
      `emulator: ${state.poweredOn} On, ${state.bootedPxeOnce} booted Pxe/Once, ${state.liveSessions} sessions open, max ${state.maxInFlightPerBmc} request(s) at once per BMC`,
  );
  return measured;
}

/**
 * 1,000 emulated BMCs (100 in short mode) in one emulator process, each powered on with a
 * one-time PXE boot by RedfishDriver.bootFromNetwork through one shared BmcGate, as the daemon
 * would: wall time, the client's CPU and the emulator's, and what the BMCs ended up as.
 */
export async function runBmcFleetBench(options: BenchOptions): Promise<BenchSummary<FleetResults>> {
  const mode = options.short ? 'short' : 'full';
  const plan = MODES[mode];
  const outputFile = path.relative(ROOT, OUTPUT);
  say(`\n${NAME} benchmark, ${mode} mode: ${plan.scenarios.length} runs, time limit ${plan.timeLimitSeconds} s`);
  try {
    if (!haveRedfishData()) throw new Error(`Redfish mockups not found at ${redfishDataDir()}: set BESKAR7_REDFISH_DATA to the shared redfish-data folder`);
    const openFiles = checkOpenFiles(plan.scenarios);
    const results = await bounded(NAME, plan.timeLimitSeconds, async (signal, cleanup): Promise<FleetResults> => {
      const startedAt = new Date().toISOString();
      const busyBefore = await busyCoresNow(1000);
      say(`machine busy before start: ${busyBefore} cores`);
      const runs: Measured[] = [];
      for (const s of plan.scenarios) {
        runs.push(await measure(s, signal, (child) => cleanup.add(`stop the emulator (pid ${child.pid})`, () => (child.exit() ? undefined : child.stop(STOP_TIMEOUT_MS)))));
      }
      const { connection, timings } = daemonClientOptions();
      return {
        mode,
        startedAt,
        goals: GOALS,
        machine: {
          ...machineInfo(`the client runs in this process, the ${MOCKUP} BMCs in one emulator process; both share the ${os.cpus().length} cores`),
          openFilesLimit: openFiles,
        },
        busyBefore,
        client: { connection: { timeoutMs: connection.timeoutMs, retry: connection.retry }, timings: { ...DEFAULT_TIMINGS, ...timings }, mockup: MOCKUP, start: 'Off, no override' },
        runs,
      };
    });
    const failures = fleetFailures(results);
    const warnings = fleetWarnings(results);
    const tables = fleetTables(results);
    await writeJson(OUTPUT, { ok: failures.length === 0, goals: GOALS, tables, failures, warnings, results });
    return { name: NAME, ok: failures.length === 0, tables, failures, warnings, outputFile, results };
  } catch (error) {
    return failedRun(NAME, OUTPUT, error);
  }
}

if (isMain(import.meta.url)) process.exit(await runStandalone('node --import tsx test/bench/bmc-fleet.ts', runBmcFleetBench));
