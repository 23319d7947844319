import type { StopOutcome } from '../helpers/child.js';
import type { CpuShare } from './cpu.js';
import { grid } from './grid.js';
import type { LoadSummary } from './load.js';
import type { Row, Verdict } from './report.js';
import { table } from './table.js';
import type { MachineInfo } from './machine.js';

/** The goal: at least half of what nginx serves of a static file of the same size. */
export const GOALS = { rendersRatio: 0.5 } as const;

const NOISE_CORES = 0.2;

export type Variant = 'local' | 'armed';

export interface Measured {
  target: 'beskar7' | 'nginx';
  variant: Variant;
  bytes: number;
  load: LoadSummary;
  /** "daemon" here is whichever server was under load. */
  cpu: CpuShare;
}

export interface IpxeResults {
  mode: 'full' | 'short';
  startedAt: string;
  goals: typeof GOALS;
  machine: MachineInfo;
  busyBefore: number;
  shape: { connections: number; durationSeconds: number; warmupSeconds: number; macsPerVariant: number };
  daemon: { pid: number; command: string[]; settings: Record<string, unknown>; stop?: StopOutcome };
  nginx: { version: string; command: string[]; config: string; stop?: StopOutcome };
  scripts: Record<Variant, { bytes: number; sample: string }>;
  runs: Measured[];
}

const fixed = (n: number, digits = 1): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const VARIANT_LABEL: Record<Variant, string> = {
  local: 'not armed: local-boot script, no writes',
  armed: 'armed: inspect script, token + event written',
};

const find = (results: IpxeResults, target: Measured['target'], variant: Variant) => results.runs.find((r) => r.target === target && r.variant === variant);

export function ipxeTables(results: IpxeResults): string[] {
  const { machine, shape } = results;
  const heading = `GET /ipxe/<mac> vs nginx static file (${results.mode} mode, ${shape.connections} connections, ${shape.durationSeconds} s per run; ${machine.cpus} cores: ${machine.cpuModel})`;
  const header = ['server', 'script', 'bytes', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx + errors', 'server cores', 'bench cores'];
  const body = results.runs.map((run) => [
    run.target,
    VARIANT_LABEL[run.variant],
    String(run.bytes),
    fixed(run.load.requestsPerSecond, 0),
    fixed(run.load.latencyMs.p50),
    fixed(run.load.latencyMs.p99),
    fixed(run.load.latencyMs.max),
    `${run.load.non2xx + run.load.errors} of ${run.load.responses + run.load.errors}`,
    fixed(run.cpu.daemon, 2),
    fixed(run.cpu.bench, 2),
  ]);
  const rows: Row[] = [];
  for (const variant of ['local', 'armed'] as const) {
    const ours = find(results, 'beskar7', variant);
    const peer = find(results, 'nginx', variant);
    if (!ours || !peer || peer.load.requestsPerSecond <= 0) continue;
    const value = ours.load.requestsPerSecond / peer.load.requestsPerSecond;
    const verdict: Verdict = value >= GOALS.rendersRatio ? 'meets' : 'misses';
    rows.push({ metric: `renders/s, ${variant === 'local' ? 'not armed' : 'armed'} host, beskar7 / nginx (${ours.bytes} bytes)`, value: `${fixed(value, 2)}x`, goal: `>= ${fixed(GOALS.rendersRatio, 2)}x`, verdict });
  }
  const notes = `(latency: autocannon's, in whole ms; cores: /proc/<pid>/stat over the run; ${machine.note})`;
  return [`${heading}\n${grid(header, body)}\n${notes}`, `GET /ipxe/<mac>: beskar7 vs nginx\n${table(rows)}`];
}

export function ipxeFailures(results: IpxeResults): string[] {
  const found: string[] = [];
  for (const run of results.runs) {
    const label = `${run.target} ${run.variant}`;
    if (run.load.non2xx > 0) found.push(`${label}: ${run.load.non2xx} non-2xx responses (${JSON.stringify(run.load.statusCodes)})`);
    if (run.load.errors > 0) found.push(`${label}: ${run.load.errors} request errors (${run.load.timeouts} timeouts)`);
    if (run.load.responses === 0) found.push(`${label}: no responses at all`);
  }
  return found;
}

export function ipxeWarnings(results: IpxeResults): string[] {
  const found: string[] = [];
  if (results.busyBefore > NOISE_CORES) found.push(`${results.busyBefore} cores were busy before the run: other work on this machine disturbs the numbers`);
  for (const [name, stop] of [['the daemon', results.daemon.stop], ['nginx', results.nginx.stop]] as const) {
    if (stop?.killed) found.push(`${name} ignored SIGTERM for ${stop.ms} ms and was killed with SIGKILL`);
    else if (stop && stop.code !== 0 && stop.code !== null) found.push(`${name} exited with code ${stop.code} after SIGTERM`);
  }
  return found;
}
