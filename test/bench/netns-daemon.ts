import { inNamespace, startChild, type Child } from '../helpers/child.js';
import { cleanEnv } from './daemon-process.js';
import { nsHttp } from '../helpers/ns-http.js';

const TOKEN = /b7_[a-f0-9]{16}_[A-Za-z0-9_-]{43}/;
const POLL_MS = 100;

export interface NsDaemonOptions {
  namespace: string;
  mainJs: string;
  dataDir: string;
  address: string;
  port: number;
  /** Passed as --set key=value, in this order. */
  settings: Record<string, string>;
  startTimeoutMs: number;
  signal: AbortSignal;
}

export interface NsDaemon {
  child: Child;
  /** Printed on the first start of a data dir only; '' on later starts. */
  token: string;
  baseUrl: string;
  /** The daemon's arguments, for the report. */
  args: string[];
}

/**
 * The real daemon inside a namespace, as the system tests start it. At log.level=warn it
 * never logs "ready", so readiness is /readyz answering 200; the first start's admin token
 * is printed before the HTTP listener opens, so by then it is on stderr.
 */
export async function startDaemonInNs(options: NsDaemonOptions): Promise<NsDaemon> {
  const { namespace, signal } = options;
  const sets = Object.entries(options.settings).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
  const args = ['daemon', '--data-dir', options.dataDir, '--host', options.address, '--port', String(options.port), ...sets];
  const child = startChild('daemon', inNamespace(namespace, [process.execPath, options.mainJs, ...args]), { env: cleanEnv(), signal });
  const baseUrl = `http://${options.address}:${options.port}`;
  try {
    const deadline = Date.now() + options.startTimeoutMs;
    while (true) {
      signal.throwIfAborted();
      const exit = child.exit();
      if (exit) throw new Error(`daemon exited during start (code ${exit.code}, signal ${exit.signal})\n${child.tail()}`);
      if (Date.now() > deadline) throw new Error(`daemon not ready after ${options.startTimeoutMs} ms\n${child.tail()}`);
      if ((await nsHttp(namespace, `${baseUrl}/readyz`, { timeoutMs: 2000, signal })).status === 200) {
        return { child, token: TOKEN.exec(child.output().stderr)?.[0] ?? '', baseUrl, args };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (error) {
    await child.stop(5000);
    throw error;
  }
}
