/**
 * The lifecycle benchmark's world outside the daemon, in a process of its own so the daemon's CPU
 * and memory are measured alone: emulated BMCs, behind each a simulated machine whose firmware
 * and ramdisk make the real HTTP calls to the daemon, and an artefact server for the kexec image.
 *
 *   node --import tsx test/bench/lifecycle-fleet.ts '<FleetSpec JSON>'
 *
 * Prints one JSON line when up (BMC URLs, credentials, artefacts), serves until SIGTERM, and on
 * SIGUSR2 prints what the machines did (boot outcomes, verified kexecs), which only it can see.
 */
import { readFileSync } from 'node:fs';
import { startBmcEmulator } from '../bmc/emulator.js';
import { stopOnSignals } from '../bmc/signals.js';
import { createSimTransport, hardwareProfile, simMac, SimulatedMachine, SimulatedRack, startArtifactServer, type BootOutcome } from '../helpers/ramdisk-sim.js';
import { fleetSpecSchema, type FleetReady, type FleetState } from './lifecycle-protocol.js';

const MAX_PROBLEMS = 10;
// The lab's artefacts (test/helpers/lab.ts): small, so the run measures the daemon, not loopback copies.
const KERNEL = Buffer.from('simulated kernel '.repeat(4096));
const INITRD = Buffer.from('simulated initrd '.repeat(8192));

function fail(message: string): never {
  process.stderr.write(`lifecycle-fleet: ${message}\n`);
  process.exit(2);
}

function openFilesLimit(): string {
  try {
    return /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

let raw: unknown;
try {
  raw = JSON.parse(process.argv[2] ?? '');
} catch {
  fail('the first argument must be the fleet spec as JSON');
}
const parsed = fleetSpecSchema.safeParse(raw);
if (!parsed.success) fail(`bad spec: ${parsed.error.message}`);
const spec = parsed.data;

const artifacts = await startArtifactServer({ vmlinuz: KERNEL, 'initrd.img': INITRD });
// As in the lab: the ramdisk powers the system off 200 ms after it halts (none should here).
const rack = new SimulatedRack({ haltDelayMs: 200 });
// No request log: 10,000 BMCs × 100 entries would be this process's biggest allocation; stats are enough.
const emulator = await startBmcEmulator({ mockup: spec.mockup, count: spec.count, initialPowerState: 'Off', onBoot: rack.onBoot, requestLogSize: 0 });
rack.attach(emulator);

const transport = createSimTransport({ maxSockets: spec.maxSockets });
const profile = hardwareProfile();
for (let i = 0; i < spec.count; i++) {
  // api 'daemon': the script's advertised base URL is this machine's address, not the loopback daemon.
  const machine = new SimulatedMachine({ mac: simMac(i), daemonUrl: spec.daemonUrl, hardware: profile, waitScale: spec.waitScale, giveUpSeconds: 600, api: 'daemon', callLogLimit: 0, transport });
  rack.add(machine, { bmc: i });
}

const outcomes: Record<string, number> = {};
rack.on('outcome', (_mac, outcome) => void (outcomes[outcome.kind] = (outcomes[outcome.kind] ?? 0) + 1));

const first = emulator.bmcs[0];
const ready: FleetReady = {
  kind: 'ready',
  startupMs: emulator.startupMs,
  username: first?.username ?? '',
  password: first?.password ?? '',
  urls: emulator.bmcs.map((b) => b.url),
  kernel: { url: artifacts.url('vmlinuz'), sha256: artifacts.sha256('vmlinuz') },
  initrd: { url: artifacts.url('initrd.img'), sha256: artifacts.sha256('initrd.img') },
  openFilesLimit: openFilesLimit(),
};
process.stdout.write(`${JSON.stringify(ready)}\n`);

function verifiedKexec(outcome: BootOutcome | undefined): boolean {
  return (
    outcome?.kind === 'kexec' &&
    outcome.kernelSha === ready.kernel.sha256 &&
    outcome.initrdSha === ready.initrd.sha256 &&
    outcome.bootedStatus >= 200 &&
    outcome.bootedStatus <= 299 &&
    outcome.cmdline.includes('beskar7.token=')
  );
}

function state(): FleetState {
  const out: FleetState = {
    kind: 'state',
    machines: spec.count,
    outcomes: { ...outcomes },
    kexecVerified: 0,
    otherOutcomes: {},
    notBooted: 0,
    bootedMoreThanOnce: 0,
    boots: 0,
    busy: rack.busy,
    poweredOn: 0,
    bmcRequests: emulator.totals().requests,
    bmcByStatus: {},
    artifactHits: { kernel: artifacts.hits('vmlinuz'), initrd: artifacts.hits('initrd.img') },
    problems: [],
  };
  for (let i = 0; i < spec.count; i++) {
    const mac = simMac(i);
    const boots = rack.bootCount(mac);
    out.boots += boots;
    if (boots > 1) out.bootedMoreThanOnce++;
    const last = rack.outcomes(mac).at(-1);
    if (verifiedKexec(last)) out.kexecVerified++;
    else if (!last) out.notBooted++;
    else {
      const why = last.kind === 'failed' ? `failed ${last.reason}` : last.kind;
      out.otherOutcomes[why] = (out.otherOutcomes[why] ?? 0) + 1;
      if (out.problems.length < MAX_PROBLEMS) out.problems.push(`machine ${i} (${mac}): ${boots} boot(s), last outcome ${JSON.stringify(last).slice(0, 400)}`);
    }
    const bmc = emulator.bmcs[i];
    if (!bmc) continue;
    if (bmc.system().powerState === 'On') out.poweredOn++;
    for (const [status, count] of bmc.stats.byStatus) out.bmcByStatus[status] = (out.bmcByStatus[status] ?? 0) + count;
  }
  return out;
}

process.on('SIGUSR2', () => process.stdout.write(`${JSON.stringify(state())}\n`));
// Machines first (their flows end), then the BMCs and artefacts with stopOnSignals' exit.
process.once('SIGTERM', () => void rack.stop().then(() => artifacts.stop()));
stopOnSignals(emulator);
