import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';

const TAIL_CHARS = 4096;

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopOutcome extends ChildExit {
  /** True when SIGTERM was not enough within the timeout and SIGKILL was sent. */
  killed: boolean;
  ms: number;
}

/** SIGTERM, then SIGKILL if the process has not exited within `timeoutMs`: ours only, by PID. */
export async function stopChild(child: ChildProcess, exited: Promise<ChildExit>, exitedNow: () => ChildExit | undefined, timeoutMs: number): Promise<StopOutcome> {
  const started = Date.now();
  const already = exitedNow();
  if (already) return { ...already, killed: false, ms: 0 };
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first !== 'timeout') return { ...first, killed: false, ms: Date.now() - started };
  child.kill('SIGKILL');
  return { ...(await exited), killed: true, ms: Date.now() - started };
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  exit(): ChildExit | undefined;
  /** All of stdout when started with keepStdout, else its tail; stderr's tail. */
  output(): { stdout: string; stderr: string };
  tail(): string;
  /** SIGTERM to this PID only, SIGKILL after timeoutMs. */
  stop(timeoutMs: number): Promise<StopOutcome>;
}

export interface ChildOptions {
  /** Keep all of stdout rather than its tail (perfdhcp prints one line per exchange). */
  keepStdout?: boolean;
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Refuses to start once aborted, so no process outlives a cleanup that already ran. */
  signal?: AbortSignal;
}

/**
 * `ip netns exec` switches namespace and then execs the command without forking, so the
 * PID we get is the command's own: stopping it never touches anything we did not start.
 */
export const inNamespace = (ns: string, command: readonly string[]): string[] => ['ip', 'netns', 'exec', ns, ...command];

const keepTail = (text: string): string => (text.length > TAIL_CHARS ? text.slice(-TAIL_CHARS) : text);

export function startChild(name: string, command: readonly string[], options: ChildOptions = {}): Child {
  options.signal?.throwIfAborted();
  const [file, ...args] = command;
  if (!file) throw new Error(`${name}: empty command`);
  const child = spawn(file, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], cwd: options.cwd, env: options.env });
  const { stdout, stderr, stdin } = child;
  if (child.pid === undefined || !stdout || !stderr) {
    child.kill('SIGKILL');
    throw new Error(`${name}: could not spawn ${file}`);
  }
  const pid = child.pid;
  // A failed write to a child that already exited must not become an uncaught error.
  stdin?.on('error', () => undefined);
  stdin?.end(options.input);

  let exited: ChildExit | undefined;
  const exitedPromise = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  child.once('error', () => undefined);

  const outChunks: string[] = [];
  let outTail = '';
  let errTail = '';
  stdout.setEncoding('utf8');
  stderr.setEncoding('utf8');
  // Always drained: a full pipe would stall the child and skew its numbers.
  stdout.on('data', (chunk: string) => {
    if (options.keepStdout) outChunks.push(chunk);
    else outTail = keepTail(outTail + chunk);
  });
  stderr.on('data', (chunk: string) => (errTail = keepTail(errTail + chunk)));

  const output = () => ({ stdout: options.keepStdout ? outChunks.join('') : outTail, stderr: errTail });
  const tail = () => `--- ${name} stdout (tail) ---\n${keepTail(output().stdout)}\n--- ${name} stderr (tail) ---\n${errTail}`;

  const stop = (timeoutMs: number): Promise<StopOutcome> => stopChild(child, exitedPromise, () => exited, timeoutMs);

  return { name, pid, exited: exitedPromise, exit: () => exited, output, tail, stop };
}

export interface Completed {
  exit: ChildExit;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions extends ChildOptions {
  timeoutMs: number;
  /** Called once the process runs, e.g. to watch it through /proc. */
  onStart?: (child: Child) => void;
}

/** Runs a command to its end, killing it (by PID) when it overruns timeoutMs or the signal aborts. */
export async function runChild(name: string, command: readonly string[], options: RunOptions): Promise<Completed> {
  const child = startChild(name, command, options);
  options.onStart?.(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void child.stop(2000);
  }, options.timeoutMs);
  const onAbort = () => void child.stop(2000);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await child.exited;
    options.signal?.throwIfAborted();
    return { exit, ...child.output(), timedOut };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The index-th complete JSON line of a child's stdout (started with keepStdout), once it is there;
 * `label` names the child in errors ("the emulator", "the fleet").
 */
export async function jsonLineOf(child: Child, index: number, timeoutMs: number, what: string, signal: AbortSignal, label: string): Promise<unknown> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    signal.throwIfAborted();
    const lines = child.output().stdout.split('\n');
    // The last element is the unfinished line (or '' after a newline).
    const line = lines.length - 1 > index ? lines[index] : undefined;
    if (line !== undefined) return JSON.parse(line);
    const exit = child.exit();
    if (exit) throw new Error(`${label} exited (code ${exit.code}, signal ${exit.signal}) before ${what}\n${child.tail()}`);
    if (Date.now() > until) throw new Error(`${label} did not print ${what} within ${timeoutMs} ms\n${child.tail()}`);
    await sleep(25);
  }
}
