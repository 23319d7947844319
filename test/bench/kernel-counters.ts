import { readFile } from 'node:fs/promises';
import { inNamespace, runChild } from '../helpers/child.js';

/** UDP counters of one network namespace, from /proc/net/snmp. */
export interface UdpCounters {
  inDatagrams: number;
  outDatagrams: number;
  /** Datagrams the kernel dropped because the receiving socket's buffer was full. */
  rcvbufErrors: number;
  sndbufErrors: number;
}

function parseUdp(snmp: string): UdpCounters {
  const [names, values] = snmp.split('\n').filter((line) => line.startsWith('Udp: '));
  if (!names || !values) throw new Error('/proc/net/snmp has no Udp lines');
  const keys = names.split(/\s+/).slice(1);
  const numbers = values.split(/\s+/).slice(1).map(Number);
  const get = (key: string) => numbers[keys.indexOf(key)] ?? Number.NaN;
  return { inDatagrams: get('InDatagrams'), outDatagrams: get('OutDatagrams'), rcvbufErrors: get('RcvbufErrors'), sndbufErrors: get('SndbufErrors') };
}

/** The counters of the namespace a process runs in: no process to spawn. */
export async function udpCountersOf(pid: number): Promise<UdpCounters> {
  return parseUdp(await readFile(`/proc/${pid}/net/snmp`, 'utf8'));
}

const ATTEMPTS = 3;

/** The counters of a namespace no process of ours runs in right now; retried, as a busy machine can make one exec fail. */
export async function udpCounters(ns: string, signal: AbortSignal): Promise<UdpCounters> {
  let why = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const done = await runChild('cat /proc/net/snmp', inNamespace(ns, ['cat', '/proc/net/snmp']), { keepStdout: true, timeoutMs: 10_000, signal });
    if (done.exit.code === 0 && !done.timedOut) return parseUdp(done.stdout);
    why = done.timedOut ? 'timed out' : `exit ${done.exit.code ?? done.exit.signal}: ${done.stderr.trim().slice(0, 500)}`;
  }
  throw new Error(`reading /proc/net/snmp in ${ns} failed ${ATTEMPTS} times (${why})`);
}

export const udpDelta = (from: UdpCounters, to: UdpCounters): UdpCounters => ({
  inDatagrams: to.inDatagrams - from.inDatagrams,
  outDatagrams: to.outDatagrams - from.outDatagrams,
  rcvbufErrors: to.rcvbufErrors - from.rcvbufErrors,
  sndbufErrors: to.sndbufErrors - from.sndbufErrors,
});

/**
 * Microseconds some runnable task waited for a CPU (PSI "some"), or null without PSI. On
 * this kind of VM /proc/stat's tick-sampled busy time misses short timer-driven bursts;
 * stall time shows the contention directly.
 */
export async function cpuStallMicros(): Promise<number | null> {
  try {
    const match = /^some .*total=(\d+)$/m.exec(await readFile('/proc/pressure/cpu', 'utf8'));
    return match?.[1] ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
