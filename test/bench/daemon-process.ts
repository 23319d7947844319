import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { stopChild, type ChildExit, type StopOutcome } from '../helpers/child.js';

const TOKEN = /b7_[a-f0-9]{16}_[A-Za-z0-9_-]{43}/;
const READY_MESSAGE = 'beskar7 daemon ready';
const TAIL_CHARS = 4096;

export type DaemonExit = ChildExit;
export type { StopOutcome };

export interface DaemonProcess {
  pid: number;
  baseUrl: string;
  token: string;
  /** Settings passed on the command line, for the report. */
  args: string[];
  /** Bytes the daemon wrote to stdout (its log) since it became ready. */
  logBytes(): number;
  /** Set once the process has exited, expectedly or not. */
  exit(): DaemonExit | undefined;
  /** Last lines of stdout and stderr, to explain a crash. */
  tail(): string;
  stop(timeoutMs: number): Promise<StopOutcome>;
}

export interface StartOptions {
  mainJs: string;
  dataDir: string;
  startTimeoutMs: number;
  /** Aborting gives up waiting for readiness and stops the child. */
  signal: AbortSignal;
  /** `key=value` settings, each passed as `--set` (log.level must stay at info or below: readiness is an info line). */
  settings?: readonly string[];
  /** Flags for node itself, before the script (e.g. --cpu-prof). */
  nodeFlags?: readonly string[];
  /** Also write the daemon's log (stdout) to this file, to look into a run afterwards. */
  logFile?: string | null;
}

const keepTail = (text: string): string => (text.length > TAIL_CHARS ? text.slice(-TAIL_CHARS) : text);

/** The environment without BESKAR7_* variables, so the daemon runs with its defaults whatever the caller's shell holds. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BESKAR7_')));
}

function readyPort(line: string): number | undefined {
  if (!line.includes(READY_MESSAGE)) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; address?: { port?: unknown } };
    return entry.msg === READY_MESSAGE && typeof entry.address?.port === 'number' ? entry.address.port : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `beskar7 daemon` as a child on 127.0.0.1 and port 0; the port comes from the ready
 * log line, so no other process can take it between choosing and binding.
 */
export async function startDaemon(options: StartOptions): Promise<DaemonProcess> {
  // The UDP boot servers stay off: run as root they would bind this machine's real ports 67 and 69.
  const args = ['daemon', '--data-dir', options.dataDir, '--host', '127.0.0.1', '--port', '0', '--set', 'dhcp.enabled=false', '--set', 'tftp.enabled=false'];
  for (const setting of options.settings ?? []) args.push('--set', setting);
  const nodeFlags = options.nodeFlags ?? [];
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, options.mainJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
  const { stdout, stderr } = child;
  if (child.pid === undefined || !stdout || !stderr) {
    child.kill('SIGKILL');
    throw new Error('could not spawn the daemon');
  }
  const pid = child.pid;

  let exited: DaemonExit | undefined;
  const exitPromise = new Promise<DaemonExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });

  let outTail = '';
  let errTail = '';
  let pending = '';
  let port: number | undefined;
  let token: string | undefined;
  let bytesAfterReady = 0;

  if (options.logFile) stdout.pipe(createWriteStream(options.logFile));
  stdout.setEncoding('utf8');
  stderr.setEncoding('utf8');
  // Always drained: a full pipe would stall the daemon's logger and skew the numbers.
  stdout.on('data', (chunk: string) => {
    outTail = keepTail(outTail + chunk);
    if (port !== undefined) {
      bytesAfterReady += Buffer.byteLength(chunk);
      return;
    }
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) port ??= readyPort(line);
    if (port !== undefined) pending = '';
  });
  stderr.on('data', (chunk: string) => {
    errTail = keepTail(errTail + chunk);
    token ??= TOKEN.exec(errTail)?.[0];
  });

  const tail = () => `--- daemon stdout (tail) ---\n${outTail}\n--- daemon stderr (tail) ---\n${errTail}`;

  const stop = (timeoutMs: number): Promise<StopOutcome> => stopChild(child, exitPromise, () => exited, timeoutMs);

  const deadline = Date.now() + options.startTimeoutMs;
  while (port === undefined || token === undefined) {
    if (exited) throw new Error(`daemon exited during start (code ${exited.code}, signal ${exited.signal})\n${tail()}`);
    if (options.signal.aborted) {
      await stop(5000);
      throw new Error('aborted while the daemon was starting');
    }
    if (Date.now() > deadline) {
      await stop(5000);
      throw new Error(`daemon not ready after ${options.startTimeoutMs} ms (port ${port ?? 'unknown'}, token ${token ? 'seen' : 'not seen'})\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  return {
    pid,
    baseUrl: `http://127.0.0.1:${port}`,
    token,
    args: [...nodeFlags, ...args],
    logBytes: () => bytesAfterReady,
    exit: () => exited,
    tail,
    stop,
  };
}
