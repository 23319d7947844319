// Shared fixtures for the TFTP tests: a served root with files of known content, a server on
// 127.0.0.1 with an ephemeral port and a recording observer, and the real clients from Debian.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TftpServer } from '../../../bootserver/tftp/server.js';
import type { RefusalInfo, TftpServerOptions, TransferEndInfo, TransferStartInfo } from '../../../bootserver/tftp/types.js';

export const APT_INSTALL = 'apt-get update && apt-get install -y tftp-hpa atftp curl';

const CLIENTS = {
  tftp: { binary: '/usr/bin/tftp', pkg: 'tftp-hpa' },
  atftp: { binary: '/usr/bin/atftp', pkg: 'atftp' },
  curl: { binary: '/usr/bin/curl', pkg: 'curl' },
} as const;
export type ClientName = keyof typeof CLIENTS;

/** The client's path; throws (never skips) when it is missing, naming the package to install. */
export function requireClient(name: ClientName): string {
  const { binary, pkg } = CLIENTS[name];
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    throw new Error(`${binary} (Debian package ${pkg}) is missing; these tests drive real TFTP clients. Install them: ${APT_INSTALL}`);
  }
  return binary;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client with a hard time limit; never rejects, so tests assert on the outcome. */
export function run(binary: string, args: string[], timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Byte equality; expect(buffer).toEqual(buffer) walks a megabyte element by element and takes seconds. */
export const same = (actual: Buffer, expected: Buffer | undefined): boolean => expected !== undefined && actual.equals(expected);

export async function sameBytes(file: string, expected: Buffer): Promise<boolean> {
  const got = await readFile(file).catch(() => undefined);
  return got !== undefined && got.length === expected.length && sha256(got) === sha256(expected);
}

export interface Fixture {
  /** Served root. */
  root: string;
  /** Scratch space outside the root (downloads, escape targets). */
  outside: string;
  files: Map<string, Buffer>;
  add(name: string, data: Buffer): Buffer;
  out(name: string): string;
  cleanup(): void;
}

export function fixture(prefix: string): Fixture {
  const base = mkdtempSync(path.join(os.tmpdir(), prefix));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  const files = new Map<string, Buffer>();
  for (const dir of [root, outside]) mkdirSync(dir);
  return {
    root,
    outside,
    files,
    add(name, data) {
      writeFileSync(path.join(root, name), data);
      files.set(name, data);
      return data;
    },
    out: (name) => path.join(outside, name),
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

/** Unseeded on purpose: every download is compared with the bytes written, whatever they are. */
export const random = (size: number): Buffer => randomBytes(size);

export interface Recorder {
  starts: TransferStartInfo[];
  ends: TransferEndInfo[];
  refusals: RefusalInfo[];
  /** Resolves with the next onTransferStart for `file`. */
  nextStart(file: string, timeoutMs?: number): Promise<TransferStartInfo>;
}

export interface Running {
  server: TftpServer;
  port: number;
  events: Recorder;
  stop(): Promise<void>;
}

export const SERVER_DEFAULTS = { host: '127.0.0.1', port: 0, maxBlockSize: 1468, maxWindowSize: 64, timeoutMs: 1000, retries: 5, maxTransfers: 32 } as const;

export async function startServer(root: string, overrides: Partial<TftpServerOptions> = {}): Promise<Running> {
  const waiting: { file: string; resolve: (info: TransferStartInfo) => void }[] = [];
  const events: Recorder = {
    starts: [],
    ends: [],
    refusals: [],
    nextStart(file, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no transfer of ${file} started within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          file,
          resolve: (info) => {
            clearTimeout(timer);
            resolve(info);
          },
        });
      });
    },
  };
  const server = new TftpServer({
    ...SERVER_DEFAULTS,
    root,
    ...overrides,
    observer: {
      onTransferStart: (info) => {
        events.starts.push(info);
        const index = waiting.findIndex((w) => w.file === info.file);
        if (index !== -1) waiting.splice(index, 1)[0]?.resolve(info);
      },
      onTransferEnd: (info) => events.ends.push(info),
      onRefused: (info) => events.refusals.push(info),
    },
  });
  await server.start();
  return { server, port: server.address().port, events, stop: () => server.stop() };
}

/** Polls until `condition` holds; throws after `timeoutMs`. For effects the server applies a moment later. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
