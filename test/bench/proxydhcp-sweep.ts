import type { Segment } from '../helpers/netns.js';
import type { Child } from '../helpers/child.js';
import { cpuShare, sampleCpu } from './cpu.js';
import { cpuStallMicros, udpCounters, udpCountersOf, udpDelta, type UdpCounters } from './kernel-counters.js';
import { runPerfdhcp, type PerfdhcpLoad, type PerfdhcpRun } from './perfdhcp.js';
import type { ServerName, Step } from './proxydhcp-report.js';
import { say } from './summary.js';

export const WARMUP = { rate: 1000, seconds: 1 };
const READY_TIMEOUT_MS = 15_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function checkAlive(server: Child, phase: string): void {
  const exit = server.exit();
  if (exit) throw new Error(`${server.name} exited during ${phase} (code ${exit.code}, signal ${exit.signal})\n${server.tail()}`);
}

/** Unscored load until the server answers: readiness and warm-up in one, the same for both servers. */
export async function warmUp(server: Child, load: (rate: number, seconds: number) => PerfdhcpLoad, signal: AbortSignal): Promise<PerfdhcpRun> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (true) {
    checkAlive(server, 'warm-up');
    const run = await runPerfdhcp(load(WARMUP.rate, WARMUP.seconds), signal);
    if (run.received > 0) return run;
    if (Date.now() > deadline) throw new Error(`${server.name} answered no DISCOVER within ${READY_TIMEOUT_MS} ms\n${server.tail()}`);
    await pause(200);
  }
}

export interface StepTarget {
  serverName: ServerName;
  server: Child;
  segment: Segment;
  load: (rate: number, seconds: number) => PerfdhcpLoad;
  signal: AbortSignal;
}

/** One scored perfdhcp run against a running server, with the server's CPU and the kernel's UDP drops around it. */
export async function measureStep({ serverName, server, segment, load, signal }: StepTarget, rate: number, seconds: number): Promise<Step> {
  // Diagnostics only: when they cannot be read the step still counts, without them.
  const udp = (): Promise<[UdpCounters, UdpCounters] | null> =>
    Promise.all([udpCountersOf(server.pid), udpCounters(segment.client, signal)]).catch((error: unknown) => {
      signal.throwIfAborted();
      say(`  (UDP counters not read: ${(error as Error).message})`);
      return null;
    });
  checkAlive(server, `the ${rate}/s run`);
  const [udpBefore, stallBefore, before] = [await udp(), await cpuStallMicros(), await sampleCpu(server.pid)];
  const run = await runPerfdhcp(load(rate, seconds), signal);
  const [after, stallAfter, udpAfter] = [await sampleCpu(server.pid), await cpuStallMicros(), await udp()];
  checkAlive(server, `the ${rate}/s run`);
  const cpu = cpuShare(before, after);
  const step: Step = {
    server: serverName,
    run,
    cpu,
    serverCpuSeconds: (after.daemonMs - before.daemonMs) / 1000,
    cpuStallPercent: stallBefore === null || stallAfter === null ? null : ((stallAfter - stallBefore) / 1e6 / cpu.seconds) * 100,
    udp: udpBefore && udpAfter ? { server: udpDelta(udpBefore[0], udpAfter[0]), client: udpDelta(udpBefore[1], udpAfter[1]) } : null,
  };
  const p99 = run.percentilesMs ? `${run.percentilesMs.p99} ms` : 'n/a';
  say(
    `  ${serverName} at ${rate}/s: ${Math.round(run.offersPerSecond)} offers/s, drops ${run.dropPercent.toFixed(3)} %, avg ${run.delayMs?.avg ?? 'n/a'} ms, p99 ${p99}, ` +
      `max ${run.delayMs?.max ?? 'n/a'} ms; server CPU ${step.serverCpuSeconds.toFixed(2)} s; rcvbuf drops ${step.udp ? `${step.udp.server.rcvbufErrors} server / ${step.udp.client.rcvbufErrors} client` : 'n/a'}`,
  );
  return step;
}
