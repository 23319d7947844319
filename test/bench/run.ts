import { runBmcFleetBench } from './bmc-fleet.js';
import { interrupted } from './bounded.js';
import { runHostsApiBench } from './hosts-api-bench.js';
import { runIpxeRenderBench } from './ipxe-render.js';
import { runLifecycleBench } from './lifecycle.js';
import { runProxyDhcpBench } from './proxydhcp.js';
import { runShimBench } from './shim-reconcile.js';
import { parseOptions } from './standalone.js';
import { printSummary, say, type BenchOptions, type BenchSummary } from './summary.js';
import { runTftpSummary } from './tftp-summary.js';

interface Bench {
  name: string;
  run: (options: BenchOptions) => Promise<BenchSummary>;
}

// One after the other, never together: each wants the machine's cores to itself.
const BENCHES: Bench[] = [
  { name: 'hosts API', run: runHostsApiBench },
  { name: 'proxyDHCP', run: runProxyDhcpBench },
  { name: 'iPXE render', run: runIpxeRenderBench },
  { name: 'TFTP', run: runTftpSummary },
  { name: 'BMC fleet', run: runBmcFleetBench },
  { name: 'lifecycle', run: runLifecycleBench },
  { name: 'shim reconcile', run: runShimBench },
];

async function main(): Promise<number> {
  const options = parseOptions('node --import tsx test/bench/run.ts');
  if (!options) return 2;
  const timings: number[] = [];
  const summaries: BenchSummary[] = [];
  for (const bench of BENCHES) {
    const signal = interrupted();
    if (signal) {
      say(`\n${signal}: ${bench.name} and the benchmarks after it not run`);
      break;
    }
    const started = performance.now();
    summaries.push(await bench.run(options));
    timings.push((performance.now() - started) / 1000);
  }

  say(`\n==== results (${options.short ? 'short' : 'full'} mode) ====`);
  for (const summary of summaries) printSummary(summary);
  say('\n==== summary ====');
  summaries.forEach((summary, i) => say(`${summary.ok ? 'ok    ' : 'FAILED'}  ${summary.name} (${(timings[i] ?? 0).toFixed(0)} s) -> ${summary.outputFile}`));
  const ok = summaries.length === BENCHES.length && summaries.every((s) => s.ok);
  if (!ok) process.stderr.write('bench: a benchmark failed or did not run; see above\n');
  return ok ? 0 : 1;
}

// Exit explicitly: keep-alive sockets or a stopped load run must not hold the benchmark open.
process.exit(await main());
