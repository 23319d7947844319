import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MAIN_JS = path.join(ROOT, 'dist/daemon/cli/main.js');

export interface BenchOptions {
  short: boolean;
}

/** What every benchmark hands back, so one runner can print and judge them all alike. */
export interface BenchSummary<R = unknown> {
  name: string;
  ok: boolean;
  /** Printed as they are, one after the other. */
  tables: string[];
  /** Requests that failed or a setup that went wrong: these fail the run. */
  failures: string[];
  /** Worth a look, fail nothing: a disturbed machine, a missed goal is not one of these. */
  warnings: string[];
  /** Relative to the repository root. */
  outputFile: string;
  results?: R;
}

export const say = (text: string): void => void process.stdout.write(`${text}\n`);

export async function writeJson(file: string, data: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
}

/** A run that ended in an error: recorded in its JSON file too, so CI keeps the reason. */
export async function failedRun<R>(name: string, file: string, error: unknown): Promise<BenchSummary<R>> {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const failures = [message];
  await writeJson(file, { ok: false, error: message }).catch((e: unknown) => failures.push(`could not write ${path.relative(ROOT, file)}: ${(e as Error).message}`));
  return { name, ok: false, tables: [], failures, warnings: [], outputFile: path.relative(ROOT, file) };
}

export function printSummary(summary: BenchSummary): void {
  say(`\n== ${summary.name}: ${summary.ok ? 'ok' : 'FAILED'}`);
  for (const table of summary.tables) say(`${table}\n`);
  for (const warning of summary.warnings) say(`warning: ${warning}`);
  for (const failure of summary.failures) say(`FAILED: ${failure}`);
  say(`wrote ${summary.outputFile}`);
}
