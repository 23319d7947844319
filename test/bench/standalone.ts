import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { printSummary, type BenchOptions, type BenchSummary } from './summary.js';

/** True when the module at metaUrl is the script node was started with, not an import. */
export function isMain(metaUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(path.resolve(script)).href === metaUrl;
}

export function parseOptions(usage: string): BenchOptions | undefined {
  try {
    const { values } = parseArgs({ options: { short: { type: 'boolean', default: false } }, strict: true, allowPositionals: false });
    return { short: values.short };
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\nusage: ${usage} [--short]\n`);
    return undefined;
  }
}

/** One benchmark run on its own: its tables, then an exit code that says whether it failed. */
export async function runStandalone(usage: string, bench: (options: BenchOptions) => Promise<BenchSummary>): Promise<number> {
  const options = parseOptions(usage);
  if (!options) return 2;
  const summary = await bench(options);
  printSummary(summary);
  return summary.ok ? 0 : 1;
}
