import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootedSchema, inspectionReportSchema, nextActionSchema, progressSchema, type InspectionReport, type NextAction, type ProgressReport } from '../../daemon/core/schemas/ramdisk.js';

// inspector/agent/flow.sh under busybox sh, with only busybox applets on PATH (as in the ramdisk),
// against a fake daemon that implements docs/ramdisk-contract.md on 127.0.0.1. Side effects go to
// fakes (B7_KEXEC, B7_POWEROFF, B7_REBOOT, B7_WIPEFS, B7_BLKDISCARD, B7_SLEEP) and disks are regular
// files under B7_ROOT/dev. Synchronisation is the flow's own exit; the test never sleeps.

const FLOW_SH = resolve(import.meta.dirname, '../../inspector/agent/flow.sh');
const NS = 'lab';
const NAME = 'node-1';
const BOOT_MAC = '52:54:00:aa:bb:01';
const GIB = 2 ** 30;
const MIB = 2 ** 20;

function which(command: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
}
const BUSYBOX = which('busybox');
const CURL = which('curl');
const ZSTD = which('zstd');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let scratch = '';
let runs = 0;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'b7-flow-'));
});
afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------
// The fake daemon.

type Answer = NextAction | { status: number };
interface DaemonEvent {
  kind: 'report' | 'next' | 'progress' | 'logs' | 'booted' | 'file' | 'kexec-e' | 'unauthorized' | 'invalid';
  at: number;
  path: string;
  body?: unknown;
  detail?: string;
}

class FakeDaemon {
  readonly token = randomBytes(16).toString('hex');
  readonly events: DaemonEvent[] = [];
  readonly files = new Map<string, Buffer>();
  /** Files sent in four parts this many ms apart (a slow image server). */
  readonly slow = new Map<string, number>();
  answers: Answer[] = [];
  reportStatuses: number[] = [];
  logs = '';
  url = '';
  private readonly server: Server = createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => {
      this.record('invalid', req.url ?? '', undefined, String(error));
      res.writeHead(500).end();
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  serve(name: string, data: Buffer): { url: string; sha256: string } {
    this.files.set(name, data);
    return { url: `${this.url}/files/${name}`, sha256: sha256(data) };
  }

  of(kind: DaemonEvent['kind']): DaemonEvent[] {
    return this.events.filter((event) => event.kind === kind);
  }

  progress(): ProgressReport[] {
    return this.of('progress').map((event) => event.body as ProgressReport);
  }

  private record(kind: DaemonEvent['kind'], path: string, body?: unknown, detail?: string): void {
    this.events.push({ kind, at: performance.now(), path, ...(body === undefined ? {} : { body }), ...(detail === undefined ? {} : { detail }) });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? '';
    const method = req.method ?? 'GET';

    const file = /^\/files\/(.+)$/.exec(path);
    if (file !== null && (method === 'GET' || method === 'HEAD')) {
      const data = this.files.get(decodeURIComponent(file[1] ?? ''));
      if (data === undefined) return void res.writeHead(404).end();
      if (method === 'GET') this.record('file', path);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
      const pause = this.slow.get(decodeURIComponent(file[1] ?? ''));
      if (pause === undefined || method === 'HEAD') return void res.end(data);
      const part = Math.ceil(data.length / 4);
      for (let i = 0; i < 4; i++) {
        res.write(data.subarray(i * part, (i + 1) * part));
        await new Promise((done) => setTimeout(done, pause));
      }
      return void res.end();
    }
    if (path === '/test/kexec-e' && method === 'POST') {
      this.record('kexec-e', path);
      return void res.writeHead(204).end();
    }

    const api = new RegExp(`^/api/v1/(?:inspection/${NS}/${NAME}|ramdisk/${NS}/${NAME}/(next|progress|logs|booted))$`).exec(path);
    if (api === null) {
      this.record('invalid', path, undefined, `unknown ${method} ${path}`);
      return void res.writeHead(404).end();
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.record('unauthorized', path, undefined, req.headers.authorization ?? '(none)');
      return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
    }
    const endpoint = api[1] ?? 'inspection';
    const json = (): unknown => {
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new Error(`${path}: content-type ${req.headers['content-type']}`);
      return JSON.parse(body.toString('utf8'));
    };
    const invalid = (detail: string) => {
      this.record('invalid', path, body.toString('utf8'), detail);
      res.writeHead(400).end();
    };

    if (endpoint === 'inspection' && method === 'POST') {
      const parsed = inspectionReportSchema.safeParse(json());
      if (!parsed.success) return invalid(parsed.error.message);
      this.record('report', path, parsed.data);
      const status = this.reportStatuses.shift() ?? 202;
      return void res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    }
    if (endpoint === 'next' && method === 'GET') {
      this.record('next', path);
      const answer = this.answers.shift() ?? { status: 401 };
      if ('status' in answer) return void res.writeHead(answer.status, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      nextActionSchema.parse(answer); // the test's answers follow the contract too
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    }
    if (endpoint === 'progress' && method === 'POST') {
      const parsed = progressSchema.safeParse(json());
      if (!parsed.success) return invalid(parsed.error.message);
      this.record('progress', path, parsed.data);
      return void res.writeHead(204).end();
    }
    if (endpoint === 'logs' && method === 'POST') {
      if (!(req.headers['content-type'] ?? '').startsWith('text/plain')) return invalid(`logs content-type ${req.headers['content-type']}`);
      if (body.length > 256 * 1024) return invalid('log chunk over 256 KiB');
      this.logs += body.toString('utf8');
      this.record('logs', path, body.length);
      return void res.writeHead(204).end();
    }
    if (endpoint === 'booted' && method === 'POST') {
      const parsed = bootedSchema.safeParse(json());
      if (!parsed.success) return invalid(parsed.error.message);
      this.record('booted', path, parsed.data);
      return void res.writeHead(204).end();
    }
    invalid(`unexpected ${method}`);
  }
}

// ------------------------------------------------------------------------------------------
// The machine: a fake /proc + /sys under B7_ROOT, disks as files under B7_ROOT/dev, fakes.

interface DiskSpec {
  name: string;
  sectors: number;
  rotational?: 0 | 1;
  model?: string;
  serial?: string;
  /** Create B7_ROOT/dev/<name> with this content (else the "disk" file does not exist). */
  content?: Buffer;
}

const standardDisks: DiskSpec[] = [
  { name: 'nvme0n1', sectors: (1024 * GIB) / 512, model: 'Fake NVMe 1TB', serial: 'NV-1' },
  { name: 'sda', sectors: (500 * GIB) / 512, rotational: 1, model: 'ST500DM002', serial: 'HDD-1', content: Buffer.alloc(0) },
  { name: 'sdb', sectors: (100 * GIB) / 512, rotational: 0, model: 'Samsung SSD 870', serial: 'SSD-1', content: Buffer.alloc(MIB, 0xee) },
  { name: 'sdc', sectors: 2048, rotational: 0, model: 'Tiny Flash', serial: 'TINY' }, // 1 MiB
];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  root: string;
  work: string;
  kexec: string[][];
  power: string[];
  wipefs: string[][];
  blkdiscard: string[][];
  sleeps: string[];
}

interface RunOptions {
  answers: Answer[];
  disks?: DiskSpec[];
  http?: 'wget' | 'curl';
  reportStatuses?: number[];
  fakeSleep?: boolean;
  token?: string;
  env?: Record<string, string>;
}

function fake(path: string, body: string): string {
  writeFileSync(path, `#!${BUSYBOX ?? '/bin/busybox'} sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function readCalls(path: string): string[][] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n--\n')
    .filter((call) => call.trim() !== '')
    .map((call) => call.replace(/\n$/, '').split('\n'));
}

let pathDirs: Record<'wget' | 'curl', string> | null = null;
function pathFor(http: 'wget' | 'curl'): string {
  if (pathDirs === null) {
    const make = (name: string, extra: string[]) => {
      const dir = join(scratch, name);
      mkdirSync(dir);
      const applets = spawnSync(BUSYBOX ?? 'busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      for (const applet of applets) symlinkSync(BUSYBOX ?? 'busybox', join(dir, applet));
      for (const tool of extra) symlinkSync(tool, join(dir, tool.split('/').pop() ?? tool));
      return dir;
    };
    const zstd = ZSTD === null ? [] : [ZSTD];
    pathDirs = { wget: make('bin-wget', zstd), curl: make('bin-curl', CURL === null ? zstd : [...zstd, CURL]) };
  }
  return pathDirs[http];
}

async function runFlow(daemon: FakeDaemon, options: RunOptions): Promise<Run> {
  const dir = join(scratch, `run-${++runs}`);
  const root = join(dir, 'root');
  const work = join(dir, 'work');
  const rec = join(dir, 'rec');
  for (const d of [root, work, rec, join(root, 'dev')]) mkdirSync(d, { recursive: true });
  const put = (path: string, content: string | Buffer) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  put(
    'proc/cmdline',
    `initrd=initramfs.gz console=ttyS0 beskar7.api=${daemon.url}/ beskar7.host=${NS}/${NAME} beskar7.token=${options.token ?? daemon.token} beskar7.mode=provision BOOTIF=01-${BOOT_MAC.replaceAll(':', '-')}\n`,
  );
  put('proc/cpuinfo', 'processor\t: 0\nmodel name\t: Test CPU\ncpu MHz\t\t: 1000.000\nphysical id\t: 0\ncore id\t\t: 0\ncpu cores\t: 1\n\nprocessor\t: 1\nmodel name\t: Test CPU\nphysical id\t: 0\ncore id\t\t: 0\ncpu cores\t: 1\n');
  put('proc/meminfo', 'MemTotal:        4194304 kB\n');
  for (const disk of options.disks ?? standardDisks) {
    const base = `sys/class/block/${disk.name}`;
    put(`${base}/size`, `${disk.sectors}\n`);
    put(`${base}/queue/rotational`, `${disk.rotational ?? 0}\n`);
    if (disk.model !== undefined) put(`${base}/device/model`, `${disk.model}\n`);
    if (disk.serial !== undefined) put(`${base}/device/serial`, `${disk.serial}\n`);
    if (disk.content !== undefined) put(`dev/${disk.name}`, disk.content);
  }
  put('sys/class/net/eth0/address', `${BOOT_MAC}\n`);
  put('sys/class/net/eth0/operstate', 'up\n');
  put('sys/class/net/eth0/speed', '1000\n');
  mkdirSync(join(root, 'sys/class/net/eth0/device'), { recursive: true });
  symlinkSync('../../../bus/virtio/drivers/virtio_net', join(root, 'sys/class/net/eth0/device/driver'));

  const record = (name: string) => `{ printf '%s\\n' "$@"; echo --; } >> '${join(rec, name)}'`;
  const env: Record<string, string> = {
    PATH: pathFor(options.http ?? 'wget'),
    B7_ROOT: root,
    B7_WORK: work,
    B7_LOG: join(work, 'log'),
    B7_HTTP: options.http ?? 'wget',
    B7_KEXEC: fake(join(dir, 'kexec'), `${record('kexec')}\n[ "$1" = -e ] && { wget -q -O /dev/null --post-data e '${daemon.url}/test/kexec-e'; kill -9 $PPID; }\nexit 0`),
    B7_POWEROFF: fake(join(dir, 'poweroff'), `echo "poweroff $*" >> '${join(rec, 'power')}'`),
    B7_REBOOT: fake(join(dir, 'reboot'), `echo "reboot $*" >> '${join(rec, 'power')}'`),
    B7_WIPEFS: fake(join(dir, 'wipefs'), record('wipefs')),
    B7_BLKDISCARD: fake(join(dir, 'blkdiscard'), `${record('blkdiscard')}\necho "blkdiscard: BLKDISCARD ioctl failed: Operation not supported" >&2\nexit 1`),
  };
  Object.assign(env, options.env ?? {});
  if (options.fakeSleep === true) env.B7_SLEEP = fake(join(dir, 'sleep'), `echo "$1" >> '${join(rec, 'sleep')}'`);
  daemon.answers = [...options.answers];
  daemon.reportStatuses = [...(options.reportStatuses ?? [])];

  const child = spawn(BUSYBOX ?? 'busybox', ['sh', FLOW_SH], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.once('close', (c, s) => done([c, s])));
  clearTimeout(timer);
  const lines = (name: string) => (existsSync(join(rec, name)) ? readFileSync(join(rec, name), 'utf8').split('\n').filter(Boolean) : []);
  return {
    code,
    signal,
    stderr,
    root,
    work,
    kexec: readCalls(join(rec, 'kexec')),
    power: lines('power'),
    wipefs: readCalls(join(rec, 'wipefs')),
    blkdiscard: readCalls(join(rec, 'blkdiscard')),
    sleeps: lines('sleep'),
  };
}

/** What every run must satisfy: a valid report from the boot NIC first, nothing unauthorized or invalid. */
function expectCleanRun(daemon: FakeDaemon, run: Run): InspectionReport {
  expect(daemon.of('invalid'), run.stderr).toEqual([]);
  expect(daemon.of('unauthorized'), run.stderr).toEqual([]);
  expect(daemon.events[0]?.kind, run.stderr).toBe('report');
  const report = daemon.events[0]?.body as InspectionReport;
  expect(report.bootMACAddress).toBe(BOOT_MAC);
  expect(report.nics).toEqual([{ interface: 'eth0', macAddress: BOOT_MAC, linkStatus: 'up', speedMbps: 1000, driver: 'virtio_net' }]);
  expect(daemon.logs).toContain(`host ${NS}/${NAME}, mode provision`);
  return report;
}

const phases = (daemon: FakeDaemon) => daemon.progress().map((p) => p.phase + (p.reason === undefined ? '' : `:${p.reason}`));
const OS_CMDLINE = `console=ttyS0,115200 beskar7.api=http://10.0.0.1:8082 beskar7.host=${NS}/${NAME} beskar7.token=os-token ds=nocloud;s=http://10.0.0.1:8082/api/v1/nocloud/${NS}/${NAME}/os-token/`;

// ------------------------------------------------------------------------------------------

const skipReason = BUSYBOX === null ? ' (SKIPPED: busybox is not on PATH; .ci/install-test-deps.sh installs busybox-static)' : '';

describe.skipIf(BUSYBOX === null)(`inspector flow.sh under busybox sh${skipReason}`, () => {
  let daemon: FakeDaemon;
  beforeAll(async () => {
    daemon = new FakeDaemon();
    await daemon.start();
  });
  afterAll(async () => {
    await daemon.stop();
  });
  const fresh = () => {
    daemon.events.length = 0;
    daemon.files.clear();
    daemon.slow.clear();
    daemon.logs = '';
  };

  const httpClients: ('wget' | 'curl')[] = CURL === null ? ['wget'] : ['wget', 'curl'];
  it.each(httpClients)('kexec with kernel and initrd URLs (HTTP via %s): verified, loaded, booted posted before kexec -e', async (http) => {
    fresh();
    const kernelData = randomBytes(300_000);
    const initrdData = randomBytes(700_000);
    const kernel = daemon.serve('vmlinuz', kernelData);
    const initrd = daemon.serve('initrd.img', initrdData);
    const run = await runFlow(daemon, { http, answers: [{ action: 'kexec', kernel, initrd, cmdline: OS_CMDLINE }] });
    expectCleanRun(daemon, run);
    expect(run.signal, run.stderr).toBe('SIGKILL'); // the fake kexec -e "replaced the kernel"
    expect(run.kexec).toEqual([['-l', '-i', join(run.work, 'kernel'), `--initrd=${join(run.work, 'initrd')}`, `--command-line=${OS_CMDLINE}`], ['-e']]);
    expect(readFileSync(join(run.work, 'kernel')).equals(kernelData)).toBe(true);
    expect(readFileSync(join(run.work, 'initrd')).equals(initrdData)).toBe(true);
    expect(phases(daemon)).toEqual(['downloading', 'verifying', 'downloading', 'verifying', 'kexec']);
    const kinds = daemon.events.map((e) => e.kind).filter((k) => k !== 'logs' && k !== 'progress');
    expect(kinds).toEqual(['report', 'next', 'file', 'file', 'booted', 'kexec-e']);
    expect(daemon.of('booted')[0]?.body).toMatchObject({ source: 'ramdisk' });
    // The log went out before the jump, ending with it.
    const lastLog = daemon.events.findLastIndex((e) => e.kind === 'logs');
    expect(lastLog).toBeLessThan(daemon.events.findIndex((e) => e.kind === 'kexec-e'));
    expect(daemon.logs).toContain('kexec into the new kernel');
  });

  it('kexec from a tarball: finds kernel, initrd and the cmdline file, whose text goes first', async () => {
    fresh();
    const dir = join(scratch, 'tarball-src');
    mkdirSync(join(dir, 'boot'), { recursive: true });
    writeFileSync(join(dir, 'boot', 'vmlinuz-6.1.0-test'), randomBytes(50_000));
    writeFileSync(join(dir, 'boot', 'initrd.img-6.1.0-test'), randomBytes(80_000));
    writeFileSync(join(dir, 'cmdline'), 'root=/dev/ram0 rw\n');
    writeFileSync(join(dir, 'README'), 'not a kernel\n');
    const tarPath = join(scratch, 'boot.tar.gz');
    const tar = spawnSync(BUSYBOX ?? 'busybox', ['tar', '-czf', tarPath, '-C', dir, 'boot', 'cmdline', 'README'], { encoding: 'utf8' });
    expect(tar.status, tar.stderr).toBe(0);
    const tarball = daemon.serve('boot.tar.gz', readFileSync(tarPath));
    const run = await runFlow(daemon, { answers: [{ action: 'wait', retryAfterSeconds: 1, reason: 'provisioning starts' }, { action: 'kexec', tarball, cmdline: OS_CMDLINE }], fakeSleep: true });
    expectCleanRun(daemon, run);
    expect(run.signal, run.stderr).toBe('SIGKILL');
    const unpacked = join(run.work, 'tarball');
    expect(run.kexec).toEqual([
      ['-l', '-i', join(unpacked, 'boot', 'vmlinuz-6.1.0-test'), `--initrd=${join(unpacked, 'boot', 'initrd.img-6.1.0-test')}`, `--command-line=root=/dev/ram0 rw ${OS_CMDLINE}`],
      ['-e'],
    ]);
    expect(run.sleeps).toEqual(['1']);
    const kinds = daemon.events.map((e) => e.kind).filter((k) => k !== 'logs' && k !== 'progress');
    expect(kinds).toEqual(['report', 'next', 'next', 'file', 'booted', 'kexec-e']);
  });

  it('a slow download keeps the boot alive: progress "still running" while it lasts', async () => {
    fresh();
    const kernel = daemon.serve('slow-vmlinuz', randomBytes(40_000));
    daemon.slow.set('slow-vmlinuz', 800);
    const run = await runFlow(daemon, { answers: [{ action: 'kexec', kernel, cmdline: 'quiet' }], env: { B7_KEEPALIVE_SECONDS: '1' } });
    expectCleanRun(daemon, run);
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(run.kexec[0]).toEqual(['-l', '-i', join(run.work, 'kernel'), '--command-line=quiet']);
    const keepalive = daemon.progress().filter((p) => p.phase === 'info');
    expect(keepalive.length).toBeGreaterThanOrEqual(1);
    expect(keepalive[0]?.message).toBe('downloading kernel (still running)');
    // All of them while downloading: none after verification started.
    const phasesSeen = phases(daemon);
    expect(phasesSeen.lastIndexOf('info')).toBeLessThan(phasesSeen.indexOf('verifying'));
  });

  it('checksum mismatch: reports failed/ChecksumMismatch and never calls kexec', async () => {
    fresh();
    const kernel = daemon.serve('vmlinuz', randomBytes(10_000));
    const initrd = daemon.serve('initrd.img', randomBytes(10_000));
    const wrong = { ...initrd, sha256: sha256(Buffer.from('something else')) };
    const run = await runFlow(daemon, { answers: [{ action: 'kexec', kernel, initrd: wrong, cmdline: OS_CMDLINE }] });
    expectCleanRun(daemon, run);
    expect(run.code, run.stderr).toBe(1);
    expect(run.kexec).toEqual([]);
    expect(daemon.of('booted')).toEqual([]);
    expect(phases(daemon)).toEqual(['downloading', 'verifying', 'downloading', 'verifying', 'failed:ChecksumMismatch']);
    const failed = daemon.progress().at(-1);
    expect(failed?.message).toContain(`expected ${wrong.sha256}`);
    expect(existsSync(join(run.work, 'initrd'))).toBe(false); // not kept for anyone to use
    expect(daemon.logs).toContain('ChecksumMismatch');
  });

  it('a download that fails is DownloadFailed, not a kexec', async () => {
    fresh();
    const run = await runFlow(daemon, { answers: [{ action: 'kexec', kernel: { url: `${daemon.url}/files/missing`, sha256: sha256(Buffer.alloc(1)) }, cmdline: '' }] });
    expectCleanRun(daemon, run);
    expect(run.code).toBe(1);
    expect(run.kexec).toEqual([]);
    expect(phases(daemon)).toEqual(['downloading', 'failed:DownloadFailed']);
    expect(daemon.progress().at(-1)?.message).toContain('HTTP 404');
  });

  it('disk, raw image: the hint picks the disk, the image lands on it verified, then reboot', async () => {
    fresh();
    const imageData = randomBytes(3 * MIB + 12_345);
    const image = daemon.serve('disk.raw', imageData);
    const run = await runFlow(daemon, { answers: [{ action: 'disk', image: { ...image, format: 'raw' }, rootDeviceHints: { deviceName: '/dev/sdb' } }] });
    expectCleanRun(daemon, run);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(run.root, 'dev/sdb')).equals(imageData)).toBe(true);
    expect(readFileSync(join(run.root, 'dev/sda')).length).toBe(0); // untouched
    expect(run.power).toEqual(['reboot ']);
    expect(run.wipefs).toEqual([]);
    expect(phases(daemon)).toEqual(['writing', 'info']);
    expect(daemon.progress().at(-1)?.message).toContain(`verified (sha256 ${image.sha256})`);
  });

  it('disk, gzip image by serialNumber hint: the compressed stream is hashed, the raw bytes written', async () => {
    fresh();
    const raw = Buffer.concat([randomBytes(MIB), Buffer.alloc(2 * MIB, 0), randomBytes(5000)]);
    const gz = gzipSync(raw, { level: 6 });
    const image = daemon.serve('disk.img.gz', gz);
    const run = await runFlow(daemon, { answers: [{ action: 'disk', image: { ...image, format: 'gzip' }, rootDeviceHints: { serialNumber: 'HDD-1', rotational: true } }] });
    expectCleanRun(daemon, run);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(run.root, 'dev/sda')).equals(raw)).toBe(true);
    expect(readFileSync(join(run.work, 'image.sha256'), 'utf8').split(' ')[0]).toBe(sha256(gz));
    expect(run.power).toEqual(['reboot ']);
  });

  it.skipIf(ZSTD === null)(`disk, zstd image${ZSTD === null ? ' (SKIPPED: no zstd on PATH)' : ''}`, async () => {
    fresh();
    const raw = Buffer.concat([randomBytes(100_000), Buffer.alloc(MIB, 7)]);
    const src = join(scratch, 'zstd-src.img');
    writeFileSync(src, raw);
    const zst = spawnSync(ZSTD ?? 'zstd', ['-q', '-f', '-3', src, '-o', `${src}.zst`]);
    expect(zst.status).toBe(0);
    const image = daemon.serve('disk.img.zst', readFileSync(`${src}.zst`));
    const run = await runFlow(daemon, { answers: [{ action: 'disk', image: { ...image, format: 'zstd' }, rootDeviceHints: { model: 'samsung' } }] });
    expectCleanRun(daemon, run);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(run.root, 'dev/sdb')).equals(raw)).toBe(true);
  });

  it('disk without hints: the smallest disk the raw image fits on (a 1 MiB disk is too small)', async () => {
    fresh();
    const imageData = randomBytes(2 * MIB);
    const image = daemon.serve('disk2.raw', imageData);
    const run = await runFlow(daemon, { answers: [{ action: 'disk', image: { ...image, format: 'raw' }, rootDeviceHints: {} }] });
    expectCleanRun(daemon, run);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(run.root, 'dev/sdc'))).toBe(false);
    expect(readFileSync(join(run.root, 'dev/sdb')).equals(imageData)).toBe(true);
  });

  it('disk checksum mismatch: failed/ChecksumMismatch, the dirty disk is said so and its signatures erased, no reboot', async () => {
    fresh();
    const gz = gzipSync(randomBytes(MIB));
    const image = daemon.serve('bad.img.gz', gz);
    const expected = sha256(Buffer.from('the image the daemon meant'));
    const run = await runFlow(daemon, { answers: [{ action: 'disk', image: { url: image.url, sha256: expected.toUpperCase(), format: 'gzip' }, rootDeviceHints: { deviceName: 'sdb' } }] });
    expectCleanRun(daemon, run);
    expect(run.code, run.stderr).toBe(1);
    expect(run.power).toEqual([]);
    expect(phases(daemon)).toEqual(['writing', 'failed:ChecksumMismatch']);
    const message = daemon.progress().at(-1)?.message ?? '';
    expect(message).toContain(`sha256 is ${sha256(gz)}, expected ${expected}`);
    expect(message).toContain('/dev/sdb is dirty');
    expect(run.wipefs).toEqual([['-a', join(run.root, 'dev/sdb')]]);
  });

  it('disk with hints nothing matches: NoTargetDisk, nothing written', async () => {
    fresh();
    const image = daemon.serve('x.raw', randomBytes(1000));
    const run = await runFlow(daemon, { answers: [{ action: 'disk', image: { ...image, format: 'raw' }, rootDeviceHints: { serialNumber: 'NOPE', minSizeGB: 10 } }] });
    expectCleanRun(daemon, run);
    expect(run.code).toBe(1);
    expect(phases(daemon)).toEqual(['failed:NoTargetDisk']);
    expect(daemon.progress()[0]?.message).toContain('serialNumber=NOPE');
    expect(readFileSync(join(run.root, 'dev/sda')).length).toBe(0);
    expect(readFileSync(join(run.root, 'dev/sdb')).equals(Buffer.alloc(MIB, 0xee))).toBe(true);
  });

  it('wipe, metadata, all disks: wipefs -a on each reported disk, wiped reported with the list, power off', async () => {
    fresh();
    const run = await runFlow(daemon, { answers: [{ action: 'wipe', disks: [], method: 'metadata' }] });
    expectCleanRun(daemon, run);
    expect(run.code, run.stderr).toBe(0);
    const all = ['/dev/nvme0n1', '/dev/sda', '/dev/sdb', '/dev/sdc'];
    expect(run.wipefs).toEqual(all.map((d) => ['-a', join(run.root, d)]));
    expect(phases(daemon)).toEqual(['wiping', 'wiped']);
    expect(daemon.progress().at(-1)?.disks).toEqual(all);
    expect(run.power).toEqual(['poweroff ']);
    expect(daemon.logs).toContain('powering off: wipe done');
  });

  it('wipe, zero and discard on file disks: every byte zeroed; discard unsupported falls back to the first and last 16 MiB', async () => {
    fresh();
    const disks: DiskSpec[] = [
      { name: 'sdy', sectors: (40 * MIB) / 512, content: Buffer.alloc(40 * MIB, 0xff) },
      { name: 'sdz', sectors: (3 * MIB + 4096) / 512, content: Buffer.alloc(3 * MIB + 4096, 0xff) },
    ];
    const zero = await runFlow(daemon, { disks, answers: [{ action: 'wipe', disks: ['/dev/sdz'], method: 'zero' }] });
    expectCleanRun(daemon, zero);
    expect(zero.code, zero.stderr).toBe(0);
    expect(readFileSync(join(zero.root, 'dev/sdz')).equals(Buffer.alloc(3 * MIB + 4096))).toBe(true);
    expect(readFileSync(join(zero.root, 'dev/sdy')).equals(Buffer.alloc(40 * MIB, 0xff))).toBe(true);
    expect(daemon.progress().at(-1)).toEqual({ phase: 'wiped', message: 'wiped with method zero', disks: ['/dev/sdz'] });

    fresh();
    const discard = await runFlow(daemon, { disks, answers: [{ action: 'wipe', disks: ['sdy'], method: 'discard' }] });
    expectCleanRun(daemon, discard);
    expect(discard.code, discard.stderr).toBe(0);
    expect(discard.blkdiscard).toEqual([
      ['-f', join(discard.root, 'dev/sdy')],
      [join(discard.root, 'dev/sdy')],
    ]);
    const wiped = readFileSync(join(discard.root, 'dev/sdy'));
    expect(wiped.length).toBe(40 * MIB);
    expect(wiped.subarray(0, 16 * MIB).equals(Buffer.alloc(16 * MIB))).toBe(true);
    expect(wiped.subarray(16 * MIB, 24 * MIB).equals(Buffer.alloc(8 * MIB, 0xff))).toBe(true);
    expect(wiped.subarray(24 * MIB).equals(Buffer.alloc(16 * MIB))).toBe(true);
    expect(daemon.progress().at(-1)?.disks).toEqual(['/dev/sdy']);
  });

  it('wipe of a disk the report does not have: WipeFailed, nothing touched', async () => {
    fresh();
    const run = await runFlow(daemon, { answers: [{ action: 'wipe', disks: ['/dev/sda1'], method: 'metadata' }] });
    expectCleanRun(daemon, run);
    expect(run.code).toBe(1);
    expect(run.wipefs).toEqual([]);
    expect(phases(daemon)).toEqual(['failed:WipeFailed']);
  });

  it('401 on next: the daemon ended the boot, power off', async () => {
    fresh();
    const run = await runFlow(daemon, { answers: [{ status: 401 }] });
    expectCleanRun(daemon, run);
    expect(run.code, run.stderr).toBe(0);
    expect(run.power).toEqual(['poweroff ']);
    expect(daemon.progress()).toEqual([]);
    expect(run.kexec).toEqual([]);
  });

  it('a wrong token: every call is refused, and the ramdisk powers off instead of retrying forever', async () => {
    fresh();
    const run = await runFlow(daemon, { answers: [], token: 'not-the-token' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.power).toEqual(['poweroff ']);
    expect(daemon.of('report')).toEqual([]);
    expect(daemon.of('unauthorized').length).toBeGreaterThanOrEqual(1);
  });

  it('a report the daemon rejects (400) fails the run instead of being sent again and again', async () => {
    fresh();
    const run = await runFlow(daemon, { reportStatuses: [400], answers: [{ action: 'poweroff', reason: 'unused' }], fakeSleep: true });
    expect(daemon.of('invalid')).toEqual([]);
    expect(run.code, run.stderr).toBe(1);
    expect(daemon.of('report')).toHaveLength(1);
    expect(daemon.of('next')).toEqual([]);
    expect(run.sleeps).toEqual([]);
    expect(daemon.logs).toContain('the daemon rejected the report (HTTP 400)');
  });

  it('wait honours retryAfterSeconds (1 s, really slept) and then the poweroff answer', async () => {
    fresh();
    const run = await runFlow(daemon, {
      answers: [
        { action: 'wait', retryAfterSeconds: 1, reason: 'no machine claimed this host yet' },
        { action: 'wait', retryAfterSeconds: 1, reason: 'no machine claimed this host yet' },
        { action: 'poweroff', reason: 'host released' },
      ],
    });
    expectCleanRun(daemon, run);
    expect(run.code, run.stderr).toBe(0);
    const asked = daemon.of('next').map((e) => e.at);
    expect(asked).toHaveLength(3);
    expect((asked[1] ?? 0) - (asked[0] ?? 0)).toBeGreaterThanOrEqual(950);
    expect((asked[2] ?? 0) - (asked[1] ?? 0)).toBeGreaterThanOrEqual(950);
    expect(run.power).toEqual(['poweroff ']);
    expect(daemon.logs).toContain('waiting: no machine claimed this host yet (asking again every 1s)');
    expect(daemon.logs.match(/waiting: /g)).toHaveLength(1); // the same reason is logged once
    expect(daemon.logs).toContain('the daemon says: host released');
  });

  it('wait caps retryAfterSeconds at 60 s; a refused report is retried with backoff', async () => {
    fresh();
    const run = await runFlow(daemon, {
      fakeSleep: true,
      reportStatuses: [503, 500],
      answers: [{ action: 'wait', retryAfterSeconds: 3600, reason: 'long' }, { action: 'wait', retryAfterSeconds: 7, reason: 'short' }, { status: 401 }],
    });
    expect(daemon.of('invalid')).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    expect(daemon.of('report')).toHaveLength(3);
    expect(run.sleeps).toEqual(['5', '10', '60', '7']);
    expect(run.power).toEqual(['poweroff ']);
  });
});
