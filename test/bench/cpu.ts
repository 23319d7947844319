import { readFile } from 'node:fs/promises';
import os from 'node:os';

// Linux reports process times in clock ticks; USER_HZ is 100 on every mainstream build.
const MS_PER_TICK = 10;

export interface CpuSample {
  wallMs: number;
  /** Summed over all cores, from /proc/stat via os.cpus(). */
  busyMs: number;
  benchMs: number;
  daemonMs: number;
}

/** Cores (1.0 = one core fully busy) each party used between two samples. */
export interface CpuShare {
  seconds: number;
  daemon: number;
  bench: number;
  /** Everything else on the machine: when this is not near 0, the numbers are disturbed. */
  other: number;
  idle: number;
}

export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return (utime + stime) * MS_PER_TICK;
}

function machineBusyMs(): number {
  return os.cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0);
}

export async function sampleCpu(daemonPid: number): Promise<CpuSample> {
  const { user, system } = process.cpuUsage();
  return { wallMs: performance.now(), busyMs: machineBusyMs(), benchMs: (user + system) / 1000, daemonMs: await processCpuMs(daemonPid) };
}

export function cpuShare(from: CpuSample, to: CpuSample): CpuShare {
  const wallMs = to.wallMs - from.wallMs;
  const cores = (ms: number) => Math.round((ms / wallMs) * 100) / 100;
  const daemon = cores(to.daemonMs - from.daemonMs);
  const bench = cores(to.benchMs - from.benchMs);
  const busy = cores(to.busyMs - from.busyMs);
  const other = Math.max(0, Math.round((busy - daemon - bench) * 100) / 100);
  return { seconds: wallMs / 1000, daemon, bench, other, idle: Math.max(0, Math.round((os.cpus().length - busy) * 100) / 100) };
}

/** How busy the machine is without the benchmark: sampled over a quiet interval before the run starts. */
export async function busyCoresNow(intervalMs: number): Promise<number> {
  const start = { wallMs: performance.now(), busyMs: machineBusyMs() };
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
  return Math.round(((machineBusyMs() - start.busyMs) / (performance.now() - start.wallMs)) * 100) / 100;
}

/** Runs one phase and reports, next to its result, who used the CPU meanwhile. */
export async function withCpu<T>(daemonPid: number, work: () => Promise<T>): Promise<{ result: T; cpu: CpuShare }> {
  const before = await sampleCpu(daemonPid);
  const result = await work();
  return { result, cpu: cpuShare(before, await sampleCpu(daemonPid)) };
}
