import { inNamespace, runChild } from '../helpers/child.js';
import { processCpuMs } from './cpu.js';
import { parsePerfdhcp, type PerfdhcpStats } from './perfdhcp-output.js';

export const PERFDHCP = '/usr/sbin/perfdhcp';

// What the QEMU iPXE ROM sends (lab notes): a BIOS PXE client (arch 0) with a machine GUID.
const VENDOR_CLASS = 'PXEClient:Arch:00000:UNDI:002001';
const CLIENT_ARCH_BIOS = '0000';
// Option 97: type 0, then a 16-byte GUID; one for every client, since servers only echo it.
const CLIENT_GUID = `00${'b7'.repeat(16)}`;
// Offers still in flight when sending stops are collected, not counted as drops.
const EXIT_WAIT_US = 500_000;

export interface PerfdhcpLoad {
  namespace: string;
  iface: string;
  server: string;
  /** One MAC per line: perfdhcp picks one at random for every exchange. */
  macFile: string;
  rate: number;
  seconds: number;
}

export interface PerfdhcpRun extends PerfdhcpStats {
  askedRate: number;
  seconds: number;
  /** Answered exchanges over the sending period. */
  offersPerSecond: number;
  /** The load generator's own CPU time, last sampled at most CPU_POLL_MS before it exited. */
  cpuSeconds: number;
  exitCode: number | null;
}

// perfdhcp idles through its exit wait (EXIT_WAIT_US) after sending stops, so a sample
// this close to the end misses almost nothing.
const CPU_POLL_MS = 100;

/** -i: DISCOVER/OFFER only; -x t: print every exchange's timestamps, for percentiles. */
export function perfdhcpCommand(load: PerfdhcpLoad): string[] {
  return [
    PERFDHCP, '-4', '-l', load.iface, '-r', String(load.rate), '-p', String(load.seconds), '-i', '-x', 't', '-W', String(EXIT_WAIT_US),
    '-M', load.macFile,
    '-o', `60,${Buffer.from(VENDOR_CLASS, 'ascii').toString('hex')}`, '-o', `93,${CLIENT_ARCH_BIOS}`, '-o', `97,${CLIENT_GUID}`,
    load.server,
  ];
}

export async function runPerfdhcp(load: PerfdhcpLoad, signal: AbortSignal): Promise<PerfdhcpRun> {
  let cpuMs = 0;
  let poll: NodeJS.Timeout | undefined;
  const watch = (pid: number) => {
    poll = setInterval(() => void processCpuMs(pid).then((ms) => (cpuMs = ms), () => undefined), CPU_POLL_MS);
  };
  const done = await runChild('perfdhcp', inNamespace(load.namespace, perfdhcpCommand(load)), {
    keepStdout: true,
    timeoutMs: (load.seconds + 20) * 1000,
    signal,
    onStart: (child) => watch(child.pid),
  }).finally(() => clearInterval(poll));
  const { code } = done.exit;
  // 3 means "one or more exchanges were unsuccessful": drops, which are a result here.
  if (done.timedOut || (code !== 0 && code !== 3)) {
    const why = done.timedOut ? 'timed out' : `exited with ${code ?? done.exit.signal}`;
    throw new Error(`perfdhcp at ${load.rate}/s ${why}: ${done.stderr.trim().slice(-1000)}\n${done.stdout.slice(0, 1000)}`);
  }
  const stats = parsePerfdhcp(done.stdout);
  return { askedRate: load.rate, seconds: load.seconds, ...stats, offersPerSecond: stats.received / load.seconds, cpuSeconds: cpuMs / 1000, exitCode: code };
}
