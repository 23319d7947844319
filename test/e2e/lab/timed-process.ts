import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { stopChild, type ChildExit, type StopOutcome } from '../../helpers/child.js';

/** One line a process printed, stamped when it arrived (the wall clock every lab timeline uses). */
export interface TimedLine {
  at: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface TimedProcess {
  readonly name: string;
  readonly pid: number;
  readonly lines: TimedLine[];
  readonly exited: Promise<ChildExit>;
  exit(): ChildExit | undefined;
  /** The first line after index `from` that matches; rejects on exit or timeout. */
  waitForLine(match: RegExp, timeoutMs: number, from?: number): Promise<TimedLine>;
  tail(count?: number): string;
  /** SIGTERM to this PID only, SIGKILL after timeoutMs. */
  stop(timeoutMs: number): Promise<StopOutcome>;
}

/**
 * A lab process whose every output line is kept with its arrival time and appended to `logFile`
 * (kept with the run's artefacts). Started directly, or as `ip netns exec <ns> …`, which execs
 * without forking, so `pid` is the program's own.
 */
export function startTimedProcess(name: string, command: readonly string[], options: { logFile: string; env?: NodeJS.ProcessEnv; secrets?: string[] }): TimedProcess {
  const [file, ...args] = command;
  if (file === undefined) throw new Error(`${name}: empty command`);
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  if (child.pid === undefined) {
    child.kill('SIGKILL');
    throw new Error(`${name}: could not spawn ${file}`);
  }
  const pid = child.pid;
  child.once('error', () => undefined);
  let exited: ChildExit | undefined;
  const exitedPromise = new Promise<ChildExit>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      appendFileSync(options.logFile, `${new Date().toISOString()} [exit] code ${code} signal ${signal}\n`);
      for (const waiter of [...waiters]) waiter();
      resolve(exited);
    }),
  );
  const lines: TimedLine[] = [];
  const waiters = new Set<() => void>();
  // The artefacts may be shared: secrets on the command line are not written down.
  const shown = (options.secrets ?? []).filter(Boolean).reduce((text, secret) => text.replaceAll(secret, '[redacted]'), command.join(' '));
  appendFileSync(options.logFile, `${new Date().toISOString()} [start] pid ${pid}: ${shown}\n`);
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream] }).on('line', (text) => {
      const line: TimedLine = { at: Date.now(), stream, text };
      lines.push(line);
      appendFileSync(options.logFile, `${new Date(line.at).toISOString()} [${stream}] ${text}\n`);
      for (const waiter of [...waiters]) waiter();
    });
  }

  const tail = (count = 40) => lines.slice(-count).map((l) => `${new Date(l.at).toISOString()} ${l.text}`).join('\n');
  const waitForLine = (match: RegExp, timeoutMs: number, from = 0) =>
    new Promise<TimedLine>((resolve, reject) => {
      let checked = from;
      const check = () => {
        for (; checked < lines.length; checked++) {
          const line = lines[checked];
          if (line && match.test(line.text)) return done(() => resolve(line));
        }
        if (exited) done(() => reject(new Error(`${name} exited (code ${exited?.code}, signal ${exited?.signal}) before printing ${match}\n${tail()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${name} printed no line matching ${match} within ${timeoutMs} ms\n${tail()}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });

  return {
    name,
    pid,
    lines,
    exited: exitedPromise,
    exit: () => exited,
    waitForLine,
    tail,
    stop: (timeoutMs) => stopChild(child, exitedPromise, () => exited, timeoutMs),
  };
}
