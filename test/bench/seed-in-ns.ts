import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { inNamespace, runChild } from '../helpers/child.js';
import { seedHosts, type SeedResult } from './seed.js';
import { isMain } from './standalone.js';
import { ROOT } from './summary.js';

interface SeedRequest {
  baseUrl: string;
  token: string;
  count: number;
  concurrency: number;
  timeoutMs: number;
}

/**
 * Registers hosts 0..count-1 (seed.ts's names and MACs) through the REST API of a daemon
 * that listens inside a namespace, by running this file there. The token travels on stdin,
 * not the command line, where any process could read it.
 */
export async function seedInNamespace(ns: string, request: SeedRequest, signal: AbortSignal): Promise<SeedResult> {
  const command = inNamespace(ns, [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url)]);
  const done = await runChild('seeding', command, { input: JSON.stringify(request), cwd: ROOT, timeoutMs: request.timeoutMs + 10_000, signal });
  if (done.timedOut || done.exit.code !== 0) throw new Error(`seeding in ${ns} failed (${done.timedOut ? 'timed out' : `exit ${done.exit.code}`}): ${done.stderr.trim().slice(-2000)}`);
  return JSON.parse(done.stdout) as SeedResult;
}

async function main(): Promise<void> {
  const request = JSON.parse(await text(process.stdin)) as SeedRequest;
  const result = await seedHosts({ ...request, signal: AbortSignal.timeout(request.timeoutMs) });
  process.stdout.write(JSON.stringify(result));
}

if (isMain(import.meta.url)) await main();
