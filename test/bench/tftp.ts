// TFTP benchmark: time to download a 1 MiB file with the same client from our server and from
// Debian's tftpd-hpa, at blksize 512 and 1468 (curl and atftp) and with RFC 7440 windows (atftp;
// tftpd-hpa ignores windowsize, so windowed rows are also compared with tftpd-hpa's best).
// Client and server are pinned to CPUs: on a VM a wake-up across cores costs more than the whole
// per-block work, so unpinned runs measure the scheduler's placement, not the servers. "same core"
// isolates the servers' CPU cost per block; "separate cores" adds a cross-core wake-up per packet,
// the nearest loopback gets to a server woken by its NIC.
// Runs alone: node --import tsx test/bench/tftp.ts [--short]; or through runTftpBench().

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { busyCoresNow } from './cpu.js';
import { startFloor } from './tftp-floor.js';
import { IN_TFTPD, TASKSET, affinity, cpuList, pin, startOurs, startTftpdHpa, type BenchServer } from './tftp-servers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUTPUT = path.join(ROOT, 'test-output/bench-tftp.json');
const FILE_BYTES = 1024 * 1024;
const FILE_NAME = 'bench-1m.bin';
const CLIENT_TIMEOUT_MS = 30_000;
/** Our time over tftpd-hpa's, per case. */
export const TFTP_GOAL_RATIO = 1.0;

const MODES = {
  full: { repetitions: 20, timeLimitSeconds: 600 },
  short: { repetitions: 5, timeLimitSeconds: 180 },
} as const;

const BINARIES = { curl: '/usr/bin/curl', atftp: '/usr/bin/atftp' } as const;
type Client = keyof typeof BINARIES;

interface CaseSpec {
  name: string;
  client: Client;
  blockSize: number;
  windowSize: number;
  /** Plain RFC 1350 (curl --tftp-no-options): the case the node:dgram floor is measured on too. */
  noOptions?: boolean;
}

const CASES: readonly CaseSpec[] = [
  { name: 'curl no options (512)', client: 'curl', blockSize: 512, windowSize: 1, noOptions: true },
  { name: 'curl blksize 512', client: 'curl', blockSize: 512, windowSize: 1 },
  { name: 'curl blksize 1468', client: 'curl', blockSize: 1468, windowSize: 1 },
  { name: 'atftp blksize 512', client: 'atftp', blockSize: 512, windowSize: 1 },
  { name: 'atftp blksize 1468', client: 'atftp', blockSize: 1468, windowSize: 1 },
  { name: 'atftp blksize 1468 windowsize 8', client: 'atftp', blockSize: 1468, windowSize: 8 },
  { name: 'atftp blksize 1468 windowsize 64', client: 'atftp', blockSize: 1468, windowSize: 64 },
];

export interface TftpBenchStats {
  runs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

interface Placement {
  name: 'same core' | 'separate cores';
  server: string;
  client: string;
}

export interface TftpBenchCase extends CaseSpec {
  placement: Placement['name'];
  ours: TftpBenchStats;
  hpa: TftpBenchStats;
  /** ours.median / hpa.median with the same client and options. */
  ratio: number;
  /** Windowed cases: ours.median / the best tftpd-hpa median of any case with the same client and placement. */
  ratioVsHpaBest?: number;
  /** The no-options case: a bare node:dgram sender's time, and its ratio to tftpd-hpa (the runtime's floor). */
  floor?: TftpBenchStats & { ratio: number };
  meetsGoal: boolean;
}

export interface TftpBenchResult {
  ok: boolean;
  mode: 'full' | 'short';
  startedAt: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; busyCoresBefore: number };
  fileBytes: number;
  repetitions: number;
  servers: { ours: string; hpa: string; floor: string };
  /** What a run measures, for whoever reads the numbers later. */
  method: string;
  cases: TftpBenchCase[];
  /** Downloads that failed or came back different: correctness problems, unlike a missed goal. */
  failures: string[];
  warnings: string[];
  table: string;
}

export interface TftpBenchOptions {
  short: boolean;
  /** Progress lines; silent when omitted. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

function requireTools(): void {
  const missing = [
    [IN_TFTPD, 'tftpd-hpa'],
    [BINARIES.curl, 'curl'],
    [BINARIES.atftp, 'atftp'],
    [TASKSET, 'util-linux'],
  ].filter(([binary]) => {
    try {
      accessSync(binary ?? '', constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    const packages = missing.map(([, pkg]) => pkg).join(' ');
    throw new Error(`TFTP bench needs ${missing.map(([binary]) => binary).join(', ')}: apt-get update && apt-get install -y ${packages}`);
  }
  // in.tftpd -s chroots and drops to nobody: both need root.
  if (process.getuid?.() !== 0) throw new Error('TFTP bench must run as root: tftpd-hpa needs it to chroot (-s) and drop privileges');
}

function clientArgs(spec: CaseSpec, port: number, out: string): string[] {
  if (spec.client === 'curl') {
    const options = spec.noOptions ? ['--tftp-no-options'] : ['--tftp-blksize', String(spec.blockSize)];
    return ['-sS', ...options, '-o', out, `tftp://127.0.0.1:${port}/${FILE_NAME}`];
  }
  const options = [`blksize ${spec.blockSize}`, ...(spec.windowSize > 1 ? [`windowsize ${spec.windowSize}`] : [])];
  return [...options.flatMap((option) => ['--option', option]), '-g', '-r', FILE_NAME, '-l', out, '127.0.0.1', String(port)];
}

/** Wall time of one client process (taskset execs it in place), from spawn to exit: the same overhead on both sides. */
function timeDownload(spec: CaseSpec, port: number, out: string, cpus: string, signal?: AbortSignal): Promise<{ ms: number; error?: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const args = ['-c', cpus, BINARIES[spec.client], ...clientArgs(spec, port, out)];
    execFile(TASKSET, args, { timeout: CLIENT_TIMEOUT_MS, killSignal: 'SIGKILL', signal }, (error, _stdout, stderr) => {
      const ms = performance.now() - started;
      resolve(error ? { ms, error: `${error.message.split('\n')[0] ?? ''} ${String(stderr).trim()}`.trim() } : { ms });
    });
  });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const round = (ms: number) => Math.round(ms * 10) / 10;

/** Nearest-rank percentile. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function stats(samples: number[]): TftpBenchStats {
  const sorted = [...samples].sort((a, b) => a - b);
  return { runs: sorted.length, medianMs: round(percentile(sorted, 50)), p90Ms: round(percentile(sorted, 90)), minMs: round(sorted[0] ?? NaN), maxMs: round(sorted.at(-1) ?? NaN) };
}

function formatTable(cases: TftpBenchCase[]): string {
  const header = ['case (CPU placement)', 'beskar7 median', 'p90', 'tftpd-hpa median', 'p90', 'ratio', 'vs hpa best', `goal ≤${TFTP_GOAL_RATIO.toFixed(1)}×`];
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  const ratio = (n: number | undefined) => (n === undefined ? '' : `${n.toFixed(2)}×`);
  const rows = cases.map((c) => [`${c.name} (${c.placement})`, ms(c.ours.medianMs), ms(c.ours.p90Ms), ms(c.hpa.medianMs), ms(c.hpa.p90Ms), ratio(c.ratio), ratio(c.ratioVsHpaBest), c.meetsGoal ? 'meets' : 'misses']);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  const floors = cases
    .filter((c) => c.floor)
    .map((c) => `reference (${c.placement}), ${c.name}: a bare node:dgram sender takes ${ms(c.floor?.medianMs ?? NaN)} = ${ratio(c.floor?.ratio)} tftpd-hpa, the runtime's floor for lockstep`);
  return [line(header), '-'.repeat(line(header).length), ...rows.map(line), ...floors].join('\n');
}

export async function runTftpBench(options: TftpBenchOptions): Promise<TftpBenchResult> {
  const mode = options.short ? 'short' : 'full';
  const { repetitions } = MODES[mode];
  const log = options.log ?? (() => undefined);
  requireTools();
  const startedAt = new Date().toISOString();
  const busyCoresBefore = await busyCoresNow(1000);
  const base = await mkdtemp(path.join(os.tmpdir(), 'beskar7-bench-tftp-'));
  const root = path.join(base, 'root');
  const outDir = path.join(base, 'out');
  const servers: BenchServer[] = [];
  // Ours runs in this process, so pinning it pins the bench; put back exactly what it had.
  const ownCpus = await affinity(process.pid);
  const failures: string[] = [];
  const warnings: string[] = [];
  try {
    await mkdir(root);
    await mkdir(outDir);
    const file = randomBytes(FILE_BYTES);
    const expected = sha256(file);
    await writeFile(path.join(root, FILE_NAME), file);
    // tftpd-hpa reads as nobody after chroot: the root and the file must be world-readable.
    await chmod(base, 0o755);
    await chmod(root, 0o755);
    await chmod(path.join(root, FILE_NAME), 0o644);

    const ours = await startOurs(root);
    servers.push(ours);
    const hpa = await startTftpdHpa(root);
    servers.push(hpa);
    const floor = await startFloor(file);
    servers.push(floor);
    log(`beskar7: ${ours.describe}`);
    log(`tftpd-hpa: ${hpa.describe}`);
    log(`machine busy before start: ${busyCoresBefore} cores of ${os.cpus().length}`);

    const [first, second] = cpuList(ownCpus).map(String);
    if (first === undefined) throw new Error(`cannot read this process's CPUs from "${ownCpus}"`);
    const placements: Placement[] = [{ name: 'same core', server: first, client: first }];
    if (second !== undefined) placements.push({ name: 'separate cores', server: first, client: second });
    else warnings.push('one CPU: only the same-core placement was measured');

    const cases: TftpBenchCase[] = [];
    for (const placement of placements) {
      await pin(ours.pid, placement.server);
      await pin(hpa.pid, placement.server);
      log(`${placement.name}: servers on CPU ${placement.server}, clients on CPU ${placement.client}`);
      const measured: { spec: CaseSpec; ours: TftpBenchStats; hpa: TftpBenchStats; floor?: TftpBenchStats }[] = [];
      for (const spec of CASES) {
        const entry = { ours: [] as number[], hpa: [] as number[], floor: [] as number[] };
        log(`  ${spec.name}: 1 warm-up + ${repetitions} runs per server, alternating ...`);
        for (let run = 0; run <= repetitions; run++) {
          // Alternate which server goes first so drift on the machine hits both alike.
          const pair = [['ours', ours] as const, ['hpa', hpa] as const];
          const order = [...(run % 2 === 0 ? pair : pair.reverse()), ...(spec.noOptions ? [['floor', floor] as const] : [])];
          for (const [key, server] of order) {
            options.signal?.throwIfAborted();
            const out = path.join(outDir, `${key}.bin`);
            await rm(out, { force: true });
            const result = await timeDownload(spec, server.port, out, placement.client, options.signal);
            const where = `${spec.name} (${placement.name}) from ${server.name}`;
            if (result.error) {
              failures.push(`${where}: ${result.error}`);
              continue;
            }
            const got = await readFile(out).catch(() => Buffer.alloc(0));
            if (got.length !== FILE_BYTES || sha256(got) !== expected) {
              failures.push(`${where}: downloaded ${got.length} bytes that differ from the file`);
              continue;
            }
            if (run > 0) entry[key].push(result.ms);
          }
        }
        measured.push({ spec, ours: stats(entry.ours), hpa: stats(entry.hpa), floor: spec.noOptions ? stats(entry.floor) : undefined });
      }
      for (const { spec, ours: o, hpa: h, floor: f } of measured) {
        const ratio = Math.round((o.medianMs / h.medianMs) * 100) / 100;
        let ratioVsHpaBest: number | undefined;
        if (spec.windowSize > 1) {
          const best = Math.min(...measured.filter((m) => m.spec.client === spec.client).map((m) => m.hpa.medianMs));
          ratioVsHpaBest = Math.round((o.medianMs / best) * 100) / 100;
        }
        const floorRatio = f ? { ...f, ratio: Math.round((f.medianMs / h.medianMs) * 100) / 100 } : undefined;
        cases.push({ ...spec, placement: placement.name, ours: o, hpa: h, ratio, ratioVsHpaBest, floor: floorRatio, meetsGoal: (ratioVsHpaBest ?? ratio) <= TFTP_GOAL_RATIO });
      }
    }
    const busyAfter = await busyCoresNow(500);
    if (busyCoresBefore > 0.2 || busyAfter > 0.2) warnings.push(`other work on the machine (${busyCoresBefore} cores busy before, ${busyAfter} after): numbers are disturbed`);
    const table = formatTable(cases);
    return {
      ok: failures.length === 0,
      mode,
      startedAt,
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}`, busyCoresBefore },
      fileBytes: FILE_BYTES,
      repetitions,
      servers: { ours: ours.describe, hpa: hpa.describe, floor: floor.describe },
      method:
        'wall time of one client process (spawn to exit, byte-identical output checked), warm-up run discarded, servers alternated, client and servers pinned with taskset; median and nearest-rank p90',
      cases,
      failures,
      warnings,
      table,
    };
  } finally {
    // Give the bench process its CPUs back: a runner may go on to other work in it.
    await pin(process.pid, ownCpus).catch(() => undefined);
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  let short: boolean;
  try {
    short = parseArgs({ options: { short: { type: 'boolean', default: false } }, strict: true, allowPositionals: false }).values.short;
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\nusage: node --import tsx test/bench/tftp.ts [--short]\n`);
    return 1;
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const { timeLimitSeconds } = MODES[short ? 'short' : 'full'];
  const controller = new AbortController();
  const watchdog = setTimeout(() => controller.abort(new Error(`time limit of ${timeLimitSeconds} s reached`)), timeLimitSeconds * 1000);
  const onSignal = (signal: NodeJS.Signals) => controller.abort(new Error(`received ${signal}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  say(`beskar7 TFTP benchmark, ${short ? 'short' : 'full'} mode: 1 MiB file, ${MODES[short ? 'short' : 'full'].repetitions} runs per case and server, time limit ${timeLimitSeconds} s`);
  try {
    const result = await runTftpBench({ short, log: say, signal: controller.signal });
    say(`\nResults (${result.mode} mode, ${result.machine.cpus} cores: ${result.machine.cpuModel}; ${result.method})`);
    say(result.table);
    for (const warning of result.warnings) say(`warning: ${warning}`);
    await mkdir(path.dirname(OUTPUT), { recursive: true });
    await writeFile(OUTPUT, `${JSON.stringify(result, null, 2)}\n`);
    say(`\nwrote ${path.relative(ROOT, OUTPUT)}`);
    if (!result.ok) {
      process.stderr.write(`bench: downloads failed:\n${result.failures.map((f) => `  - ${f}`).join('\n')}\n`);
      return 1;
    }
    return 0;
  } catch (error) {
    const reason = controller.signal.aborted ? (controller.signal.reason as Error) : (error as Error);
    process.stderr.write(`bench: ${reason.stack ?? reason.message}\n`);
    return 1;
  } finally {
    clearTimeout(watchdog);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(await main());
