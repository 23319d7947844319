/**
 * The fleet benchmark's BMCs, in a process of their own so the client's CPU is measured apart
 * from theirs:
 *
 *   node --import tsx test/bench/bmc-fleet-emulator.ts '<EmulatorSpec JSON>'
 *
 * Like test/bmc/cli.ts it prints one JSON line with the BMCs' URLs and serves until SIGTERM;
 * unlike it, it starts every machine powered off with no boot override, and on SIGUSR2 prints
 * what the BMCs saw (boot history, sessions, concurrency), which only this process can see.
 */
import { startBmcEmulator } from '../bmc/emulator.js';
import type { EmulatedBmc } from '../bmc/types.js';
import { emulatorSpecSchema, powerOnDelayFor, type EmulatorReady, type FleetState } from './bmc-fleet-protocol.js';
import { stopOnSignals } from '../bmc/signals.js';

const MAX_PROBLEMS = 10;

function fail(message: string): never {
  process.stderr.write(`bmc-fleet-emulator: ${message}\n`);
  process.exit(2);
}

let raw: unknown;
try {
  raw = JSON.parse(process.argv[2] ?? '');
} catch {
  fail('the first argument must be the emulator spec as JSON');
}
const parsed = emulatorSpecSchema.safeParse(raw);
if (!parsed.success) fail(`bad spec: ${parsed.error.message}`);
const spec = parsed.data;

const emulator = await startBmcEmulator({
  mockup: spec.mockup,
  count: spec.count,
  https: spec.https,
  seed: spec.seed,
  faults: spec.faults,
  initialPowerState: 'Off',
  bmcs: Array.from({ length: spec.count }, (_, i) => ({ faults: { powerOnDelayMs: powerOnDelayFor(i, spec.count, spec.powerOnDelayMs) } })),
});
// The mockups ship an override (rackmount1: Pxe/Once): clear it, so only the client can set one.
for (const bmc of emulator.bmcs) for (const system of bmc.systems) system.setBoot({ target: 'None', enabled: 'Disabled', mode: 'Legacy' });

const first = emulator.bmcs[0];
const ready: EmulatorReady = {
  kind: 'ready',
  startupMs: emulator.startupMs,
  username: first?.username ?? '',
  password: first?.password ?? '',
  caPem: emulator.caPem,
  urls: emulator.bmcs.map((b) => b.url),
};
process.stdout.write(`${JSON.stringify(ready)}\n`);

function problemsOf(bmc: EmulatedBmc): string[] {
  const found: string[] = [];
  const system = bmc.system();
  if (system.powerState !== 'On') found.push(`power ${system.powerState}`);
  const history = system.bootHistory;
  const pxeOnce = history.length === 1 && history[0]?.target === 'Pxe' && history[0].enabled === 'Once' && history[0].mode === 'UEFI';
  if (!pxeOnce) found.push(`boot history ${JSON.stringify(history.map(({ target, enabled, mode }) => ({ target, enabled, mode })))}`);
  if (system.boot.enabled !== 'Disabled') found.push(`override left ${JSON.stringify(system.boot)}`);
  const live = bmc.liveSessions().length;
  if (live > 0) found.push(`${live} live session(s)`);
  if (bmc.stats.maxInFlight > 1) found.push(`${bmc.stats.maxInFlight} requests at once`);
  return found;
}

function state(): FleetState {
  const out: FleetState = {
    kind: 'state',
    bmcs: emulator.bmcs.length,
    poweredOn: 0,
    bootedPxeOnce: 0,
    overrideLeft: 0,
    liveSessions: 0,
    sessionsCreated: 0,
    sessionsDeleted: 0,
    requests: 0,
    byStatus: {},
    injectedErrors: 0,
    maxInFlightPerBmc: 0,
    maxInFlightTotal: emulator.totals().maxInFlight,
    problems: [],
  };
  for (const bmc of emulator.bmcs) {
    const system = bmc.system();
    const stats = bmc.stats;
    if (system.powerState === 'On') out.poweredOn++;
    const [boot, ...more] = system.bootHistory;
    if (boot && more.length === 0 && boot.target === 'Pxe' && boot.enabled === 'Once' && boot.mode === 'UEFI') out.bootedPxeOnce++;
    if (system.boot.enabled !== 'Disabled') out.overrideLeft++;
    out.liveSessions += bmc.liveSessions().length;
    out.sessionsCreated += stats.sessionsCreated;
    out.sessionsDeleted += stats.sessionsDeleted;
    out.requests += stats.requests;
    out.injectedErrors += stats.injectedErrors;
    out.maxInFlightPerBmc = Math.max(out.maxInFlightPerBmc, stats.maxInFlight);
    for (const [status, count] of stats.byStatus) out.byStatus[status] = (out.byStatus[status] ?? 0) + count;
    if (out.problems.length < MAX_PROBLEMS) {
      const problems = problemsOf(bmc);
      if (problems.length > 0) out.problems.push(`bmc[${bmc.index}] ${bmc.url}: ${problems.join('; ')}`);
    }
  }
  return out;
}

process.on('SIGUSR2', () => process.stdout.write(`${JSON.stringify(state())}\n`));
stopOnSignals(emulator);
