import type { BmcFaultsPatch } from '../bmc/types.js';
import type { StopOutcome } from '../helpers/child.js';
import type { FleetState } from './bmc-fleet-protocol.js';
import { grid } from './grid.js';
import type { Row, Verdict } from './report.js';
import { table } from './table.js';
import type { MachineInfo } from './machine.js';

/** The goal: 1,000 BMCs powered on with a one-time PXE boot in under 30 s, on 2 cores. */
export const GOALS = { bmcs: 1000, wallSeconds: 30 } as const;

const NOISE_CORES = 0.2;

export interface Scenario {
  name: string;
  count: number;
  https: boolean;
  /** BmcGate limit: BMCs in conversation at once. */
  limit: number;
  faults: BmcFaultsPatch;
  powerOnDelayMs: [number, number];
}

export interface Measured {
  scenario: Scenario;
  emulator: { pid: number; startupMs: number; rssMB: number; peakRssMB: number; stop?: StopOutcome };
  wallSeconds: number;
  /** This process: the Redfish client, the gate and the drivers, nothing else runs meanwhile. */
  clientCpuSeconds: { user: number; system: number; total: number };
  clientRssMB: number;
  emulatorCpuSeconds: number;
  /** Cores used by other processes during the run: near 0, or the numbers are disturbed. */
  otherCores: number;
  /** Seconds from the start until each BMC's bootFromNetwork settled (queueing in the gate included). */
  settledSeconds: { p50: number; p90: number; p99: number; max: number };
  failures: { count: number; first: string[] };
  /** PxeResult.enabled as the client read it back. */
  enabled: Record<string, number>;
  /** Client retries, by "METHOD status-or-kind". */
  retries: Record<string, number>;
  state: FleetState;
}

export interface FleetResults {
  mode: 'full' | 'short';
  startedAt: string;
  goals: typeof GOALS;
  machine: MachineInfo & { openFilesLimit: number | null };
  busyBefore: number;
  client: Record<string, unknown>;
  runs: Measured[];
}

/** One run, told apart from every other: scenario, transport, fleet size and gate limit. */
export const labelOf = (run: Measured): string => `${run.scenario.name} ${run.scenario.https ? 'HTTPS' : 'HTTP'}, ${run.scenario.count} BMCs @${run.scenario.limit}`;

const fixed = (n: number, digits = 1): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const sum = (record: Record<string, number>): number => Object.values(record).reduce((a, b) => a + b, 0);

export function describeFaults(scenario: Scenario): string {
  const { faults } = scenario;
  const [min, max] = scenario.powerOnDelayMs;
  const parts = [min === max ? `power-on ${min} ms` : `power-on ${min}-${max} ms`];
  const latency = faults.latencyMs;
  if (latency !== undefined && latency !== 0) parts.push(`latency ${typeof latency === 'number' ? latency : latency.join('-')} ms`);
  if (faults.serverErrorProbability) {
    const methods = faults.serverErrorMethods ? ` on ${faults.serverErrorMethods.join('/')}` : '';
    const retry = faults.retryAfterSeconds === null || faults.retryAfterSeconds === undefined ? '' : ` + Retry-After ${faults.retryAfterSeconds} s`;
    parts.push(`${fixed(faults.serverErrorProbability * 100, 0)}% ${faults.serverErrorStatus ?? 503}${retry}${methods}`);
  }
  return parts.join(', ');
}

export function fleetTables(results: FleetResults): string[] {
  const { machine } = results;
  const heading = `Power-on + one-time PXE through RedfishDriver.bootFromNetwork('UEFI'), one BmcGate, emulator in its own process (${results.mode} mode; ${machine.cpus} cores: ${machine.cpuModel})`;
  const header = ['scenario', 'BMCs', 'gate', 'wall s', 'client CPU s', 'emulator CPU s', 'requests', 'req/s', 'retries', 'injected 5xx', 'settled p50/p99 s', 'failed'];
  const body = results.runs.map((run) => [
    `${run.scenario.name} (${run.scenario.https ? 'HTTPS' : 'HTTP'})`,
    run.scenario.count.toLocaleString('en-US'),
    String(run.scenario.limit),
    fixed(run.wallSeconds),
    fixed(run.clientCpuSeconds.total, 2),
    fixed(run.emulatorCpuSeconds, 2),
    run.state.requests.toLocaleString('en-US'),
    fixed(run.state.requests / run.wallSeconds, 0),
    String(sum(run.retries)),
    String(run.state.injectedErrors),
    `${fixed(run.settledSeconds.p50)} / ${fixed(run.settledSeconds.p99)}`,
    String(run.failures.count),
  ]);
  const settings = [...new Map(results.runs.map((run) => [run.scenario.name, describeFaults(run.scenario)])).entries()].map(([name, text]) => `  ${name}: ${text}`);
  const notes = [
    'settings:',
    ...settings,
    `client: ${JSON.stringify(results.client)}`,
    `(client CPU: process.cpuUsage() of this process, user+sys; emulator CPU: /proc/<pid>/stat, 10 ms ticks; ${machine.note})`,
  ].join('\n');

  const rows: Row[] = results.runs.map((run) => {
    const judged = run.scenario.count === GOALS.bmcs;
    const verdict: Verdict = !judged ? '' : run.wallSeconds < GOALS.wallSeconds ? 'meets' : 'misses';
    return {
      metric: `wall, ${run.scenario.count.toLocaleString('en-US')} BMCs, ${run.scenario.name} (${run.scenario.https ? 'HTTPS' : 'HTTP'}), gate ${run.scenario.limit}`,
      value: `${fixed(run.wallSeconds)} s`,
      goal: judged ? `< ${GOALS.wallSeconds} s` : `(goal is for ${GOALS.bmcs.toLocaleString('en-US')})`,
      verdict,
    };
  });
  const checks: Row[] = results.runs.map((run) => {
    const s = run.state;
    const ok = fleetProblems(run).length === 0;
    return {
      metric: `emulator side, ${labelOf(run)}: On / Pxe+Once boot / sessions open / max per BMC`,
      value: `${s.poweredOn} / ${s.bootedPxeOnce} / ${s.liveSessions} (${s.sessionsCreated} made, ${s.sessionsDeleted} deleted) / ${s.maxInFlightPerBmc}`,
      goal: `${s.bmcs} / ${s.bmcs} / 0 / 1`,
      verdict: ok ? 'ok' : 'FAILED',
    };
  });
  return [`${heading}\n${grid(header, body)}\n${notes}`, `BMC fleet: goal and checks\n${table([...rows, ...checks])}`];
}

/** Everything that is wrong with one run: any failed BMC, or any BMC not left as it should be. */
export function fleetProblems(run: Measured): string[] {
  const label = labelOf(run);
  const s = run.state;
  const found: string[] = [];
  if (run.failures.count > 0) found.push(`${label}: ${run.failures.count} bootFromNetwork failed, e.g. ${run.failures.first.join(' | ')}`);
  const notOnce = run.scenario.count - run.failures.count - (run.enabled.Once ?? 0);
  if (notOnce > 0) found.push(`${label}: ${notOnce} BMCs read back something other than Once (${JSON.stringify(run.enabled)})`);
  if (s.bmcs !== run.scenario.count) found.push(`${label}: the emulator reports ${s.bmcs} BMCs`);
  if (s.poweredOn !== s.bmcs) found.push(`${label}: ${s.bmcs - s.poweredOn} BMCs not On`);
  if (s.bootedPxeOnce !== s.bmcs) found.push(`${label}: ${s.bmcs - s.bootedPxeOnce} BMCs without exactly one Pxe/Once/UEFI boot`);
  if (s.overrideLeft > 0) found.push(`${label}: ${s.overrideLeft} BMCs with an override still active`);
  if (s.liveSessions > 0 || s.sessionsCreated !== s.sessionsDeleted) found.push(`${label}: ${s.liveSessions} sessions left open (${s.sessionsCreated} created, ${s.sessionsDeleted} deleted)`);
  if (s.maxInFlightPerBmc > 1) found.push(`${label}: a BMC answered ${s.maxInFlightPerBmc} requests at once; the gate allows one operation per BMC`);
  if (s.problems.length > 0) found.push(`${label}: first BMCs with problems: ${s.problems.join(' | ')}`);
  return found;
}

export function fleetFailures(results: FleetResults): string[] {
  return results.runs.flatMap(fleetProblems);
}

export function fleetWarnings(results: FleetResults): string[] {
  const found: string[] = [];
  if (results.busyBefore > NOISE_CORES) found.push(`${results.busyBefore} cores were busy before the runs: other work on this machine disturbs the numbers`);
  for (const run of results.runs) {
    const label = labelOf(run);
    if (run.otherCores > NOISE_CORES) found.push(`other processes used ${run.otherCores} cores during ${label}: its numbers are disturbed`);
    const stop = run.emulator.stop;
    if (stop?.killed) found.push(`the emulator of ${label} ignored SIGTERM for ${stop.ms} ms and was killed`);
    else if (stop && stop.code !== 0 && stop.code !== null) found.push(`the emulator of ${label} exited with code ${stop.code} after SIGTERM`);
  }
  return found;
}
