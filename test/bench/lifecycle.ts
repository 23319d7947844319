/**
 * Benchmark: N hosts from registration to Provisioned through the whole state machine.
 *
 *   node --import tsx test/bench/lifecycle.ts [--short]
 *
 * Three processes: the daemon (dist/, its CPU and peak RSS read from /proc), the fleet
 * (lifecycle-fleet.ts: emulated BMCs, simulated firmware + ramdisk per host, artefact server) and
 * this one (REST calls, following events). Optional environment:
 *   BESKAR7_BENCH_LIFECYCLE_HOSTS=1000,5000  run these sizes instead of the mode's
 *   BESKAR7_BENCH_CPU_PROF=<dir>             run the daemon with --cpu-prof into <dir>
 *   BESKAR7_BENCH_DAEMON_LOG=<dir>           keep the daemon's log there
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dmtfMockup, haveRedfishData, redfishDataDir } from '../bmc/index.js';
import { simMac } from '../helpers/ramdisk-sim.js';
import { bounded, type Cleanup } from './bounded.js';
import { jsonLineOf, startChild, type Child } from '../helpers/child.js';
import { busyCoresNow, processCpuMs, sampleCpu, type CpuSample } from './cpu.js';
import { startDaemon, type DaemonProcess } from './daemon-process.js';
import { EventFollower, type FollowedEvent, type FollowMode } from './lifecycle-events.js';
import { fleetReadySchema, fleetStateSchema, type FleetReady, type FleetSpec, type FleetState } from './lifecycle-protocol.js';
import { GOALS, lifecycleFailures, lifecycleTables, lifecycleWarnings, type LifecycleResults, type Progress, type RunResult } from './lifecycle-report.js';
import { machineInfo } from './machine.js';
import { readMemory } from './memory.js';
import { isMain, runStandalone } from './standalone.js';
import { MAIN_JS, ROOT, failedRun, say, writeJson, type BenchOptions, type BenchSummary } from './summary.js';

const NAME = 'lifecycle (registration -> Provisioned)';
const OUTPUT = path.join(ROOT, 'test-output/bench-lifecycle.json');
const FLEET = path.join(ROOT, 'test/bench/lifecycle-fleet.ts');
const MOCKUP = 'public-rackmount1';

interface Plan {
  hosts: number;
  limitSeconds: number;
  follow: FollowMode;
}

/**
 * Completion is followed on the SSE stream, resuming with Last-Event-ID when the daemon drops a
 * reader that fell 4 MiB behind. (The first 10,000 run found that such a drop crashed the daemon:
 * a write after the stream's end; fixed in daemon/api/routes/events.ts.)
 */
const MODES: Record<'full' | 'short', Plan[]> = {
  // The 10,000 run is capped at 15 min: past that it is reported as incomplete with its progress.
  full: [
    { hosts: 1000, limitSeconds: 600, follow: 'sse' },
    { hosts: 10_000, limitSeconds: 900, follow: 'sse' },
  ],
  short: [{ hosts: 100, limitSeconds: 120, follow: 'sse' }],
};

/** POSTs in flight while registering hosts and creating machines, as an operator's script would. */
const REST_CONCURRENCY = 32;
/** The ramdisk's waits (retryAfterSeconds 1 s, backoff) × this: a poll every 50 ms. */
const WAIT_SCALE = 0.05;
/**
 * Keep-alive sockets the simulated machines share towards the daemon (and the artefact server).
 * Not more: a busy daemon accepts one new connection per event-loop iteration (libuv), so a pool
 * that grows by hundreds during the boot burst leaves connections in the accept queue past the
 * sims' 30 s request timeout (at 256, ~12 % of 1,000 boots failed that way).
 */
const SIM_MAX_SOCKETS = 64;
const DAEMON_SETTINGS = ['lifecycle.ramdiskPollSeconds=1'];
const START_TIMEOUT_MS = 30_000;
const FLEET_START_TIMEOUT_MS = 120_000;
const FLEET_STATE_TIMEOUT_MS = 30_000;
// Above the daemon's default 15 s shutdown grace, so a slow but orderly stop is not cut short.
const STOP_TIMEOUT_MS = 20_000;
/** No event at all for this long: the run is stuck, not slow. */
const STALL_MS = 120_000;
const PROGRESS_EVERY_MS = 5000;
const MAX_SAMPLES = 5;

const WANTED = new Set(['host.StateChanged', 'host.StepFailed', 'host.InspectionTimeout', 'machine.PhaseChanged', 'machine.Failed', 'machine.Released']);

const hostName = (i: number): string => `node-${String(i).padStart(5, '0')}`;
const machineName = (i: number): string => `m-${String(i).padStart(5, '0')}`;
const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;
const mb = (bytes: number): number => round(bytes / 1024 / 1024, 1);

/**
 * Runs: the mode's, or BESKAR7_BENCH_LIFECYCLE_HOSTS=1000,2000 (e.g. to profile one size; each
 * followed as the mode's run of that size would be, else over SSE up to 2,000 hosts).
 */
function plannedRuns(mode: keyof typeof MODES): Plan[] {
  const custom = process.env.BESKAR7_BENCH_LIFECYCLE_HOSTS;
  if (!custom) return MODES[mode];
  return custom.split(',').map((part): Plan => {
    const hosts = Number(part.trim());
    if (!Number.isInteger(hosts) || hosts < 1 || hosts > 20_000) throw new Error(`BESKAR7_BENCH_LIFECYCLE_HOSTS: "${part}" is not a host count (1-20000)`);
    const known = [...MODES.full, ...MODES.short].find((p) => p.hosts === hosts);
    return known ?? { hosts, limitSeconds: hosts > 2000 ? 900 : 600, follow: hosts > 2000 ? 'log' : 'sse' };
  });
}

// ---------------------------------------------------------------- descriptors

function fileLimits(): { soft: number; hard: number } | null {
  try {
    const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!match?.[1] || !match[2]) return null;
    const value = (text: string) => (text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text));
    return { soft: value(match[1]), hard: value(match[2]) };
  } catch {
    return null;
  }
}

/**
 * The fleet holds a listening socket per BMC, plus the daemon's connections to BMCs (bounded by
 * its gate), the sims' pools to the daemon and the artefact server (both ends of the latter are in
 * the fleet). Returns the limit to set for the child when the soft limit is too low and the hard
 * one allows it; throws with a hint when neither does.
 */
function fleetFileLimit(hosts: number): number | null {
  const limits = fileLimits();
  if (!limits) return null;
  const needed = hosts + 2 * 256 + 4 * SIM_MAX_SOCKETS + 256;
  if (needed <= limits.soft) return null;
  if (needed <= limits.hard) return Number.isFinite(limits.hard) ? limits.hard : needed;
  throw new Error(`ulimit -n is ${limits.soft} (hard ${limits.hard}), but ${hosts} emulated BMCs need about ${needed} file descriptors in the fleet process: raise the hard limit and run again`);
}

// ---------------------------------------------------------------- fleet process


async function startFleet(spec: FleetSpec, signal: AbortSignal): Promise<Fleet> {
  const node = [process.execPath, '--import', 'tsx', FLEET, JSON.stringify(spec)];
  const limit = fleetFileLimit(spec.count);
  // Only the soft limit, only for this child: `exec` keeps the PID the node process's own.
  const command = limit === null ? node : ['/bin/sh', '-c', `ulimit -n ${limit} && exec "$@"`, 'sh', ...node];
  const child = startChild('lifecycle-fleet', command, { keepStdout: true, cwd: ROOT, signal });
  try {
    const ready = fleetReadySchema.parse(await jsonLineOf(child, 0, FLEET_START_TIMEOUT_MS, 'its BMCs', signal, 'the fleet'));
    if (ready.urls.length !== spec.count) throw new Error(`the fleet started ${ready.urls.length} BMCs, not ${spec.count}`);
    return { child, ready, lines: 1 };
  } catch (error) {
    await child.stop(10_000);
    throw error;
  }
}

/** What the machines did; asked again (briefly) while boot flows still finish their last calls. */
interface Fleet {
  child: Child;
  ready: FleetReady;
  /** JSON lines the fleet printed so far (the ready line, then one per state). */
  lines: number;
}

/** What the machines did; asked again (up to `tries` times) while boot flows still finish their last calls. */
async function fleetState(fleet: Fleet, signal: AbortSignal, tries = 25): Promise<FleetState> {
  for (let attempt = 1; ; attempt++) {
    // Our own child, by its PID; each answer is the line after the previous one.
    process.kill(fleet.child.pid, 'SIGUSR2');
    const state = fleetStateSchema.parse(await jsonLineOf(fleet.child, fleet.lines++, FLEET_STATE_TIMEOUT_MS, 'the fleet state', signal, 'the fleet'));
    if (state.busy === 0 || attempt >= tries) return state;
    await sleep(200);
  }
}

// ---------------------------------------------------------------- REST

async function api<T>(daemon: DaemonProcess, method: string, url: string, body?: unknown): Promise<{ status: number; body: T; text: string }> {
  const response = await fetch(`${daemon.baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${daemon.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed as T, text };
}

/** Runs task(0 … count-1) with `concurrency` in flight; the first failure stops the others at their next turn. */
async function inParallel(count: number, concurrency: number, signal: AbortSignal, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    try {
      while (next < count && !failed) {
        signal.throwIfAborted();
        await task(next++);
      }
    } catch (error) {
      failed = true;
      throw error;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Every page of a list endpoint. */
async function listAll<T>(daemon: DaemonProcess, url: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: { items: T[]; continue: string | null }; text: string } = await api(daemon, 'GET', `${url}${url.includes('?') ? '&' : '?'}limit=1000${cursor ? `&continue=${cursor}` : ''}`);
    if (page.status !== 200) throw new Error(`GET ${url}: HTTP ${page.status}: ${page.text.slice(0, 300)}`);
    items.push(...page.body.items);
    cursor = page.body.continue;
  } while (cursor !== null);
  return items;
}

// ---------------------------------------------------------------- the event tally

/** What the event stream told: states of hosts, machines Provisioned and on which host, failures. */
class Tally {
  readonly hostState = new Map<string, string>();
  readonly available = new Set<string>();
  /** machine → host ("default/node-00001"). */
  readonly provisioned = new Map<string, string>();
  /** performance.now() of each first Provisioned. */
  readonly provisionedAt: number[] = [];
  inError = 0;
  stepFailed = 0;
  readonly stepFailedSamples: string[] = [];
  machineFailed = 0;
  readonly machineFailedSamples: string[] = [];
  released = 0;
  inspectionTimeouts = 0;

  take(event: FollowedEvent): void {
    if (event.kind === 'host') {
      if (event.type === 'StateChanged') {
        const to = String(event.data.to);
        const from = this.hostState.get(event.name);
        if (from === 'Error') this.inError--;
        if (to === 'Error') this.inError++;
        this.hostState.set(event.name, to);
        if (to === 'Available') this.available.add(event.name);
      } else if (event.type === 'StepFailed') {
        this.stepFailed++;
        if (this.stepFailedSamples.length < MAX_SAMPLES) this.stepFailedSamples.push(`${event.name}: ${event.message}`);
      } else if (event.type === 'InspectionTimeout') {
        this.inspectionTimeouts++;
      }
      return;
    }
    if (event.type === 'PhaseChanged' && event.data.to === 'Provisioned' && !this.provisioned.has(event.name)) {
      this.provisioned.set(event.name, String(event.data.host));
      this.provisionedAt.push(performance.now());
    } else if (event.type === 'Failed') {
      this.machineFailed++;
      if (this.machineFailedSamples.length < MAX_SAMPLES) this.machineFailedSamples.push(`${event.name}: ${event.message}`);
    } else if (event.type === 'Released') {
      this.released++;
    }
  }
}

// ---------------------------------------------------------------- one run

interface Parties {
  daemon: DaemonProcess;
  fleet: Fleet;
  follower: EventFollower;
  tally: Tally;
  progress: Progress;
  signal: AbortSignal;
  /** performance.now() of the first registration. */
  t0: number;
}

async function snapshot(parties: Parties): Promise<void> {
  const { daemon, progress, tally } = parties;
  progress.available = tally.available.size;
  progress.provisioned = tally.provisioned.size;
  progress.hostsInError = tally.inError;
  progress.stepFailed = tally.stepFailed;
  progress.elapsedSeconds = round((performance.now() - parties.t0) / 1000, 1);
  if (daemon.exit()) return;
  try {
    progress.daemonCpuSeconds = round((await processCpuMs(daemon.pid)) / 1000);
    progress.daemonPeakRssMB = round((await readMemory(daemon.pid)).peakRssMB, 1);
  } catch {
    // The daemon exited between the check and the read: the caller finds out.
  }
}

/**
 * Waits until `done()` holds, woken by the event stream (no polling for completion). Fails when
 * the daemon or the fleet exits, the stream breaks, nothing happens for STALL_MS, or the run is
 * aborted; prints progress every few seconds meanwhile.
 */
function waitFor(parties: Parties, what: string, done: () => boolean): Promise<void> {
  const { daemon, fleet, follower, signal } = parties;
  parties.progress.phase = `waiting for ${what}`;
  return new Promise<void>((resolve, reject) => {
    let ticks = 0;
    const finish = (error?: Error): void => {
      follower.off('events', check);
      follower.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      clearInterval(ticker);
      if (error) reject(error);
      else resolve();
    };
    const check = (): void => {
      if (done()) finish();
    };
    const onError = (error: Error): void => finish(new Error(`the event stream failed: ${error.message}`));
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    const ticker = setInterval(() => {
      const daemonExit = daemon.exit();
      if (daemonExit) return finish(new Error(`the daemon exited (code ${daemonExit.code}, signal ${daemonExit.signal}) while ${parties.progress.phase}\n${daemon.tail()}`));
      const fleetExit = fleet.child.exit();
      if (fleetExit) return finish(new Error(`the fleet exited (code ${fleetExit.code}, signal ${fleetExit.signal}) while ${parties.progress.phase}\n${fleet.child.tail()}`));
      if (performance.now() - follower.lastEventAt > STALL_MS) return finish(new Error(`stalled: no event for ${STALL_MS / 1000} s while ${parties.progress.phase}`));
      if (++ticks % (PROGRESS_EVERY_MS / 1000) !== 0) return;
      void snapshot(parties).then(() => {
        const p = parties.progress;
        say(
          `  ${p.elapsedSeconds.toFixed(0)} s: ${p.available} Available, ${p.provisioned} Provisioned, ${p.hostsInError} in Error, ${p.stepFailed} StepFailed; ` +
            `daemon ${p.daemonCpuSeconds ?? '?'} CPU s, peak RSS ${p.daemonPeakRssMB ?? '?'} MB; ${follower.events} events`,
        );
      });
    }, 1000);
    follower.on('events', check);
    follower.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

/** Rethrows a failed wait with where the hosts are and, while the fleet runs, what its machines did. */
async function explain(error: unknown, parties: Parties): Promise<never> {
  const base = error instanceof Error ? error.message : String(error);
  const states: Record<string, number> = {};
  for (const state of parties.tally.hostState.values()) states[state] = (states[state] ?? 0) + 1;
  let fleet = '';
  if (!parties.fleet.child.exit() && !parties.signal.aborted) {
    try {
      const state = await fleetState(parties.fleet, parties.signal, 1);
      fleet =
        `; fleet: ${state.kexecVerified} verified kexecs, other outcomes ${JSON.stringify(state.otherOutcomes)}, ${state.notBooted} not booted, ` +
        `${state.busy} boot flows running, ${state.poweredOn} powered on; first problems: ${state.problems.slice(0, 3).join(' | ')}`;
    } catch (cause) {
      fleet = `; fleet state unavailable: ${(cause as Error).message.split('\n')[0] ?? ''}`;
    }
  }
  throw new Error(`${base}; hosts by state ${JSON.stringify(states)}${fleet}`, { cause: error });
}

interface CpuMark {
  sample: CpuSample;
  fleetMs: number;
}

async function cpuMark(daemonPid: number, fleetPid: number): Promise<CpuMark> {
  return { sample: await sampleCpu(daemonPid), fleetMs: await processCpuMs(fleetPid) };
}

const emptyProgress = (): Progress => ({
  registered: 0,
  machinesCreated: 0,
  available: 0,
  provisioned: 0,
  hostsInError: 0,
  stepFailed: 0,
  elapsedSeconds: 0,
  daemonCpuSeconds: null,
  daemonPeakRssMB: null,
  phase: 'starting',
});

function percentileSeconds(times: readonly number[], from: number, p: number): number {
  if (times.length === 0) return 0;
  const index = Math.min(times.length - 1, Math.max(0, Math.ceil((p / 100) * times.length) - 1));
  return round(((times[index] ?? from) - from) / 1000, 1);
}

async function measure(plan: Plan, signal: AbortSignal, cleanup: Cleanup, result: RunResult): Promise<void> {
  const { hosts, limitSeconds } = plan;
  const progress = result.progress;
  const profileDir = process.env.BESKAR7_BENCH_CPU_PROF ? path.resolve(process.env.BESKAR7_BENCH_CPU_PROF) : null;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'beskar7-bench-lifecycle-'));
  cleanup.add('remove the data dir', () => rm(dataDir, { recursive: true, force: true }));

  progress.phase = 'starting the daemon';
  const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=lifecycle-daemon-${hosts}.cpuprofile`] : [];
  // BESKAR7_BENCH_DAEMON_LOG=<dir>: keep the daemon's log there, one file per run.
  const logDir = process.env.BESKAR7_BENCH_DAEMON_LOG ? path.resolve(process.env.BESKAR7_BENCH_DAEMON_LOG) : null;
  if (logDir) await mkdir(logDir, { recursive: true });
  const logFile = logDir ? path.join(logDir, `lifecycle-daemon-${hosts}.log`) : null;
  const daemon = await startDaemon({ mainJs: MAIN_JS, dataDir, settings: DAEMON_SETTINGS, nodeFlags, startTimeoutMs: START_TIMEOUT_MS, signal, logFile });
  cleanup.add('stop the daemon', () => (daemon.exit() ? undefined : daemon.stop(STOP_TIMEOUT_MS)));
  result.daemon = { pid: daemon.pid, command: daemon.args, logMB: 0, stop: null, cpuProfileDir: profileDir };
  say(`  daemon pid ${daemon.pid} at ${daemon.baseUrl}${profileDir ? `, CPU profile into ${profileDir}` : ''}`);

  progress.phase = 'starting the fleet';
  const spec: FleetSpec = { mockup: dmtfMockup(MOCKUP), count: hosts, daemonUrl: daemon.baseUrl, waitScale: WAIT_SCALE, maxSockets: SIM_MAX_SOCKETS };
  const fleetRun = await startFleet(spec, signal);
  const { child: fleet, ready } = fleetRun;
  cleanup.add(`stop the fleet (pid ${fleet.pid})`, () => (fleet.exit() ? undefined : fleet.stop(10_000)));
  result.fleet = { pid: fleet.pid, startupMs: round(ready.startupMs, 0), openFilesLimit: ready.openFilesLimit, stop: null };
  say(`  fleet pid ${fleet.pid}: ${hosts} BMCs up in ${Math.round(ready.startupMs)} ms (open files limit ${ready.openFilesLimit})`);

  const tally = new Tally();
  // From event 0 of this fresh daemon: the stream is open before the first registration.
  const follower = new EventFollower(daemon.baseUrl, daemon.token, 0, WANTED, (event) => tally.take(event), plan.follow);
  await follower.start();
  cleanup.add('close the event stream', () => follower.stop());

  const before = await cpuMark(daemon.pid, fleet.pid);
  const t0 = performance.now();
  const parties: Parties = { daemon, fleet: fleetRun, follower, tally, progress, signal, t0 };

  progress.phase = 'registering hosts';
  await inParallel(hosts, REST_CONCURRENCY, signal, async (i) => {
    const url = ready.urls[i];
    if (!url) throw new Error(`no BMC ${i}`);
    const res = await api(daemon, 'POST', '/api/v1/hosts', {
      name: hostName(i),
      redfishConnection: { address: url, username: ready.username, password: ready.password },
      bootMACAddresses: [simMac(i)],
    });
    if (res.status !== 201) throw new Error(`registering ${hostName(i)}: HTTP ${res.status}: ${res.text.slice(0, 500)}`);
    progress.registered++;
  });
  const tRegistered = performance.now();
  say(`  ${hosts} hosts registered in ${((tRegistered - t0) / 1000).toFixed(1)} s`);

  await waitFor(parties, `${hosts} hosts Available`, () => tally.available.size >= hosts).catch((error: unknown) => explain(error, parties));
  const tEnrolled = performance.now();
  say(`  all ${hosts} hosts Available after ${((tEnrolled - t0) / 1000).toFixed(1)} s`);

  progress.phase = 'creating machines';
  const image = { mode: 'kexec', kernel: ready.kernel, initrd: ready.initrd, cmdline: 'console=ttyS0' };
  await inParallel(hosts, REST_CONCURRENCY, signal, async (i) => {
    const res = await api(daemon, 'POST', '/api/v1/machines', { name: machineName(i), image });
    if (res.status !== 201) throw new Error(`creating ${machineName(i)}: HTTP ${res.status}: ${res.text.slice(0, 500)}`);
    progress.machinesCreated++;
  });
  const tCreated = performance.now();
  say(`  ${hosts} machines created in ${((tCreated - tEnrolled) / 1000).toFixed(1)} s`);

  await waitFor(parties, `${hosts} machines Provisioned`, () => tally.provisioned.size >= hosts).catch((error: unknown) => explain(error, parties));
  const tDone = performance.now();
  const after = await cpuMark(daemon.pid, fleet.pid);
  const memory = await readMemory(daemon.pid);
  const fleetMemory = await readMemory(fleet.pid);
  await snapshot(parties);
  progress.phase = 'checking';
  say(`  all ${hosts} machines Provisioned after ${((tDone - t0) / 1000).toFixed(1)} s`);

  const wallMs = after.sample.wallMs - before.sample.wallMs;
  const daemonMs = after.sample.daemonMs - before.sample.daemonMs;
  const benchMs = after.sample.benchMs - before.sample.benchMs;
  const fleetMs = after.fleetMs - before.fleetMs;
  const busyMs = after.sample.busyMs - before.sample.busyMs;
  const cores = os.cpus().length;
  result.timings = {
    registerSeconds: round((tRegistered - t0) / 1000),
    enrollSeconds: round((tEnrolled - t0) / 1000),
    createSeconds: round((tCreated - tEnrolled) / 1000),
    provisionSeconds: round((tDone - tEnrolled) / 1000),
    wallSeconds: round((tDone - t0) / 1000),
    provisionedAt: {
      p50: percentileSeconds(tally.provisionedAt, tEnrolled, 50),
      p90: percentileSeconds(tally.provisionedAt, tEnrolled, 90),
      p100: percentileSeconds(tally.provisionedAt, tEnrolled, 100),
    },
  };
  result.cpu = {
    daemonSeconds: round(daemonMs / 1000),
    daemonCores: round(daemonMs / wallMs),
    fleetSeconds: round(fleetMs / 1000),
    benchSeconds: round(benchMs / 1000),
    otherCores: round(Math.max(0, (busyMs - daemonMs - benchMs - fleetMs) / wallMs)),
    idleCores: round(Math.max(0, cores - busyMs / wallMs)),
    daemonTotalSeconds: round(after.sample.daemonMs / 1000),
  };
  result.memory = {
    daemonPeakRssMB: round(memory.peakRssMB, 1),
    daemonRssMB: round(memory.rssMB, 1),
    fleetPeakRssMB: round(fleetMemory.peakRssMB, 1),
    benchPeakRssMB: round(process.resourceUsage().maxRSS / 1024, 1),
  };

  // After the measured window: these reads must not count towards the numbers above.
  const machines = await listAll<{ name: string; status: { phase: string; host: { namespace: string; name: string } | null } }>(daemon, '/api/v1/machines');
  const onHosts = new Set(machines.filter((m) => m.status.phase === 'Provisioned' && m.status.host).map((m) => `${m.status.host?.namespace}/${m.status.host?.name}`));
  const errored = await listAll<{ name: string }>(daemon, '/api/v1/hosts?state=Error');
  const state = await fleetState(fleetRun, signal);
  result.checks = {
    provisionedMachines: tally.provisioned.size,
    provisionedDistinctHosts: new Set(tally.provisioned.values()).size,
    restProvisioned: machines.filter((m) => m.status.phase === 'Provisioned').length,
    restDistinctHosts: onHosts.size,
    hostsInError: errored.length,
    stepFailed: tally.stepFailed,
    stepFailedSamples: tally.stepFailedSamples,
    machineFailed: tally.machineFailed,
    released: tally.released,
    inspectionTimeouts: tally.inspectionTimeouts,
    fleet: state,
  };
  result.events = { total: follower.events, MB: mb(follower.bytes), reconnects: follower.reconnects, byType: Object.fromEntries([...follower.byType].sort(([a], [b]) => a.localeCompare(b))) };
  follower.stop();
  result.complete = true;
  progress.phase = 'done';

  result.fleet.stop = await fleet.stop(10_000);
  result.daemon.logMB = mb(daemon.logBytes());
  result.daemon.stop = await daemon.stop(STOP_TIMEOUT_MS);
  const c = result.cpu;
  say(
    `  wall ${result.timings.wallSeconds} s (enrollment ${result.timings.enrollSeconds} s, provisioning ${result.timings.provisionSeconds} s); ` +
      `CPU s: daemon ${c.daemonSeconds}, fleet ${c.fleetSeconds}, bench ${c.benchSeconds}, other ${c.otherCores} cores; daemon peak RSS ${result.memory.daemonPeakRssMB} MB; ` +
      `${result.checks.stepFailed} StepFailed, ${result.checks.hostsInError} in Error, ${state.kexecVerified} verified kexecs; ${limitSeconds} s limit`,
  );
}

async function runOne(plan: Plan): Promise<RunResult> {
  const { hosts, limitSeconds } = plan;
  const result: RunResult = {
    hosts,
    follow: plan.follow === 'sse' ? 'SSE GET /api/v1/events' : 'pages of GET /api/v1/events/log',
    complete: false,
    incomplete: null,
    limitSeconds,
    progress: emptyProgress(),
    timings: null,
    cpu: null,
    memory: null,
    checks: null,
    events: null,
    daemon: null,
    fleet: null,
  };
  say(`\nN=${hosts}: register, enroll, create ${hosts} machines, provision by kexec (time limit ${limitSeconds} s; events followed on ${result.follow})`);
  try {
    await bounded(`${NAME}, N=${hosts}`, limitSeconds, (signal, cleanup) => measure(plan, signal, cleanup, result));
  } catch (error) {
    result.complete = false;
    result.incomplete = error instanceof Error ? error.message : String(error);
    say(`  INCOMPLETE after ${result.progress.elapsedSeconds} s (${result.progress.phase}): ${result.incomplete.split('\n')[0] ?? ''}`);
  }
  return result;
}

/**
 * N hosts (1,000 and 10,000; 100 in short mode) through the whole lifecycle against a daemon of
 * its own: registered over REST, enrolled over Redfish from emulated BMCs, then N machines that
 * each claim a host, network-boot it, get its hardware report from a simulated ramdisk making the
 * real HTTP calls, and kexec the image. Wall time, the daemon's CPU and peak RSS.
 */
export async function runLifecycleBench(options: BenchOptions): Promise<BenchSummary<LifecycleResults>> {
  const mode = options.short ? 'short' : 'full';
  const outputFile = path.relative(ROOT, OUTPUT);
  try {
    const runs = plannedRuns(mode);
    say(`\n${NAME} benchmark, ${mode} mode: N = ${runs.map((r) => r.hosts).join(', ')}`);
    if (!existsSync(MAIN_JS)) throw new Error(`${path.relative(ROOT, MAIN_JS)} not found; run "npm run build" first`);
    if (!haveRedfishData()) throw new Error(`Redfish mockups not found at ${redfishDataDir()}: set BESKAR7_REDFISH_DATA to the shared redfish-data folder`);
    for (const run of runs) fleetFileLimit(run.hosts);
    const startedAt = new Date().toISOString();
    const busyBefore = await busyCoresNow(1000);
    say(`machine busy before start: ${busyBefore} cores`);
    const results: LifecycleResults = {
      mode,
      startedAt,
      machine: {
        ...machineInfo(
          `three processes share the ${os.cpus().length} cores: the daemon (measured alone), the fleet (${MOCKUP} BMC emulator, simulated firmware + ramdisk per host, artefact server) and this one (REST calls, following events)`,
        ),
        openFilesLimit: String(fileLimits()?.soft ?? 'unknown'),
      },
      busyBefore,
      setup: {
        daemonSettings: ['dhcp.enabled=false', 'tftp.enabled=false', ...DAEMON_SETTINGS],
        restConcurrency: REST_CONCURRENCY,
        simWaitScale: WAIT_SCALE,
        simMaxSockets: SIM_MAX_SOCKETS,
        image: 'kexec, 68 KiB kernel + 136 KiB initrd from the fleet artefact server',
        completion: 'counted from the events (host StateChanged -> Available, machine PhaseChanged -> Provisioned), followed per run as its `follow` says',
      },
      runs: [],
    };
    for (const run of runs) results.runs.push(await runOne(run));
    const failures = lifecycleFailures(results);
    const warnings = lifecycleWarnings(results);
    const tables = lifecycleTables(results);
    await writeJson(OUTPUT, { ok: failures.length === 0, goals: GOALS, tables, failures, warnings, results });
    return { name: NAME, ok: failures.length === 0, tables, failures, warnings, outputFile, results };
  } catch (error) {
    return failedRun(NAME, OUTPUT, error);
  }
}

if (isMain(import.meta.url)) process.exit(await runStandalone('node --import tsx test/bench/lifecycle.ts', runLifecycleBench));
