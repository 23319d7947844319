import { appendFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

// CSI sequences (colours, cursor moves) and charset selections, as firmware prints them.
const ESCAPE_SEQUENCE = new RegExp(`${String.fromCharCode(27)}(\\[[0-9;?]*[A-Za-z]|[()][A-Z0-9])`, 'g');

export interface ConsoleLine {
  at: number;
  /** Which power-on of the VM printed it (one QEMU process each: 0, 1, …). */
  run: number;
  text: string;
}

/**
 * The VM's serial port, caught on a unix socket QEMU connects to each time it starts. Every line
 * is stamped when it arrives and appended to `logFile`, the console log kept with the artefacts.
 */
export class SerialConsole {
  readonly lines: ConsoleLine[] = [];
  /** When each QEMU process connected: the moment its firmware starts. */
  readonly runs: number[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly path: string,
    private readonly logFile: string,
  ) {
    this.server = createServer((socket) => this.attach(socket));
  }

  static async listen(path: string, logFile: string): Promise<SerialConsole> {
    rmSync(path, { force: true });
    const console = new SerialConsole(path, logFile);
    await new Promise<void>((resolve, reject) => {
      console.server.once('error', reject);
      console.server.listen(path, () => resolve());
    });
    return console;
  }

  private attach(socket: Socket): void {
    const run = this.runs.length;
    this.runs.push(Date.now());
    this.sockets.add(socket);
    appendFileSync(this.logFile, `\n===== ${new Date().toISOString()} power-on ${run} =====\n`);
    let partial = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const text = partial + chunk;
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const raw of parts) this.push(run, raw);
    });
    socket.on('close', () => {
      if (partial !== '') this.push(run, partial);
      this.sockets.delete(socket);
    });
    socket.on('error', () => undefined);
    this.wake();
  }

  private push(run: number, raw: string): void {
    // Firmware paints with escape sequences; the timeline wants the words.
    const text = raw.replace(ESCAPE_SEQUENCE, '').replace(/\r/g, '').trimEnd();
    const at = Date.now();
    this.lines.push({ at, run, text });
    appendFileSync(this.logFile, `${new Date(at).toISOString()} ${text}\n`);
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** The first line after index `from` matching; rejects after timeoutMs with the console's tail. */
  waitForLine(match: RegExp, timeoutMs: number, from = 0): Promise<ConsoleLine> {
    return new Promise((resolve, reject) => {
      let checked = from;
      const check = () => {
        for (; checked < this.lines.length; checked++) {
          const line = this.lines[checked];
          if (line && match.test(line.text)) return finish(() => resolve(line));
        }
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`the serial console printed no line matching ${match} within ${timeoutMs} ms\n${this.tail()}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** First line matching within a run, or undefined. */
  find(run: number, match: RegExp): ConsoleLine | undefined {
    return this.lines.find((l) => l.run === run && match.test(l.text));
  }

  tail(count = 30): string {
    return this.lines
      .slice(-count)
      .map((l) => `${new Date(l.at).toISOString()} [${l.run}] ${l.text}`)
      .join('\n');
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
