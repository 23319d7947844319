import type { CpuShare } from './cpu.js';
import type { StopOutcome } from './daemon-process.js';
import type { LoadSummary } from './load.js';
import type { Memory } from './memory.js';
import type { SeedResult } from './seed.js';

/** The issue's goals, for 2 cores on loopback with 10,000 hosts stored. */
export const GOALS = { readsPerSecond: 5000, readP99Ms: 10, rssMB: 200 } as const;

/** Cores used by other processes above which the numbers are flagged as disturbed. */
const NOISE_CORES = 0.2;

export type Verdict = 'meets' | 'misses' | 'ok' | 'FAILED' | '';

export interface Row {
  metric: string;
  value: string;
  goal: string;
  verdict: Verdict;
}

export interface BenchResults {
  mode: 'full' | 'short';
  startedAt: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; note: string };
  daemon: { pid: number; command: string[]; settings: Record<string, unknown>; logMB: number; stop?: StopOutcome };
  seed: SeedResult;
  memoryAfterSeed: Memory;
  warmup: LoadSummary;
  get: LoadSummary;
  post: LoadSummary;
  memory: Memory;
  /** Busy cores before the daemon started, then the CPU split of each phase. */
  cpu: { busyBefore: number; seed: CpuShare; get: CpuShare; post: CpuShare };
}

const fixed = (n: number, digits = 1): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const atLeast = (value: number, goal: number): Verdict => (value >= goal ? 'meets' : 'misses');
const below = (value: number, goal: number): Verdict => (value < goal ? 'meets' : 'misses');

/** Requests that failed outright: a correctness problem, unlike a missed goal. */
export function failures(results: BenchResults): string[] {
  const found: string[] = [];
  for (const run of [results.warmup, results.get, results.post]) {
    if (run.non2xx > 0) found.push(`${run.title}: ${run.non2xx} non-2xx responses (${JSON.stringify(run.statusCodes)})`);
    if (run.errors > 0) found.push(`${run.title}: ${run.errors} request errors (${run.timeouts} timeouts)`);
    if (run.responses === 0) found.push(`${run.title}: no responses at all`);
  }
  return found;
}

/** Things worth a look that fail nothing: other load on the machine during a phase, a daemon that stopped badly. */
export function warnings(results: BenchResults): string[] {
  const found: string[] = [];
  const { cpu, daemon } = results;
  if (cpu.busyBefore > NOISE_CORES) found.push(`${cpu.busyBefore} cores were busy before the daemon started: other work on this machine disturbs the numbers`);
  for (const [phase, share] of [['seeding', cpu.seed], ['GET run', cpu.get], ['POST run', cpu.post]] as const) {
    if (share.other > NOISE_CORES) found.push(`other processes used ${share.other} cores during the ${phase}: its numbers are disturbed`);
  }
  const stop = daemon.stop;
  if (stop?.killed) found.push(`the daemon ignored SIGTERM for ${stop.ms} ms and was killed with SIGKILL`);
  else if (stop && stop.code !== 0) {
    const why = stop.code === 13 ? ' (13 is node\'s "unsettled top-level await": main.js was still awaiting when the event loop emptied)' : '';
    found.push(`the daemon exited with ${stop.signal ?? `code ${stop.code}`} after SIGTERM, not 0${why}`);
  }
  return found;
}

const cpuCell = (share: CpuShare): string => `${share.daemon.toFixed(2)} / ${share.bench.toFixed(2)} / ${share.other.toFixed(2)} cores`;

function loadRows(run: LoadSummary, label: string, cpu: CpuShare): Row[] {
  const bad = run.non2xx + run.errors;
  return [
    { metric: `${label} throughput`, value: `${fixed(run.requestsPerSecond, 0)} req/s`, goal: '', verdict: '' },
    { metric: `${label} latency p50`, value: `${fixed(run.latencyMs.p50)} ms`, goal: '', verdict: '' },
    { metric: `${label} latency p99`, value: `${fixed(run.latencyMs.p99)} ms`, goal: '', verdict: '' },
    { metric: `${label} non-2xx + errors`, value: `${bad} of ${run.responses + run.errors}`, goal: '0', verdict: bad === 0 ? 'ok' : 'FAILED' },
    { metric: `${label} CPU daemon / bench / other`, value: cpuCell(cpu), goal: '', verdict: '' },
  ];
}

export function rows(results: BenchResults): Row[] {
  const { seed, get, post, memory, cpu } = results;
  const getRows = loadRows(get, 'GET host', cpu.get);
  const [getRps, , getP99] = getRows;
  if (getRps && getP99) {
    getRps.goal = `>= ${fixed(GOALS.readsPerSecond, 0)} req/s`;
    getRps.verdict = atLeast(get.requestsPerSecond, GOALS.readsPerSecond);
    getP99.goal = `< ${GOALS.readP99Ms} ms`;
    getP99.verdict = below(get.latencyMs.p99, GOALS.readP99Ms);
  }
  return [
    { metric: `seeding (POST, ${seed.concurrency} in flight)`, value: `${fixed(seed.perSecond, 0)} hosts/s (${seed.hosts} in ${fixed(seed.seconds)} s)`, goal: '', verdict: '' },
    { metric: 'seeding CPU daemon / bench / other', value: cpuCell(cpu.seed), goal: '', verdict: '' },
    ...getRows,
    ...loadRows(post, 'POST host', cpu.post),
    { metric: 'daemon RSS after runs', value: `${fixed(memory.rssMB)} MB`, goal: `< ${GOALS.rssMB} MB`, verdict: below(memory.rssMB, GOALS.rssMB) },
    { metric: 'daemon peak RSS (VmHWM)', value: `${fixed(memory.peakRssMB)} MB`, goal: `< ${GOALS.rssMB} MB`, verdict: below(memory.peakRssMB, GOALS.rssMB) },
  ];
}
