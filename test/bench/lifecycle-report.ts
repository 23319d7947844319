import type { StopOutcome } from '../helpers/child.js';
import type { FleetState } from './lifecycle-protocol.js';
import type { MachineInfo } from './machine.js';
import type { Row, Verdict } from './report.js';
import { table } from './table.js';

/** The goals, on this machine's 2 cores: 1,000 hosts registered → Provisioned. */
export const GOALS = { hosts: 1000, wallSeconds: 60, peakRssMB: 300 } as const;

/** Cores used by processes other than the three of the benchmark above which the numbers are flagged. */
const NOISE_CORES = 0.2;

export interface Progress {
  registered: number;
  machinesCreated: number;
  available: number;
  provisioned: number;
  hostsInError: number;
  stepFailed: number;
  /** Since the first registration (0 before it). */
  elapsedSeconds: number;
  /** Last reading from /proc during the run, kept for a run cut short. */
  daemonCpuSeconds: number | null;
  daemonPeakRssMB: number | null;
  phase: string;
}

export interface RunResult {
  hosts: number;
  /** How completion was followed. */
  follow: string;
  complete: boolean;
  /** Why the run did not finish (error, time limit, stall); null when it did. */
  incomplete: string | null;
  limitSeconds: number;
  progress: Progress;
  timings: {
    registerSeconds: number;
    /** First registration → every host Available. */
    enrollSeconds: number;
    createSeconds: number;
    /** First machine POST → every machine Provisioned. */
    provisionSeconds: number;
    /** First registration → every machine Provisioned. */
    wallSeconds: number;
    /** Since the first machine POST: when half, 90 % and all machines were Provisioned. */
    provisionedAt: { p50: number; p90: number; p100: number };
  } | null;
  cpu: {
    /** Over the measured window (first registration → all Provisioned). */
    daemonSeconds: number;
    daemonCores: number;
    fleetSeconds: number;
    benchSeconds: number;
    otherCores: number;
    idleCores: number;
    /** The daemon's CPU from its start to the end of the window (includes startup). */
    daemonTotalSeconds: number;
  } | null;
  memory: { daemonPeakRssMB: number; daemonRssMB: number; fleetPeakRssMB: number; benchPeakRssMB: number } | null;
  checks: {
    /** From the event stream. */
    provisionedMachines: number;
    provisionedDistinctHosts: number;
    /** From GET /api/v1/machines after the run. */
    restProvisioned: number;
    restDistinctHosts: number;
    /** GET /api/v1/hosts?state=Error after the run. */
    hostsInError: number;
    stepFailed: number;
    stepFailedSamples: string[];
    machineFailed: number;
    released: number;
    inspectionTimeouts: number;
    fleet: FleetState | null;
  } | null;
  events: { total: number; MB: number; reconnects: number; byType: Record<string, number> } | null;
  daemon: { pid: number; command: string[]; logMB: number; stop: StopOutcome | null; cpuProfileDir: string | null } | null;
  fleet: { pid: number; startupMs: number; openFilesLimit: string; stop: StopOutcome | null } | null;
}

export interface LifecycleResults {
  mode: 'full' | 'short';
  startedAt: string;
  machine: MachineInfo & { openFilesLimit: string };
  busyBefore: number;
  setup: Record<string, unknown>;
  runs: RunResult[];
}

const n = (value: number): string => value.toLocaleString('en-US');
const fixed = (value: number, digits = 1): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const below = (value: number, goal: number): Verdict => (value < goal ? 'meets' : 'misses');

function runRows(run: RunResult): Row[] {
  const at = `N=${n(run.hosts)}`;
  const goalRun = run.hosts === GOALS.hosts;
  const p = run.progress;
  if (!run.complete || !run.timings || !run.cpu || !run.memory) {
    const rows: Row[] = [
      {
        metric: `${at}: INCOMPLETE (${p.phase})`,
        value: `${fixed(p.elapsedSeconds)} s`,
        goal: '',
        verdict: 'FAILED',
      },
      { metric: `${at}: progress reached`, value: `${n(p.registered)} registered, ${n(p.available)} Available, ${n(p.machinesCreated)} machines, ${n(p.provisioned)} Provisioned`, goal: '', verdict: '' },
      { metric: `${at}: hosts in Error / StepFailed events then`, value: `${n(p.hostsInError)} / ${n(p.stepFailed)}`, goal: '', verdict: '' },
    ];
    if (p.daemonCpuSeconds !== null && p.daemonPeakRssMB !== null) {
      rows.push({ metric: `${at}: daemon CPU / peak RSS by then`, value: `${fixed(p.daemonCpuSeconds)} s / ${fixed(p.daemonPeakRssMB)} MB`, goal: '', verdict: '' });
    }
    rows.push({ metric: `${at}: why`, value: (run.incomplete ?? 'unknown').split('\n')[0]?.slice(0, 160) ?? '', goal: '', verdict: '' });
    return rows;
  }
  const t = run.timings;
  const c = run.cpu;
  const m = run.memory;
  const k = run.checks;
  const rows: Row[] = [
    { metric: `${at}: wall, first registration -> all Provisioned`, value: `${fixed(t.wallSeconds)} s`, goal: goalRun ? `< ${GOALS.wallSeconds} s` : '(report)', verdict: goalRun ? below(t.wallSeconds, GOALS.wallSeconds) : '' },
    { metric: `${at}:   registration (POST /hosts)`, value: `${fixed(t.registerSeconds)} s (${n(Math.round(run.hosts / t.registerSeconds))}/s)`, goal: '', verdict: '' },
    { metric: `${at}:   enrollment, -> all Available`, value: `${fixed(t.enrollSeconds)} s (${n(Math.round(run.hosts / t.enrollSeconds))}/s)`, goal: '', verdict: '' },
    { metric: `${at}:   machines created (POST /machines)`, value: `${fixed(t.createSeconds)} s`, goal: '', verdict: '' },
    { metric: `${at}:   provisioning, -> all Provisioned`, value: `${fixed(t.provisionSeconds)} s (${n(Math.round(run.hosts / t.provisionSeconds))}/s)`, goal: '', verdict: '' },
    { metric: `${at}:   50/90/100 % Provisioned after`, value: `${fixed(t.provisionedAt.p50)}/${fixed(t.provisionedAt.p90)}/${fixed(t.provisionedAt.p100)} s`, goal: '', verdict: '' },
    { metric: `${at}: daemon CPU (user+sys)`, value: `${fixed(c.daemonSeconds)} s (${fixed(c.daemonCores, 2)} cores)`, goal: '', verdict: '' },
    { metric: `${at}: daemon peak RSS (VmHWM)`, value: `${fixed(m.daemonPeakRssMB)} MB`, goal: goalRun ? `< ${GOALS.peakRssMB} MB` : '(report)', verdict: goalRun ? below(m.daemonPeakRssMB, GOALS.peakRssMB) : '' },
    { metric: `${at}: fleet process CPU (BMCs, sims, artefacts)`, value: `${fixed(c.fleetSeconds)} s`, goal: '', verdict: '' },
    { metric: `${at}: bench process CPU (REST, event follow)`, value: `${fixed(c.benchSeconds)} s`, goal: '', verdict: '' },
    { metric: `${at}: other / idle cores`, value: `${fixed(c.otherCores, 2)} / ${fixed(c.idleCores, 2)}`, goal: '', verdict: c.otherCores > NOISE_CORES ? 'misses' : '' },
  ];
  if (k) {
    const distinctOk = k.restProvisioned === run.hosts && k.restDistinctHosts === run.hosts && k.provisionedDistinctHosts === run.hosts;
    rows.push(
      { metric: `${at}: machines Provisioned, distinct hosts`, value: `${n(k.restProvisioned)}, ${n(k.restDistinctHosts)}`, goal: `${n(run.hosts)}, ${n(run.hosts)}`, verdict: distinctOk ? 'ok' : 'FAILED' },
      { metric: `${at}: hosts in Error at the end`, value: n(k.hostsInError), goal: '0', verdict: k.hostsInError === 0 ? 'ok' : 'FAILED' },
      { metric: `${at}: StepFailed / machine Failed events`, value: `${n(k.stepFailed)} / ${n(k.machineFailed)}`, goal: '- / 0', verdict: k.machineFailed === 0 ? 'ok' : 'FAILED' },
    );
    if (k.fleet) {
      rows.push({ metric: `${at}: verified kexec boots (sim side)`, value: n(k.fleet.kexecVerified), goal: n(run.hosts), verdict: k.fleet.kexecVerified === run.hosts ? 'ok' : 'FAILED' });
    }
  }
  if (run.events) {
    const how = run.follow.startsWith('SSE') ? `SSE, ${run.events.reconnects} reconnects` : 'event log pages';
    rows.push({ metric: `${at}: events followed (${how})`, value: `${n(run.events.total)} (${fixed(run.events.MB)} MB)`, goal: '', verdict: '' });
  }
  return rows;
}

export function lifecycleRows(results: LifecycleResults): Row[] {
  return results.runs.flatMap(runRows);
}

export function lifecycleTables(results: LifecycleResults): string[] {
  const heading =
    `lifecycle: N hosts registered -> N machines Provisioned (${results.mode} mode, ${results.machine.cpus} cores: ${results.machine.cpuModel})\n` +
    `${results.machine.note}`;
  const footnote = '(the 60 s / 300 MB goals apply at N=1,000; a missed goal does not fail the run, an incomplete run or a failed check does)';
  return [`${heading}\n${table(lifecycleRows(results))}\n${footnote}`];
}

export function lifecycleFailures(results: LifecycleResults): string[] {
  const out: string[] = [];
  for (const run of results.runs) {
    const at = `N=${n(run.hosts)}`;
    if (!run.complete) {
      out.push(`${at}: incomplete: ${run.incomplete ?? 'unknown'}`);
      continue;
    }
    const k = run.checks;
    if (!k) continue;
    if (k.restProvisioned !== run.hosts) out.push(`${at}: ${k.restProvisioned} machines Provisioned per GET /api/v1/machines, expected ${run.hosts}`);
    if (k.restDistinctHosts !== run.hosts || k.provisionedDistinctHosts !== run.hosts) {
      out.push(`${at}: machines sit on ${k.restDistinctHosts} distinct hosts (REST), ${k.provisionedDistinctHosts} (events), expected ${run.hosts}`);
    }
    if (k.hostsInError > 0) out.push(`${at}: ${k.hostsInError} hosts in Error at the end`);
    if (k.machineFailed > 0) out.push(`${at}: ${k.machineFailed} machine Failed events`);
    if (k.fleet && k.fleet.kexecVerified !== run.hosts) out.push(`${at}: ${k.fleet.kexecVerified} verified kexec boots on the sim side, expected ${run.hosts}: ${k.fleet.problems.slice(0, 3).join(' | ')}`);
  }
  return out;
}

export function lifecycleWarnings(results: LifecycleResults): string[] {
  const out: string[] = [];
  if (results.busyBefore > NOISE_CORES) out.push(`the machine was busy before the start (${results.busyBefore} cores): numbers may be disturbed`);
  for (const run of results.runs) {
    const at = `N=${n(run.hosts)}`;
    if (run.cpu && run.cpu.otherCores > NOISE_CORES) out.push(`${at}: other processes used ${run.cpu.otherCores} cores during the run: numbers may be disturbed`);
    const k = run.checks;
    if (k && k.stepFailed > 0) out.push(`${at}: ${k.stepFailed} StepFailed events (retried): ${k.stepFailedSamples.slice(0, 3).join(' | ')}`);
    if (k && k.released > 0) out.push(`${at}: ${k.released} machine Released events (a host let go mid-run)`);
    if (k && k.inspectionTimeouts > 0) out.push(`${at}: ${k.inspectionTimeouts} InspectionTimeout events`);
    if (k?.fleet && k.fleet.bootedMoreThanOnce > 0) out.push(`${at}: ${k.fleet.bootedMoreThanOnce} machines booted more than once`);
    if (run.events && run.events.reconnects > 0) out.push(`${at}: the event stream was cut ${run.events.reconnects} time(s) and resumed with Last-Event-ID`);
    if (run.daemon?.stop?.killed) out.push(`${at}: the daemon did not stop within the timeout and was killed`);
  }
  return out;
}
