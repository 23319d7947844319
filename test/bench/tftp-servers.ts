// The two servers the TFTP benchmark compares, on 127.0.0.1: ours in this process, and Debian's
// tftpd-hpa (in.tftpd) as a child in foreground listen mode, stopped by its PID.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { TftpServer } from '../../bootserver/tftp/server.js';
import { TFTP_DEFAULTS } from '../../bootserver/tftp/types.js';
import { encodeRequest } from '../../bootserver/tftp/packet.js';

export const IN_TFTPD = '/usr/sbin/in.tftpd';
export const TASKSET = '/usr/bin/taskset';

export interface BenchServer {
  name: string;
  port: number;
  /** The process whose CPU affinity the bench sets: the bench itself for ours, in.tftpd's listener (its children inherit it). */
  pid: number;
  /** How it was started, for the report. */
  describe: string;
  stop(): Promise<void>;
}

export async function startOurs(root: string): Promise<BenchServer> {
  const settings = { ...TFTP_DEFAULTS, host: '127.0.0.1', port: 0, root };
  const server = new TftpServer(settings);
  await server.start();
  const { port } = server.address();
  const { root: _root, ...shown } = settings;
  return { name: 'beskar7', port, pid: process.pid, describe: `TftpServer in the bench process ${JSON.stringify(shown)}`, stop: () => server.stop() };
}

/** A port free right now: bound and released. A race with another process is possible but harmless here (start fails loudly). */
async function freePort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** Resolves once the server at `port` answers an RRQ (with anything), or rejects after `timeoutMs`. */
export async function waitForTftp(port: number, timeoutMs: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    const answered = new Promise<void>((resolve) => socket.once('message', () => resolve()));
    const deadline = performance.now() + timeoutMs;
    const probe = encodeRequest('rrq', 'beskar7-bench-probe-no-such-file', 'octet');
    for (;;) {
      socket.send(probe, port, '127.0.0.1');
      const done = await Promise.race([answered.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 100))]);
      if (done) return;
      if (performance.now() > deadline) throw new Error(`no TFTP answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
    }
  } finally {
    socket.close();
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * in.tftpd -L (foreground listener) -a 127.0.0.1:port -s root: chroot to the root, as Debian's
 * service does. It forks one child per request, which exits when its transfer ends.
 */
export async function startTftpdHpa(root: string): Promise<BenchServer> {
  const port = await freePort();
  const args = ['-L', '-a', `127.0.0.1:${port}`, '-s', root];
  const child = spawn(IN_TFTPD, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawned) throw new Error(`cannot start ${IN_TFTPD}: ${spawned.message}`);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited(child);
    clearTimeout(timer);
  };
  try {
    await Promise.race([
      waitForTftp(port, 5000),
      exited(child).then(() => {
        throw new Error(`${IN_TFTPD} exited at start (code ${child.exitCode}): ${stderr.trim()}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { name: 'tftpd-hpa', port, pid: child.pid ?? -1, describe: `pid ${child.pid ?? '?'}: ${IN_TFTPD} ${args.join(' ')}`, stop };
}

/** Pins every thread of `pid` to `cpus` (a taskset list such as "0" or "0-1"); new children inherit it. */
export function pin(pid: number, cpus: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(TASKSET, ['-a', '-p', '-c', cpus, String(pid)], { timeout: 5000 }, (error, _stdout, stderr) => (error ? reject(new Error(`taskset ${cpus} ${pid}: ${stderr.trim() || error.message}`)) : resolve()));
  });
}

/** The CPU list `pid` may run on now, as taskset prints it ("0,1", "0-3"), to restore after pinning. */
export function affinity(pid: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(TASKSET, ['-c', '-p', String(pid)], { timeout: 5000, encoding: 'utf8' }, (error, stdout) => {
      const list = /affinity list:\s*(\S+)/.exec(stdout)?.[1];
      if (error || !list) reject(new Error(`taskset -c -p ${pid}: ${error?.message ?? stdout}`));
      else resolve(list);
    });
  });
}

/** Expands a taskset CPU list ("0,2-4") into CPU numbers. */
export function cpuList(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [from, to] = part.split('-').map(Number);
    if (from === undefined || !Number.isInteger(from)) return [];
    const last = to !== undefined && Number.isInteger(to) ? to : from;
    return Array.from({ length: last - from + 1 }, (_, i) => from + i);
  });
}
