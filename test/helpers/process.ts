import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'daemon', 'cli', 'main.js');

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does it)`);
}

export interface DaemonProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** The admin token when this start created it, else ''. */
  token: string;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `beskar7 daemon` as its own process and resolves once it logged "ready". */
export async function spawnDaemon(dataDir: string, extraArgs: string[] = [], timeoutMs = 20_000): Promise<DaemonProcess> {
  assertBuilt();
  // UDP boot servers off unless a test (inside its own network namespace) turns them on:
  // tests run as root here and would otherwise bind the machine's real ports 67 and 69.
  const args = ['daemon', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', '--set', 'dhcp.enabled=false', '--set', 'tftp.enabled=false', ...extraArgs];
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon not ready after ${timeoutMs} ms\nstdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('')}`)), timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout.push(line);
      if (line.includes('"beskar7 daemon ready"')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { address: { port: number } }).address.port);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (${code ?? signal}) before ready\nstderr:\n${stderr.join('')}`));
    });
  });
  const port = await ready;
  const token = /b7_[a-f0-9]{16}_[A-Za-z0-9_-]{43}/.exec(stderr.join(''))?.[0] ?? '';
  return { child, pid: child.pid ?? -1, url: `http://127.0.0.1:${port}`, token, stdout, stderr, exited };
}

/** Stops a daemon we started, by its PID: SIGTERM, then SIGKILL if it does not exit in time. */
export async function stopDaemon(daemon: DaemonProcess, timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) return daemon.exited;
  daemon.child.kill('SIGTERM');
  const timer = setTimeout(() => daemon.child.kill('SIGKILL'), timeoutMs);
  const result = await daemon.exited;
  clearTimeout(timer);
  return result;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI binary; env is exactly what is given (plus PATH), so no developer setting leaks in. */
export function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}
