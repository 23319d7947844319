import path from 'node:path';
import { bounded } from './bounded.js';
import { failedRun, ROOT, say, writeJson, type BenchOptions, type BenchSummary } from './summary.js';
import { runTftpBench, type TftpBenchResult } from './tftp.js';

const NAME = 'TFTP downloads vs tftpd-hpa';
const OUTPUT = path.join(ROOT, 'test-output/bench-tftp.json');
// As tftp.ts run alone allows itself.
const LIMIT_SECONDS = { full: 600, short: 180 } as const;

/** runTftpBench in the shape the runner prints and judges, under the same time limit and JSON file as when run alone. */
export async function runTftpSummary(options: BenchOptions): Promise<BenchSummary<TftpBenchResult>> {
  const mode = options.short ? 'short' : 'full';
  say(`\n${NAME} benchmark, ${mode} mode, time limit ${LIMIT_SECONDS[mode]} s`);
  try {
    const result = await bounded(NAME, LIMIT_SECONDS[mode], (signal) => runTftpBench({ short: options.short, log: say, signal }));
    await writeJson(OUTPUT, result);
    const heading = `${NAME} (${result.mode} mode, ${result.machine.cpus} cores: ${result.machine.cpuModel}; ${result.method})`;
    return { name: NAME, ok: result.ok, tables: [`${heading}\n${result.table}`], failures: result.failures, warnings: result.warnings, outputFile: path.relative(ROOT, OUTPUT), results: result };
  } catch (error) {
    return failedRun(NAME, OUTPUT, error);
  }
}
