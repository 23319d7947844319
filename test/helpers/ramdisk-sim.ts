/**
 * A simulated bare-metal machine and its inspection ramdisk, for tests and benchmarks.
 *
 * `SimulatedMachine.boot()` does what firmware + iPXE + the ramdisk (`inspector/`) would do, over real
 * HTTP against a daemon, following docs/ramdisk-contract.md: fetch the per-host iPXE script, read the
 * kernel command line, report the hardware, ask for the next action and carry it out (kexec, disk
 * image, wipe, power off), telling the daemon its progress. Where the contract leaves a choice (call
 * order, progress phases, retries, failure reasons, disk choice) it does what inspector/agent/flow.sh
 * does, so the daemon sees the same traffic as from the real ramdisk. `SimulatedRack` wires machines to the BMC
 * emulator's power-on events, so a Redfish "one-time PXE + reset" makes the machine boot. Also here:
 * a tiny artefact server and a ustar writer/reader for kernel/initrd tarballs.
 *
 * Built to run thousands at once in one process: no timers except while told to wait, one shared
 * keep-alive connection pool (bounded, see `createSimTransport`), downloads are hashed as they stream
 * and thrown away (only sizes and digests are kept), call logs are capped.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Agent as HttpAgent, createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import * as zlib from 'node:zlib';
import { inspectionReportSchema, nextActionSchema } from '../../daemon/core/schemas/ramdisk.js';
import type { InspectionReport, NextAction } from '../../daemon/core/schemas/ramdisk.js';
import type { BmcEmulator, BootEvent, SystemHandle } from '../bmc/index.js';

// ================================================================ hardware

export type DiskType = 'SSD' | 'HDD' | 'NVMe';

export interface DiskSpec {
  /** GiB (2^30 bytes), as the report's `sizeGB`. */
  sizeGB: number;
  type?: DiskType;
  /** Default: /dev/nvme<k>n1 for NVMe, else /dev/sd<a..>. */
  device?: string;
  model?: string | null;
  serial?: string | null;
}

export interface HardwareSpec {
  /** Physical cores, all sockets together (default 4). */
  cores?: number;
  /** Logical CPUs (default 2 × cores). */
  threads?: number;
  sockets?: number;
  cpuModel?: string;
  mhz?: number;
  arch?: 'x86_64' | 'aarch64';
  /** GiB (default 16). */
  memoryGB?: number;
  /** Default one 100 GiB SSD. */
  disks?: readonly DiskSpec[];
  /** Speed of the boot NIC; null: link down or unknown (default 1000). */
  nicSpeedMbps?: number | null;
  manufacturer?: string | null;
  model?: string | null;
  serialNumber?: string | null;
  biosVersion?: string | null;
  bmcAddress?: string | null;
}

interface ProfileDisk {
  device: string;
  sizeBytes: number;
  type: DiskType;
  model: string | null;
  serial: string | null;
}

/** A complete, frozen hardware description; many machines may share one. */
export interface HardwareProfile {
  readonly cpus: Readonly<InspectionReport['cpus']>;
  readonly memoryBytes: number;
  readonly disks: readonly Readonly<ProfileDisk>[];
  readonly nicSpeedMbps: number | null;
  readonly system: Readonly<InspectionReport['system']>;
}

const GIB = 2 ** 30;

/** Fills in the defaults of a hardware description (see `HardwareSpec`). */
export function hardwareProfile(spec: HardwareSpec = {}): HardwareProfile {
  const cores = spec.cores ?? 4;
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let sd = 0;
  let nvme = 0;
  const disks = (spec.disks ?? [{ sizeGB: 100, type: 'SSD' }]).map((d): ProfileDisk => {
    const type = d.type ?? 'SSD';
    const device = d.device ?? (type === 'NVMe' ? `/dev/nvme${nvme++}n1` : `/dev/sd${letters[sd++ % 26] ?? 'a'}`);
    return Object.freeze({ device, sizeBytes: Math.floor(d.sizeGB * GIB), type, model: d.model ?? (type === 'NVMe' ? 'SIM NVMe' : 'SIM DISK'), serial: d.serial ?? null });
  });
  return Object.freeze({
    cpus: Object.freeze({
      count: spec.sockets ?? 1,
      cores,
      threads: spec.threads ?? cores * 2,
      model: spec.cpuModel ?? (spec.arch === 'aarch64' ? 'Neoverse-N1' : 'Intel Xeon (simulated)'),
      architecture: spec.arch ?? 'x86_64',
      mhz: spec.mhz ?? 2400,
    }),
    memoryBytes: Math.floor((spec.memoryGB ?? 16) * GIB),
    disks: Object.freeze(disks),
    nicSpeedMbps: spec.nicSpeedMbps === undefined ? 1000 : spec.nicSpeedMbps,
    system: Object.freeze({
      manufacturer: spec.manufacturer === undefined ? 'Beskar7 Sim' : spec.manufacturer,
      model: spec.model === undefined ? 'Simulated Server' : spec.model,
      serialNumber: spec.serialNumber ?? null,
      biosVersion: spec.biosVersion === undefined ? '1.0-sim' : spec.biosVersion,
      bmcAddress: spec.bmcAddress ?? null,
    }),
  });
}

/** The hardware report the ramdisk would send for `profile` booted from `mac`; passes `inspectionReportSchema`. */
export function inspectionReport(profile: HardwareProfile, mac: string): InspectionReport {
  const serialBase = `sim-${mac.replaceAll(':', '')}`;
  return inspectionReportSchema.parse({
    timestamp: new Date().toISOString(),
    bootMACAddress: mac,
    cpus: { ...profile.cpus },
    memory: { totalBytes: profile.memoryBytes, totalGB: Math.floor(profile.memoryBytes / GIB) },
    disks: profile.disks.map((d, i) => ({ device: d.device, sizeBytes: d.sizeBytes, sizeGB: Math.floor(d.sizeBytes / GIB), type: d.type, model: d.model, serial: d.serial ?? `${serialBase}-${i}` })),
    nics: [{ interface: 'eth0', macAddress: mac, linkStatus: profile.nicSpeedMbps === null ? 'unknown' : 'up', speedMbps: profile.nicSpeedMbps, driver: 'virtio_net' }],
    system: { ...profile.system },
  });
}

/** A locally administered MAC for machine `index` (0 … 2^24-1): 52:54:00:xx:xx:xx. */
export function simMac(index: number): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `52:54:00:${hex((index >> 16) & 255)}:${hex((index >> 8) & 255)}:${hex(index & 255)}`;
}

// ================================================================ HTTP transport

/** Connection pools shared by simulated machines: one keep-alive pool per origin, bounded. */
export interface SimTransport {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

/**
 * Node's fetch (undici) cannot bound its connections per origin without the undici package, and
 * 10,000 machines must not open 10,000 sockets to one daemon: the sim uses node:http with these pools.
 */
export function createSimTransport(options: { maxSockets?: number; ca?: string } = {}): SimTransport {
  const maxSockets = options.maxSockets ?? 256;
  return {
    http: new HttpAgent({ keepAlive: true, maxSockets, scheduling: 'lifo' }),
    https: new HttpsAgent({ keepAlive: true, maxSockets, scheduling: 'lifo', ...(options.ca ? { ca: options.ca } : {}) }),
  };
}

let defaultTransport: SimTransport | null = null;
const sharedTransport = (): SimTransport => (defaultTransport ??= createSimTransport());

interface OpenOptions {
  method: string;
  headers: OutgoingHttpHeaders;
  body?: Buffer;
  signal: AbortSignal | undefined;
  timeoutMs: number;
  transport: SimTransport;
}

function openRequest(url: URL, options: OpenOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const headers: OutgoingHttpHeaders = { ...options.headers };
    if (options.body) headers['content-length'] = options.body.length;
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      { method: options.method, headers, agent: secure ? options.transport.https : options.transport.http, ...(options.signal ? { signal: options.signal } : {}) },
      resolve,
    );
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer from ${url.host} within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

async function readAll(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      throw new Error(`answer larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

const isAbort = (error: unknown): boolean => error instanceof Error && (error.name === 'AbortError' || (error as NodeJS.ErrnoException).code === 'ABORT_ERR');
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

// ================================================================ iPXE script

export interface BootParams {
  /** `beskar7.api`: base URL of the daemon. */
  api: string;
  namespace: string;
  name: string;
  token: string;
  mode: string;
  /** BOOTIF's MAC (colon form), or null when absent. */
  bootif: string | null;
  kernelUrl: string | null;
  initrdUrl: string | null;
}

/** Reads a per-host iPXE script: null for a local-boot script (no `kernel` line), the boot parameters otherwise. */
export function parseBootScript(script: string): BootParams | { error: string } | null {
  const lines = script.split('\n').map((l) => l.trim());
  const kernel = lines.find((l) => /^kernel\s/.test(l));
  if (kernel === undefined) return null;
  const words = (line: string): string[] => (line.split(' || ')[0] ?? '').split(/\s+/).filter((w) => w !== '');
  const args = words(kernel);
  const initrd = lines.find((l) => /^initrd\s/.test(l));
  const value = (key: string): string | null => {
    const found = args.find((a) => a.startsWith(`${key}=`));
    return found === undefined ? null : found.slice(key.length + 1);
  };
  const api = value('beskar7.api');
  const host = value('beskar7.host');
  const token = value('beskar7.token');
  const mode = value('beskar7.mode');
  const [namespace, name, ...rest] = (host ?? '').split('/');
  if (!api || !token || !mode || !namespace || !name || rest.length > 0) return { error: `kernel line lacks beskar7.api, beskar7.host=ns/name, beskar7.token or beskar7.mode: ${kernel}` };
  const bootif = value('BOOTIF');
  return {
    api: api.replace(/\/+$/, ''),
    namespace,
    name,
    token,
    mode,
    bootif: bootif === null ? null : bootif.replace(/^01-/, '').replaceAll('-', ':').toLowerCase(),
    kernelUrl: args.find((a) => /^https?:\/\//.test(a)) ?? null,
    initrdUrl: initrd === undefined ? null : (words(initrd).find((a) => /^https?:\/\//.test(a)) ?? null),
  };
}

// ================================================================ ustar

export class TarError extends Error {
  override name = 'TarError';
}

export interface TarEntry {
  /** Normalised: no leading `./` or `/`, no empty or `.` segments. */
  name: string;
  size: number;
  sha256: string;
  /** The bytes, when the reader was asked to keep this file. */
  content?: Buffer;
}

export interface TarFile {
  name: string;
  data: Buffer | string;
  /** ustar typeflag (default '0', a regular file). */
  type?: string;
  /** For links. */
  linkName?: string;
}

const BLOCK = 512;

function writeString(header: Buffer, text: string, offset: number, length: number, what: string): void {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > length) throw new TarError(`${what} "${text}" longer than ${length} bytes`);
  bytes.copy(header, offset);
}

function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new TarError(`${value} does not fit in ${length - 1} octal digits`);
  header.write(`${digits.padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

function headerChecksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  return sum;
}

function tarHeader(file: TarFile, size: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  let name = file.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar splits long paths at a '/' into prefix (155) and name (100).
    const cut = name.lastIndexOf('/', name.length - 1);
    prefix = cut > 0 ? name.slice(0, cut) : '';
    name = cut > 0 ? name.slice(cut + 1) : name;
  }
  writeString(header, name, 0, 100, 'tar name');
  writeOctal(header, file.type === '5' ? 0o755 : 0o644, 100, 8);
  writeOctal(header, 0, 108, 8);
  writeOctal(header, 0, 116, 8);
  writeOctal(header, size, 124, 12);
  writeOctal(header, 0, 136, 12);
  header.write(file.type ?? '0', 156, 1, 'ascii');
  if (file.linkName) writeString(header, file.linkName, 157, 100, 'tar link name');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  writeString(header, 'root', 265, 32, 'uname');
  writeString(header, 'root', 297, 32, 'gname');
  writeString(header, prefix, 345, 155, 'tar prefix');
  const sum = headerChecksum(header);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

/** A ustar archive of the files, in order. Names are written as given (tests may craft hostile ones). */
export function makeTar(files: Readonly<Record<string, Buffer | string>> | readonly TarFile[]): Buffer {
  const list: readonly TarFile[] = Array.isArray(files) ? files : Object.entries(files as Record<string, Buffer | string>).map(([name, data]) => ({ name, data }));
  const parts: Buffer[] = [];
  for (const file of list) {
    const data = typeof file.data === 'string' ? Buffer.from(file.data, 'utf8') : file.data;
    const regular = (file.type ?? '0') === '0';
    const size = regular ? data.length : 0;
    parts.push(tarHeader(file, size));
    if (size > 0) {
      parts.push(data);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** `makeTarGz({ vmlinuz: kernel, 'initrd.img': initrd, cmdline: 'console=ttyS0' })`: a gzipped ustar archive. */
export function makeTarGz(files: Readonly<Record<string, Buffer | string>> | readonly TarFile[]): Buffer {
  return zlib.gzipSync(makeTar(files));
}

function cString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

function readNumber(block: Buffer, offset: number, length: number): number {
  const first = block[offset] as number;
  if (first & 0x80) {
    // GNU base-256 for sizes of 8 GiB and more.
    let value = first & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + (block[offset + i] as number);
    return value;
  }
  const text = cString(block, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`bad octal number "${text}" in tar header`);
  return parseInt(text, 8);
}

/** Normalises a member name; throws on absolute paths and `..` (path traversal). Empty means the archive root. */
export function normaliseTarName(raw: string): string {
  if (raw.startsWith('/')) throw new TarError(`tar member "${raw}" has an absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new TarError(`tar member "${raw}" escapes the archive (path traversal)`);
  return parts.join('/');
}

/**
 * Incremental ustar reader: `write` chunks as they arrive, `end` for the entries. Only regular files
 * are returned (directories, links, devices, pax and GNU metadata are skipped); each is hashed as it
 * streams, and kept only when `keep(name, size)` says so.
 */
export class TarReader {
  readonly entries: TarEntry[] = [];
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Bytes of the current member still to come, then its padding. */
  private remaining = 0;
  private padding = 0;
  private current: { name: string; size: number; hash: ReturnType<typeof createHash> | null; kept: Buffer[] | null } | null = null;
  private done = false;

  constructor(private readonly keep: (name: string, size: number) => boolean = () => false) {}

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.done) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        const piece = chunk.subarray(at, at + take);
        if (this.current?.hash) this.current.hash.update(piece);
        this.current?.kept?.push(Buffer.from(piece));
        this.remaining -= take;
        at += take;
        if (this.remaining === 0) this.closeMember();
        continue;
      }
      if (this.padding > 0) {
        const take = Math.min(this.padding, chunk.length - at);
        this.padding -= take;
        at += take;
        continue;
      }
      const take = Math.min(BLOCK - this.headerFill, chunk.length - at);
      chunk.copy(this.header, this.headerFill, at, at + take);
      this.headerFill += take;
      at += take;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.openMember(this.header);
      }
    }
  }

  end(): TarEntry[] {
    if (this.remaining > 0 || this.headerFill > 0) throw new TarError('tar archive is truncated');
    return this.entries;
  }

  private openMember(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      // End of archive (two zero blocks by the standard; one is enough to stop).
      this.done = true;
      return;
    }
    const stored = readNumber(block, 148, 8);
    const computed = headerChecksum(block);
    if (stored !== computed) throw new TarError(`tar header checksum mismatch (stored ${stored}, computed ${computed})`);
    const magic = block.subarray(257, 262).toString('ascii');
    if (magic !== 'ustar') throw new TarError('not a ustar archive');
    const type = String.fromCharCode(block[156] as number);
    const size = readNumber(block, 124, 12);
    const prefix = cString(block, 345, 155);
    const rawName = prefix ? `${prefix}/${cString(block, 0, 100)}` : cString(block, 0, 100);
    const metadata = type === 'x' || type === 'g' || type === 'L' || type === 'K';
    const name = metadata ? rawName : normaliseTarName(rawName);
    const regular = type === '0' || type === '\0' || type === '7';
    // Links, directories and devices carry no data (size is the target's for hard links: ignore it).
    const dataSize = regular || metadata ? size : 0;
    this.remaining = dataSize;
    this.padding = (BLOCK - (dataSize % BLOCK)) % BLOCK;
    const wanted = regular && name !== '';
    this.current = { name, size, hash: wanted ? createHash('sha256') : null, kept: wanted && this.keep(name, size) ? [] : null };
    if (dataSize === 0) this.closeMember();
  }

  private closeMember(): void {
    const member = this.current;
    this.current = null;
    if (!member?.hash) return;
    const entry: TarEntry = { name: member.name, size: member.size, sha256: member.hash.digest('hex') };
    if (member.kept) entry.content = Buffer.concat(member.kept);
    this.entries.push(entry);
  }
}

/** Reads a whole .tar.gz (or plain .tar) in memory, keeping every file's content: for tests. */
export function readTarGz(data: Buffer, keep: (name: string, size: number) => boolean = () => true): TarEntry[] {
  const tar = data[0] === 0x1f && data[1] === 0x8b ? zlib.gunzipSync(data) : data;
  const reader = new TarReader(keep);
  reader.write(tar);
  return reader.end();
}

const KERNEL_NAME = /^(vmlinuz.*|bzImage|Image|kernel)$/;
const INITRD_NAME = /^(initrd.*|initramfs.*)$/;
const baseName = (name: string): string => name.slice(name.lastIndexOf('/') + 1);

// ================================================================ the machine

export type BootStep = 'script' | 'assets' | 'report' | 'next' | 'download' | 'progress' | 'logs' | 'booted';

export type BootOutcome =
  /** Firmware booted its disk: the daemon's script said so (`script`), or the BMC did not network-boot it (`firmware`, racks only). */
  | { kind: 'local'; via: 'script' | 'firmware' }
  /** `initrdSha` is null for a kexec without initrd. `bootedStatus`: the daemon's answer to `booted` (0: no answer). */
  | { kind: 'kexec'; cmdline: string; kernelSha: string; initrdSha: string | null; bootedStatus: number }
  /** `imageSha` of the downloaded (compressed) bytes, `bytes` written; `bootedStatus` of the OS's `booted`. */
  | { kind: 'disk'; device: string; bytes: number; imageSha: string; bootedStatus: number }
  | { kind: 'wiped'; disks: string[]; method: string }
  | { kind: 'poweroff'; reason: string }
  /** Reported to the daemon as `phase: failed` when `reason` is a contract reason; simulator-side reasons (`ScriptUnavailable`, `BadScript`, `GaveUp`, `SimulatorError`) are not. */
  | { kind: 'failed'; reason: string; message: string }
  /** A 401 on the report or on `next`: the boot is over for the daemon, the ramdisk powers off. */
  | { kind: 'unauthorized'; step: BootStep }
  /** A `faults.neverReport` / `faults.dieAfter` ramdisk: silent from here on. */
  | { kind: 'hung'; after: 'script' | 'report' | 'next' | 'download' }
  /** The signal fired (a reset, in a rack) during `step`. */
  | { kind: 'aborted'; step: BootStep };

export interface MachineFaults {
  /** Flip a byte of every artefact download, so its sha256 does not match. */
  corruptDownload?: boolean;
  /** The ramdisk boots and never says a word (the daemon's inspection deadline should fire). */
  neverReport?: boolean;
  /** The ramdisk goes silent after this step. */
  dieAfter?: 'report' | 'next' | 'download';
}

export interface HttpCall {
  method: string;
  /** Path and query; for another origin than the daemon's, the whole URL. */
  path: string;
  status: number | 'error' | 'aborted';
}

export type DiskContents =
  | { kind: 'image'; sha256: string; bytes: number }
  /** An image whose sha256 did not match: written, then its signatures erased (as the inspector does). */
  | { kind: 'dirty'; sha256: string; bytes: number }
  | { kind: 'wiped'; method: string };

export interface SimulatedMachineOptions {
  mac: string;
  /** Base URL of the daemon (`http://127.0.0.1:port`): where the firmware fetches `/ipxe/<mac>`. */
  daemonUrl: string;
  hardware?: HardwareProfile | HardwareSpec;
  faults?: MachineFaults;
  /** Multiplies every wait (retryAfterSeconds, retry backoff, give-up time): 0.001 turns seconds into milliseconds. Default 1. */
  waitScale?: number;
  /** Where the ramdisk sends its calls: the script's `beskar7.api` (default, as a real ramdisk) or `daemonUrl`. */
  api?: 'script' | 'daemon';
  /** Also download the inspector kernel and initrd named by the script, as iPXE would (hashed, discarded). Default false. */
  fetchBootAssets?: boolean;
  /** Address reported in `booted` (default 10.0.<mac[4]>.<mac[5]>). */
  address?: string;
  /** Post the ramdisk log (after the report, when the wait reason changes, at the end). Default true. */
  postLogs?: boolean;
  /** How long the report and `next` are retried after failures before the ramdisk gives up (default 1800 s, × waitScale). */
  giveUpSeconds?: number;
  requestTimeoutMs?: number;
  /** Most recent HTTP calls kept in `calls` (default 256; 0 keeps none). */
  callLogLimit?: number;
  transport?: SimTransport;
}

export interface BootOptions {
  signal?: AbortSignal;
  /** Hardware for this boot only. */
  hardware?: HardwareProfile | HardwareSpec;
  /** Faults for this boot only (replace the machine's). */
  faults?: MachineFaults;
}

let defaultProfile: HardwareProfile | null = null;
const isProfile = (value: HardwareProfile | HardwareSpec): value is HardwareProfile => 'memoryBytes' in value;
const asProfile = (value: HardwareProfile | HardwareSpec | undefined): HardwareProfile =>
  value === undefined ? (defaultProfile ??= hardwareProfile()) : isProfile(value) ? value : hardwareProfile(value);
const REPLY_LIMIT = 1024 * 1024;
/** The inspector's limits: waits are 1…60 s; failed calls are retried after 5, 10, 20, 40, 60, 60… s. */
const MAX_WAIT_SECONDS = 60;
const FIRST_BACKOFF_SECONDS = 5;
const SUPPORTED_HINTS = new Set(['deviceName', 'model', 'serialNumber', 'minSizeGB', 'minSizeGigabytes', 'rotational']);

/** Thrown inside a boot flow to end it with an outcome. */
class Halt extends Error {
  constructor(readonly outcome: BootOutcome) {
    super(`boot ended: ${outcome.kind}`);
  }
}

interface Reply {
  /** 0 when no answer came (network error, timeout). */
  status: number;
  body: Buffer;
  error: string | null;
}

/**
 * One bare-metal machine: a MAC, hardware, disks that remember what was written to them, and a
 * `boot()` that plays firmware + iPXE + ramdisk against the daemon. Mutable `hardware` and `faults`
 * apply to the following boots.
 */
export class SimulatedMachine {
  readonly mac: string;
  readonly daemonUrl: string;
  hardware: HardwareProfile;
  faults: MachineFaults;
  /** Most recent HTTP calls of every boot, oldest first. */
  readonly calls: HttpCall[] = [];
  /** What each disk holds after image writes and wipes (devices never written are absent). */
  readonly disks = new Map<string, DiskContents>();
  /** Kernel-line parameters of the latest network boot that got a ramdisk script. */
  lastParams: BootParams | null = null;
  boots = 0;
  private readonly options: SimulatedMachineOptions;

  constructor(options: SimulatedMachineOptions) {
    this.mac = options.mac.toLowerCase().replaceAll('-', ':');
    this.daemonUrl = options.daemonUrl.replace(/\/+$/, '');
    this.hardware = asProfile(options.hardware);
    this.faults = options.faults ?? {};
    this.options = options;
  }

  /** The report this machine sends (with the given hardware, default its own). */
  report(hardware: HardwareProfile | HardwareSpec = this.hardware): InspectionReport {
    return inspectionReport(asProfile(hardware), this.mac);
  }

  /** `10.0.<i>.<j>` from the MAC's last two bytes, or the configured address. */
  get address(): string {
    if (this.options.address) return this.options.address;
    const bytes = this.mac.split(':');
    return `10.0.${parseInt(bytes[4] ?? '0', 16)}.${parseInt(bytes[5] ?? '0', 16)}`;
  }

  /** One power-on through the network: never throws; every ending is a `BootOutcome`. */
  async boot(options: BootOptions = {}): Promise<BootOutcome> {
    this.boots++;
    const run = new BootRun(this, this.options, options.hardware ? asProfile(options.hardware) : this.hardware, options.faults ?? this.faults, options.signal);
    try {
      return await run.execute();
    } catch (error) {
      if (error instanceof Halt) return error.outcome;
      if (options.signal?.aborted || isAbort(error)) return { kind: 'aborted', step: run.step };
      return { kind: 'failed', reason: 'SimulatorError', message: errorText(error) };
    }
  }

  /** @internal */
  logCall(call: HttpCall): void {
    const limit = this.options.callLogLimit ?? 256;
    if (limit <= 0) return;
    if (this.calls.length >= limit) this.calls.splice(0, this.calls.length - limit + 1);
    this.calls.push(call);
  }
}

type KexecAction = Extract<NextAction, { action: 'kexec' }>;
type DiskAction = Extract<NextAction, { action: 'disk' }>;
type WipeAction = Extract<NextAction, { action: 'wipe' }>;

/**
 * One boot's state; thrown away when the boot ends. Follows inspector/agent/flow.sh: which calls it
 * makes in which order, which failures it retries, which reasons it reports.
 */
class BootRun {
  step: BootStep = 'script';
  private params: BootParams | null = null;
  private api = '';
  private readonly transport: SimTransport;
  private readonly waitScale: number;
  private readonly timeoutMs: number;
  private readonly logLines: string[] = [];
  /** Retry state of the report/next loop, as the inspector's retry_later. */
  private backoff = FIRST_BACKOFF_SECONDS;
  private failedFor = 0;

  constructor(
    private readonly machine: SimulatedMachine,
    private readonly options: SimulatedMachineOptions,
    private readonly hardware: HardwareProfile,
    private readonly faults: MachineFaults,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.transport = options.transport ?? sharedTransport();
    this.waitScale = options.waitScale ?? 1;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  async execute(): Promise<BootOutcome> {
    this.signal?.throwIfAborted();
    // Firmware → iPXE: the per-host script.
    const script = await this.call('GET', `${this.machine.daemonUrl}/ipxe/${this.machine.mac}`, { auth: false });
    if (script.status !== 200) return { kind: 'failed', reason: 'ScriptUnavailable', message: `GET /ipxe/${this.machine.mac}: ${script.error ?? `HTTP ${script.status}`}` };
    const parsed = parseBootScript(script.body.toString('utf8'));
    if (parsed === null) return { kind: 'local', via: 'script' };
    if ('error' in parsed) return { kind: 'failed', reason: 'BadScript', message: parsed.error };
    if (parsed.bootif !== null && parsed.bootif !== this.machine.mac) return { kind: 'failed', reason: 'BadScript', message: `BOOTIF ${parsed.bootif} is not this machine's MAC ${this.machine.mac}` };
    this.params = parsed;
    this.machine.lastParams = parsed;
    this.api = this.options.api === 'daemon' ? this.machine.daemonUrl : parsed.api;

    if (this.options.fetchBootAssets) {
      this.step = 'assets';
      for (const url of [parsed.kernelUrl, parsed.initrdUrl]) {
        if (url !== null && (await this.download(url, null, false)) === null) return { kind: 'failed', reason: 'BootAssetsUnavailable', message: `iPXE could not download ${url}` };
      }
    }
    if (this.faults.neverReport) return { kind: 'hung', after: 'script' };

    // The ramdisk: report (retried until accepted), then ask until told what to do.
    this.log(`beskar7 ramdisk: host ${parsed.namespace}/${parsed.name}, mode ${parsed.mode}, daemon ${this.api}`);
    const report = inspectionReport(this.hardware, this.machine.mac);
    for (;;) {
      this.step = 'report';
      const reply = await this.call('POST', `${this.api}/api/v1/inspection/${parsed.namespace}/${parsed.name}`, { json: report });
      if (reply.status >= 200 && reply.status <= 299) break;
      if (reply.status === 401) return this.powerOff({ kind: 'unauthorized', step: 'report' }, 'the daemon refused the report (401): this boot is over');
      await this.retryLater(`posting the report failed (${reply.error ?? `HTTP ${reply.status}`})`, reply);
    }
    if (this.faults.dieAfter === 'report') return { kind: 'hung', after: 'report' };
    this.log(`report accepted: ${report.cpus.threads} threads, ${report.memory.totalGB} GiB, ${report.disks.length} disks`);
    await this.postLogs();

    const action = await this.nextAction();
    if (this.faults.dieAfter === 'next') return { kind: 'hung', after: 'next' };
    switch (action.action) {
      case 'kexec':
        return this.kexec(action);
      case 'disk':
        return this.disk(action);
      case 'wipe':
        return this.wipe(action, report);
      case 'poweroff':
        return this.powerOff({ kind: 'poweroff', reason: action.reason }, `the daemon says: ${action.reason}`);
    }
  }

  private ramdiskUrl(suffix: string): string {
    const p = this.params as BootParams;
    return `${this.api}/api/v1/ramdisk/${p.namespace}/${p.name}/${suffix}`;
  }

  private async nextAction(): Promise<Exclude<NextAction, { action: 'wait' }>> {
    let lastReason: string | null = null;
    for (;;) {
      this.step = 'next';
      const reply = await this.call('GET', this.ramdiskUrl('next'));
      if (reply.status === 401) throw new Halt(await this.powerOff({ kind: 'unauthorized', step: 'next' }, 'the daemon ended this boot (401 on next)'));
      if (reply.status !== 200) {
        await this.retryLater(`asking for the next action failed (${reply.error ?? `HTTP ${reply.status}`})`, reply);
        continue;
      }
      this.backoff = FIRST_BACKOFF_SECONDS;
      this.failedFor = 0;
      let action: NextAction;
      try {
        action = nextActionSchema.parse(JSON.parse(reply.body.toString('utf8')));
      } catch (error) {
        await this.retryLater(`unexpected answer to next: ${errorText(error).slice(0, 300)}`, reply);
        continue;
      }
      if (action.action !== 'wait') return action;
      const seconds = Math.min(Math.max(action.retryAfterSeconds, 1), MAX_WAIT_SECONDS);
      if (action.reason !== lastReason) {
        this.log(`waiting: ${action.reason} (asking again every ${seconds}s)`);
        await this.postLogs();
        lastReason = action.reason;
      }
      await this.wait(seconds);
    }
  }

  /** The inspector's retry_later: back off 5, 10, 20… 60 s; give up (and power off) after giveUpSeconds. */
  private async retryLater(what: string, reply: Reply): Promise<void> {
    const giveUp = this.options.giveUpSeconds ?? 1800;
    if (this.failedFor >= giveUp) {
      this.log(`${what}; giving up after ${this.failedFor}s`);
      await this.postLogs();
      throw new Halt({ kind: 'failed', reason: 'GaveUp', message: `${what}: ${reply.body.toString('utf8').slice(0, 300)}` });
    }
    this.log(`${what}; trying again in ${this.backoff}s`);
    await this.wait(this.backoff);
    this.failedFor += this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_WAIT_SECONDS);
  }

  private wait(seconds: number): Promise<void> {
    return sleep(Math.max(0, seconds * 1000 * this.waitScale), undefined, this.signal ? { signal: this.signal } : undefined);
  }

  // ---------------------------------------------------------------- actions

  private async kexec(action: KexecAction): Promise<BootOutcome> {
    let kernelSha: string;
    let initrdSha: string | null = null;
    let cmdline = action.cmdline;
    if (action.tarball) {
      const tar = new TarReader((name, size) => baseName(name) === 'cmdline' && size <= 64 * 1024);
      const unpacked = await this.fetchVerified('tarball', action.tarball, 'gzip', (chunk) => tar.write(chunk));
      let entries: TarEntry[];
      try {
        if (unpacked.sinkError) throw unpacked.sinkError;
        entries = tar.end();
      } catch (error) {
        return this.fail('DownloadFailed', `tarball does not unpack: ${errorText(error)}`);
      }
      const files = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const kernel = files.find((e) => KERNEL_NAME.test(baseName(e.name)));
      if (!kernel) return this.fail('KexecFailed', 'the tarball holds no kernel (vmlinuz*, bzImage, Image or kernel)');
      kernelSha = kernel.sha256;
      initrdSha = files.find((e) => INITRD_NAME.test(baseName(e.name)))?.sha256 ?? null;
      const extra = files.find((e) => baseName(e.name) === 'cmdline')?.content?.toString('utf8').replaceAll('\n', ' ') ?? '';
      cmdline = `${extra} ${cmdline}`.trim().replace(/ {2,}/g, ' ');
    } else if (action.kernel) {
      kernelSha = (await this.fetchVerified('kernel', action.kernel, 'raw', null)).sha256;
      if (action.initrd) initrdSha = (await this.fetchVerified('initrd', action.initrd, 'raw', null)).sha256;
    } else {
      return this.fail('KexecFailed', 'kexec action without kernel or tarball');
    }
    await this.progress('kexec', `loading kernel${initrdSha ? ' with initrd' : ''}`);
    const bootedStatus = await this.booted('ramdisk');
    this.log('kexec into the new kernel');
    await this.postLogs();
    return { kind: 'kexec', cmdline, kernelSha, initrdSha, bootedStatus };
  }

  private async disk(action: DiskAction): Promise<BootOutcome> {
    const { image } = action;
    const decoder = image.format === 'gzip' ? () => zlib.createGunzip() : image.format === 'zstd' ? zstdDecompressor() : null;
    if (image.format === 'zstd' && !decoder) return this.fail('WriteFailed', 'the image is zstd and this ramdisk has no zstd (the simulator needs Node.js with zlib zstd)');
    // A raw image's size is known up front (HEAD): the disk must hold it.
    const minBytes = image.format === 'raw' ? await this.contentLength(image.url) : 0;
    const target = this.chooseDisk(action.rootDeviceHints, minBytes);
    if (typeof target === 'string') return this.fail('NoTargetDisk', `${target} (hints: ${JSON.stringify(action.rootDeviceHints)}${minBytes ? `, image ${minBytes} bytes` : ''})`);
    await this.progress('writing', `${image.format} image ${image.url} onto ${target.device}`);
    let written = 0;
    const streamed = await this.stream(image.url, decoder, (chunk) => {
      written += chunk.length;
    });
    if (this.faults.dieAfter === 'download') throw new Halt({ kind: 'hung', after: 'download' });
    if (streamed.got && written > target.sizeBytes) return this.fail('WriteFailed', `writing ${target.device} failed: no space left after ${target.sizeBytes} bytes`);
    const expected = normaliseSha(image.sha256);
    if (streamed.sinkError && (!streamed.got || streamed.got.sha256 === expected)) {
      return this.fail('WriteFailed', `the image does not decompress as ${image.format}: ${errorText(streamed.sinkError)}; ${target.device} holds a partial image`);
    }
    if (!streamed.got) return this.fail('DownloadFailed', `downloading ${image.url} failed; ${target.device} holds a partial image`);
    if (streamed.got.sha256 !== expected) {
      this.machine.disks.set(target.device, { kind: 'dirty', sha256: streamed.got.sha256, bytes: written });
      return this.fail('ChecksumMismatch', `image ${image.url}: sha256 is ${streamed.got.sha256}, expected ${expected}; ${target.device} is dirty (it holds the unverified image; its signatures were erased (wipefs -a) so it does not boot)`);
    }
    this.machine.disks.set(target.device, { kind: 'image', sha256: streamed.got.sha256, bytes: written });
    await this.progress('info', `image written onto ${target.device} and verified (sha256 ${streamed.got.sha256}); rebooting`);
    // As inspector/agent/flow.sh does: the written and verified image is the milestone, reported by
    // the ramdisk just before it reboots into the installed OS.
    const bootedStatus = await this.booted('ramdisk');
    await this.postLogs();
    return { kind: 'disk', device: target.device, bytes: written, imageSha: streamed.got.sha256, bootedStatus };
  }

  private async wipe(action: WipeAction, report: InspectionReport): Promise<BootOutcome> {
    const known = new Set(report.disks.map((d) => d.device));
    const disks = action.disks.length === 0 ? [...known] : action.disks.map((d) => (d.startsWith('/dev/') ? d : `/dev/${d}`));
    const stranger = disks.find((d) => !known.has(d));
    if (stranger) return this.fail('WipeFailed', `${stranger} is not a disk of this host's report`);
    if (disks.length === 0) return this.fail('WipeFailed', "this host reported no disks");
    await this.progress('wiping', `method ${action.method}: ${disks.join(' ')}`);
    for (const device of disks) this.machine.disks.set(device, { kind: 'wiped', method: action.method });
    await this.progress('wiped', `wiped with method ${action.method}`, { disks });
    return this.powerOff({ kind: 'wiped', disks, method: action.method }, 'wipe done');
  }

  /** The inspector's choose_disk: the smallest disk that matches every hint; an unknown hint matches none. */
  private chooseDisk(hints: Record<string, string | number | boolean>, minBytes: number): ProfileDisk | string {
    const unknown = Object.keys(hints).find((k) => !SUPPORTED_HINTS.has(k));
    if (unknown !== undefined) return `unsupported rootDeviceHints key ${unknown}`;
    const serialBase = `sim-${this.machine.mac.replaceAll(':', '')}`;
    let best: ProfileDisk | undefined;
    this.hardware.disks.forEach((disk, i) => {
      const sizeGB = Math.floor(disk.sizeBytes / GIB);
      const ok =
        disk.sizeBytes >= minBytes &&
        Object.entries(hints).every(([key, value]) => {
          switch (key) {
            case 'deviceName': {
              const name = String(value);
              return disk.device === (name.startsWith('/dev/') ? name : `/dev/${name}`);
            }
            case 'model':
              return (disk.model ?? '').toLowerCase().includes(String(value).toLowerCase());
            case 'serialNumber':
              return (disk.serial ?? `${serialBase}-${i}`) === String(value);
            case 'minSizeGB':
            case 'minSizeGigabytes':
              return sizeGB >= Number(value);
            default: {
              const wanted = value === true || String(value).toLowerCase() === 'true' || String(value) === '1';
              return (disk.type === 'HDD') === wanted;
            }
          }
        });
      if (ok && (!best || disk.sizeBytes < best.sizeBytes)) best = disk;
    });
    return best ?? 'no reported disk matches';
  }

  // ---------------------------------------------------------------- downloads

  /** The inspector's fetch_verified: progress downloading, download, progress verifying, check. */
  private async fetchVerified(
    label: string,
    artifact: { url: string; sha256: string },
    format: 'raw' | 'gzip',
    sink: ((chunk: Buffer) => void) | null,
  ): Promise<{ sha256: string; sinkError: Error | null }> {
    await this.progress('downloading', `${label} from ${artifact.url}`);
    const streamed = await this.stream(artifact.url, format === 'gzip' ? () => zlib.createGunzip() : null, sink);
    if (!streamed.got) return this.fail('DownloadFailed', `${label}: ${artifact.url} could not be downloaded`);
    if (this.faults.dieAfter === 'download') throw new Halt({ kind: 'hung', after: 'download' });
    await this.progress('verifying', `${label}: sha256 of ${streamed.got.bytes} bytes`);
    const expected = normaliseSha(artifact.sha256);
    if (streamed.got.sha256 !== expected) return this.fail('ChecksumMismatch', `${label} from ${artifact.url}: sha256 is ${streamed.got.sha256}, expected ${expected}; not used`);
    return { sha256: streamed.got.sha256, sinkError: streamed.sinkError };
  }

  /**
   * Downloads `url`, hashing the downloaded bytes and passing them (through `decoder`, when given) to
   * `sink`. Nothing is kept. `got` is null when the download failed; `sinkError` is a decoder or sink error.
   */
  private async stream(
    url: string,
    makeDecoder: (() => Transform) | null,
    sink: ((chunk: Buffer) => void) | null,
  ): Promise<{ got: { sha256: string; bytes: number } | null; sinkError: Error | null }> {
    let sinkError: Error | null = null;
    const deliver = (chunk: Buffer): void => {
      if (sinkError || !sink) return;
      try {
        sink(chunk);
      } catch (error) {
        sinkError = error instanceof Error ? error : new Error(String(error));
      }
    };
    const decoder = makeDecoder?.() ?? null;
    decoder?.on('data', deliver);
    decoder?.on('error', (error) => {
      sinkError ??= error;
    });
    const feed = (chunk: Buffer): Promise<void> => {
      if (!decoder) {
        deliver(chunk);
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        if (sinkError || decoder.destroyed) return resolve();
        // The callback comes once zlib consumed the chunk (backpressure without 'drain'); a decoder
        // that fails on this chunk may never call it, but it closes.
        const done = (): void => {
          decoder.off('close', done);
          resolve();
        };
        decoder.once('close', done);
        decoder.write(chunk, done);
      });
    };
    let got: { sha256: string; bytes: number } | null;
    try {
      got = await this.download(url, feed, true);
    } finally {
      if (decoder && !decoder.destroyed) {
        decoder.end();
        try {
          await finished(decoder);
        } catch (error) {
          sinkError ??= error instanceof Error ? error : new Error(String(error));
        }
      }
    }
    return { got, sinkError };
  }

  private sameOrigin(url: URL): boolean {
    return this.api !== '' && url.origin === new URL(this.api).origin;
  }

  /** One GET, hashed as it streams; null when it failed (no retry: the inspector's curl does not either). */
  private async download(url: string, feed: ((chunk: Buffer) => Promise<void>) | null, corrupt: boolean): Promise<{ sha256: string; bytes: number } | null> {
    if (this.step !== 'assets') this.step = 'download';
    const target = new URL(url);
    const sameOrigin = this.sameOrigin(target);
    // The boot token goes only to the daemon, never to an image server elsewhere.
    const headers: OutgoingHttpHeaders = sameOrigin && this.params ? { authorization: `Bearer ${this.params.token}` } : {};
    const path = sameOrigin ? `${target.pathname}${target.search}` : url;
    let res: IncomingMessage;
    try {
      res = await openRequest(target, { method: 'GET', headers, signal: this.signal, timeoutMs: this.timeoutMs, transport: this.transport });
    } catch (error) {
      if (this.signal?.aborted || isAbort(error)) throw error;
      this.machine.logCall({ method: 'GET', path, status: 'error' });
      return null;
    }
    const status = res.statusCode ?? 0;
    this.machine.logCall({ method: 'GET', path, status });
    if (status !== 200) {
      res.resume();
      return null;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for await (const raw of res as AsyncIterable<Buffer>) {
        let chunk = raw;
        if (bytes === 0 && corrupt && this.faults.corruptDownload && chunk.length > 0) {
          chunk = Buffer.from(chunk);
          chunk[0] = (chunk[0] as number) ^ 0xff;
        }
        hash.update(chunk);
        bytes += chunk.length;
        if (feed) await feed(chunk);
      }
    } catch (error) {
      if (this.signal?.aborted || isAbort(error)) throw error;
      return null;
    }
    return { sha256: hash.digest('hex'), bytes };
  }

  private async contentLength(url: string): Promise<number> {
    const target = new URL(url);
    const sameOrigin = this.sameOrigin(target);
    const headers: OutgoingHttpHeaders = sameOrigin && this.params ? { authorization: `Bearer ${this.params.token}` } : {};
    try {
      const res = await openRequest(target, { method: 'HEAD', headers, signal: this.signal, timeoutMs: this.timeoutMs, transport: this.transport });
      res.resume();
      this.machine.logCall({ method: 'HEAD', path: sameOrigin ? `${target.pathname}${target.search}` : url, status: res.statusCode ?? 0 });
      const length = Number(res.headers['content-length']);
      return res.statusCode === 200 && Number.isFinite(length) ? length : 0;
    } catch (error) {
      if (this.signal?.aborted || isAbort(error)) throw error;
      this.machine.logCall({ method: 'HEAD', path: url, status: 'error' });
      return 0;
    }
  }

  // ---------------------------------------------------------------- telling the daemon

  /** The inspector's fail: report `phase: failed` with the reason, post the log, stop (the host powers off). */
  private async fail(reason: string, message: string): Promise<never> {
    await this.tell('failed', message, { reason });
    await this.postLogs();
    throw new Halt({ kind: 'failed', reason, message });
  }

  private async powerOff(outcome: BootOutcome, why: string): Promise<BootOutcome> {
    this.log(`powering off: ${why}`);
    await this.postLogs();
    return outcome;
  }

  private progress(phase: 'downloading' | 'verifying' | 'writing' | 'kexec' | 'wiping' | 'wiped' | 'info', message: string, extra: { disks?: string[] } = {}): Promise<void> {
    return this.tell(phase, message, extra);
  }

  /** Progress is best effort, as in the inspector: an error or a 401 is logged, never fatal. */
  private async tell(phase: string, message: string, extra: { reason?: string; disks?: string[] }): Promise<void> {
    this.log(`${phase}${extra.reason ? ` [${extra.reason}]` : ''}: ${message}`);
    const saved = this.step;
    this.step = 'progress';
    const reply = await this.call('POST', this.ramdiskUrl('progress'), { json: { phase, message: message.slice(0, 4000), ...extra } });
    if (reply.status < 200 || reply.status > 299) this.log(`posting progress failed (${reply.error ?? `HTTP ${reply.status}`})`);
    this.step = saved;
  }

  private log(line: string): void {
    if (this.options.postLogs === false) return;
    this.logLines.push(line);
  }

  private async postLogs(): Promise<void> {
    if (this.logLines.length === 0 || !this.params) return;
    const text = `${this.logLines.join('\n')}\n`;
    this.logLines.length = 0;
    const saved = this.step;
    this.step = 'logs';
    await this.call('POST', this.ramdiskUrl('logs'), { text });
    this.step = saved;
  }

  private async booted(source: 'ramdisk' | 'os'): Promise<number> {
    this.step = 'booted';
    // Retried while the daemon is unreachable or failing (a restart): without it the run would end
    // in a provisioning timeout although the target booted. A 4xx answer is final.
    for (;;) {
      const reply = await this.call('POST', this.ramdiskUrl('booted'), { json: { source, addresses: [{ type: 'InternalIP', address: this.machine.address }] } });
      if (reply.status >= 200 && reply.status <= 299) return reply.status;
      if (reply.status >= 400 && reply.status < 500) {
        this.log(`posting booted refused (HTTP ${reply.status})`);
        return reply.status;
      }
      await this.retryLater(`posting booted failed (${reply.error ?? `HTTP ${reply.status}`})`, reply);
    }
  }

  // ---------------------------------------------------------------- HTTP

  /** One call (no retries here: the flow decides), with the boot token unless `auth: false`. Status 0: no answer. */
  private async call(method: 'GET' | 'POST', url: string, options: { json?: unknown; text?: string; auth?: boolean } = {}): Promise<Reply> {
    const target = new URL(url);
    const headers: OutgoingHttpHeaders = { accept: 'application/json' };
    if (options.auth !== false && this.params) headers.authorization = `Bearer ${this.params.token}`;
    let body: Buffer | undefined;
    if (options.json !== undefined) {
      body = Buffer.from(JSON.stringify(options.json));
      headers['content-type'] = 'application/json';
    } else if (options.text !== undefined) {
      body = Buffer.from(options.text, 'utf8');
      headers['content-type'] = 'text/plain; charset=utf-8';
    }
    const path = `${target.pathname}${target.search}`;
    try {
      const res = await openRequest(target, { method, headers, ...(body ? { body } : {}), signal: this.signal, timeoutMs: this.timeoutMs, transport: this.transport });
      const reply: Reply = { status: res.statusCode ?? 0, body: await readAll(res, REPLY_LIMIT), error: null };
      this.machine.logCall({ method, path, status: reply.status });
      return reply;
    } catch (error) {
      const aborted = this.signal?.aborted || isAbort(error);
      this.machine.logCall({ method, path, status: aborted ? 'aborted' : 'error' });
      if (aborted) throw error;
      return { status: 0, body: Buffer.alloc(0), error: errorText(error) };
    }
  }
}

const normaliseSha = (sha: string): string => sha.toLowerCase().replace(/^sha256:/, '');

/** zlib's zstd decoder where this Node.js has one (22.15+), else null. */
function zstdDecompressor(): (() => Transform) | null {
  const candidate = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  return typeof candidate === 'function' ? candidate : null;
}

// ================================================================ the rack

export type RackEvents = {
  /** A machine of the rack powered on; `network`: it boots through the daemon. */
  boot: [mac: string, event: BootEvent, network: boolean];
  /** A machine's boot flow ended. */
  outcome: [mac: string, outcome: BootOutcome];
  /** The rack set a machine's system Off after its ramdisk halted (see `haltDelayMs`). */
  halted: [mac: string];
};

export interface SimulatedRackOptions {
  /**
   * Boot order when no override is active (BootRecord target null): network first (the firmware
   * asks the daemon, which answers "local" for hosts it does not want) or disk first. Default false.
   */
  firmwareNetworkFirst?: boolean | ((mac: string) => boolean);
  /** Set the emulated system Off when the ramdisk powers off (poweroff, wiped, unauthorized, failed); needs `attach`. Default true. */
  powerOffOnHalt?: boolean;
  /**
   * How long after the ramdisk's halt the system goes Off (default 1000 ms). A real boot takes minutes,
   * so a client that restarts a machine always sees it On before the ramdisk can power it off; a
   * simulated boot takes milliseconds, and a client polling for On (every second, by default) would
   * find it Off again without this delay. A reset within the delay cancels the power-off.
   */
  haltDelayMs?: number;
  /** Outcomes kept per machine (default 1000; older ones are dropped, counts stay exact). */
  outcomeHistory?: number;
}

interface Slot {
  machine: SimulatedMachine;
  bmc: number;
  system: string | null;
  controller: AbortController | null;
  flow: Promise<void> | null;
  haltTimer: NodeJS.Timeout | null;
  outcomes: BootOutcome[];
  /** Outcomes dropped from the front of `outcomes`. */
  dropped: number;
  waiters: Set<() => void>;
}

const NETWORK_TARGETS = new Set(['Pxe', 'UefiHttp']);
// The ramdisk powers the host off after these; after a failure its init does too (inspector/init).
const HALTS = new Set<BootOutcome['kind']>(['poweroff', 'wiped', 'unauthorized', 'failed']);

/**
 * Machines wired to BMC emulator systems: pass `rack.onBoot` as the emulator's `onBoot`, `add` a
 * machine per BMC (system), and `attach(emulator)` so ramdisk power-offs reach the BMC. Each power-on
 * with target Pxe (or none, when the firmware is network-first) runs `machine.boot()`; a new power-on
 * aborts the machine's running flow and starts after it, as a real reset would.
 */
export class SimulatedRack extends EventEmitter<RackEvents> {
  private readonly slots = new Map<string, Slot>();
  private readonly byBmc = new Map<number, Slot[]>();
  private emulator: BmcEmulator | null = null;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: SimulatedRackOptions = {}) {
    super();
  }

  /** Machine for BMC `bmc` (its system `system`, default whichever system powers on). */
  add(machine: SimulatedMachine, at: { bmc: number; system?: string }): this {
    if (this.slots.has(machine.mac)) throw new Error(`machine ${machine.mac} is already in the rack`);
    const slot: Slot = { machine, bmc: at.bmc, system: at.system ?? null, controller: null, flow: null, haltTimer: null, outcomes: [], dropped: 0, waiters: new Set() };
    this.slots.set(machine.mac, slot);
    const list = this.byBmc.get(at.bmc) ?? [];
    list.push(slot);
    this.byBmc.set(at.bmc, list);
    return this;
  }

  /** Lets the rack power systems off when their ramdisk does. */
  attach(emulator: BmcEmulator): this {
    this.emulator = emulator;
    return this;
  }

  /** The emulator's `onBoot` option. */
  readonly onBoot = (event: BootEvent): void => {
    if (this.stopped) return;
    const slot = this.byBmc.get(event.bmc)?.find((s) => s.system === null || s.system === event.system);
    if (!slot) return;
    const mac = slot.machine.mac;
    const first = this.options.firmwareNetworkFirst;
    const networkFirst = typeof first === 'function' ? first(mac) : (first ?? false);
    const network = event.record.target === null ? networkFirst : NETWORK_TARGETS.has(event.record.target);
    this.emit('boot', mac, event, network);
    if (slot.haltTimer) clearTimeout(slot.haltTimer);
    slot.haltTimer = null;
    slot.controller?.abort();
    const controller = new AbortController();
    slot.controller = controller;
    const previous = slot.flow ?? Promise.resolve();
    const flow: Promise<void> = previous.then(async () => {
      const outcome: BootOutcome = !network
        ? { kind: 'local', via: 'firmware' }
        : controller.signal.aborted
          ? { kind: 'aborted', step: 'script' }
          : await slot.machine.boot({ signal: controller.signal });
      try {
        this.record(slot, outcome, controller, event);
      } catch (error) {
        // An 'outcome' listener threw: surface it without breaking the machine's chain of boots.
        queueMicrotask(() => {
          throw error;
        });
      }
    });
    slot.flow = flow;
    this.running.add(flow);
    void flow.finally(() => {
      this.running.delete(flow);
      if (slot.flow === flow) slot.flow = null;
    });
  };

  machine(mac: string): SimulatedMachine {
    return this.slot(mac).machine;
  }

  get machines(): SimulatedMachine[] {
    return [...this.slots.values()].map((s) => s.machine);
  }

  /** Outcomes of the machine's finished boots, oldest first (the most recent `outcomeHistory`). */
  outcomes(mac: string): readonly BootOutcome[] {
    return this.slot(mac).outcomes;
  }

  /** Finished boots of the machine, including dropped history. */
  bootCount(mac: string): number {
    const slot = this.slot(mac);
    return slot.dropped + slot.outcomes.length;
  }

  /** Resolves with the latest outcome once the machine has finished `n` boots in all (at once if it has). */
  untilBootCount(mac: string, n: number, timeoutMs?: number): Promise<BootOutcome> {
    const slot = this.slot(mac);
    return this.until(slot, () => slot.dropped + slot.outcomes.length >= n, timeoutMs, `${mac} to finish ${n} boots`).then(() => slot.outcomes.at(-1) as BootOutcome);
  }

  /** The first outcome with absolute index ≥ `from` (see `bootCount`) that matches. */
  untilOutcome(mac: string, match: (outcome: BootOutcome) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<BootOutcome> {
    const slot = this.slot(mac);
    let found: BootOutcome | undefined;
    const check = (): boolean => {
      const start = Math.max(0, (options.from ?? 0) - slot.dropped);
      found = slot.outcomes.slice(start).find(match);
      return found !== undefined;
    };
    return this.until(slot, check, options.timeoutMs, `an outcome of ${mac}`).then(() => found as BootOutcome);
  }

  /** Boot flows in progress. */
  get busy(): number {
    return this.running.size;
  }

  /** Resolves when no boot flow is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Aborts every flow, ignores later power-ons, and waits for the flows to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const slot of this.slots.values()) {
      slot.controller?.abort();
      if (slot.haltTimer) clearTimeout(slot.haltTimer);
      slot.haltTimer = null;
    }
    await this.idle();
  }

  private slot(mac: string): Slot {
    const slot = this.slots.get(mac.toLowerCase().replaceAll('-', ':'));
    if (!slot) throw new Error(`no machine ${mac} in the rack`);
    return slot;
  }

  private record(slot: Slot, outcome: BootOutcome, controller: AbortController, event: BootEvent): void {
    slot.outcomes.push(outcome);
    const limit = this.options.outcomeHistory ?? 1000;
    if (slot.outcomes.length > limit) {
      slot.dropped += slot.outcomes.length - limit;
      slot.outcomes.splice(0, slot.outcomes.length - limit);
    }
    // Only the current flow may act on the power: a reset since then owns the machine.
    if (slot.controller === controller && HALTS.has(outcome.kind) && this.options.powerOffOnHalt !== false && this.emulator && !this.stopped) {
      let system: SystemHandle | undefined;
      try {
        system = this.emulator.bmcs[event.bmc]?.system(event.system);
      } catch {
        system = undefined;
      }
      if (system) {
        const off = system;
        const delay = this.options.haltDelayMs ?? 1000;
        if (delay <= 0) off.setPowerState('Off');
        else {
          slot.haltTimer = setTimeout(() => {
            slot.haltTimer = null;
            off.setPowerState('Off');
            this.emit('halted', slot.machine.mac);
          }, delay);
        }
        if (delay <= 0) this.emit('halted', slot.machine.mac);
      }
    }
    if (slot.controller === controller) slot.controller = null;
    this.emit('outcome', slot.machine.mac, outcome);
    for (const wake of [...slot.waiters]) wake();
  }

  private until(slot: Slot, check: () => boolean, timeoutMs: number | undefined, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const wake = (): void => {
        if (!check()) return;
        slot.waiters.delete(wake);
        if (timer) clearTimeout(timer);
        resolve();
      };
      slot.waiters.add(wake);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          slot.waiters.delete(wake);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (outcomes: ${JSON.stringify(slot.outcomes.slice(-5))})`));
        }, timeoutMs);
      }
    });
  }
}

// ================================================================ artefact server

export interface ArtifactServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  url(name: string): string;
  sha256(name: string): string;
  size(name: string): number;
  /** Adds or replaces a file. */
  put(name: string, data: Buffer): void;
  /** GET requests a file received. */
  hits(name: string): number;
  stop(): Promise<void>;
}

/** Serves the files (GET/HEAD `/<name>`, with Content-Length) on 127.0.0.1 on an ephemeral port. */
export async function startArtifactServer(files: Readonly<Record<string, Buffer>>): Promise<ArtifactServer> {
  const store = new Map<string, { data: Buffer; sha256: string; hits: number }>();
  const put = (name: string, data: Buffer): void => {
    store.set(name, { data, sha256: createHash('sha256').update(data).digest('hex'), hits: 0 });
  };
  for (const [name, data] of Object.entries(files)) put(name, data);
  const server = createServer((req, res) => {
    let name: string;
    try {
      name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    } catch {
      name = '';
    }
    const file = store.get(name);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(file ? 405 : 404, { 'content-type': 'text/plain' }).end(file ? 'method not allowed\n' : 'not found\n');
      return;
    }
    if (req.method === 'GET') file.hits++;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.data.length });
    res.end(req.method === 'HEAD' ? undefined : file.data);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = (name: string): { data: Buffer; sha256: string; hits: number } => {
    const file = store.get(name);
    if (!file) throw new Error(`artifact server has no ${name}`);
    return file;
  };
  let stopping: Promise<void> | null = null;
  return {
    baseUrl,
    url: (name) => `${baseUrl}/${name.split('/').map(encodeURIComponent).join('/')}`,
    sha256: (name) => get(name).sha256,
    size: (name) => get(name).data.length,
    put,
    hits: (name) => get(name).hits,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
