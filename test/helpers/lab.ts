import { createHash } from 'node:crypto';
import { dmtfMockup } from '../bmc/data.js';
import { startBmcEmulator } from '../bmc/index.js';
import type { BmcEmulator } from '../bmc/types.js';
import type { EventView } from '../../daemon/core/schemas/event.js';
import type { HostView } from '../../daemon/core/schemas/host.js';
import type { MachineView } from '../../daemon/core/schemas/machine.js';
import { startTestDaemon, type TestDaemon } from './daemon.js';
import { hardwareProfile, simMac, SimulatedMachine, SimulatedRack, startArtifactServer, type HardwareProfile } from './ramdisk-sim.js';

export interface Lab {
  d: TestDaemon;
  emulator: BmcEmulator;
  rack: SimulatedRack;
  machines: SimulatedMachine[];
  artifacts: Awaited<ReturnType<typeof startArtifactServer>>;
  /** A kexec image whose checksums match the artefact server's files. */
  kexecImage: { mode: 'kexec'; kernel: { url: string; sha256: string }; initrd: { url: string; sha256: string }; cmdline: string };
  diskImage: { mode: 'disk'; url: string; sha256: string; format: 'raw' };
  /** The newest event id: pass it to until() to wait for what happens after now. */
  mark(): number;
  until(match: (event: EventView) => boolean, after: number, timeoutMs?: number): Promise<EventView>;
  untilHostState(name: string, state: string, after: number, timeoutMs?: number): Promise<EventView>;
  untilMachinePhase(name: string, phase: string, after: number, timeoutMs?: number): Promise<EventView>;
  registerHost(index: number, extra?: Record<string, unknown>): Promise<HostView>;
  createMachine(name: string, extra?: Record<string, unknown>): Promise<MachineView>;
  host(name: string): Promise<HostView>;
  machine(name: string): Promise<MachineView>;
  stop(): Promise<void>;
}

export const hostName = (i: number): string => `node-${String(i).padStart(3, '0')}`;

/**
 * A rack on loopback: an in-process daemon, one emulated BMC per host, and a simulated machine
 * behind each BMC that network-boots into a simulated ramdisk making the real HTTP calls.
 */
export async function startLab(options: { hosts: number; hardware?: (i: number) => HardwareProfile; overrides?: string[] }): Promise<Lab> {
  const d = await startTestDaemon({
    overrides: ['lifecycle.ramdiskPollSeconds=1', 'redfish.requestTimeoutMs=5000', 'redfish.retryAttempts=2', 'log.level=info', ...(options.overrides ?? [])],
  });
  const rack = new SimulatedRack({ haltDelayMs: 200 });
  const emulator = await startBmcEmulator({ mockup: dmtfMockup('public-rackmount1'), count: options.hosts, initialPowerState: 'Off', onBoot: rack.onBoot });
  rack.attach(emulator);
  const kernel = Buffer.from('simulated kernel '.repeat(4096));
  const initrd = Buffer.from('simulated initrd '.repeat(8192));
  const disk = Buffer.alloc(1024 * 1024, 7);
  const artifacts = await startArtifactServer({ vmlinuz: kernel, 'initrd.img': initrd, 'os.raw': disk });
  const machines = Array.from({ length: options.hosts }, (_, i) => {
    const machine = new SimulatedMachine({ mac: simMac(i), daemonUrl: d.url, hardware: options.hardware?.(i) ?? hardwareProfile(), waitScale: 0.02, giveUpSeconds: 600, api: 'daemon' });
    rack.add(machine, { bmc: i });
    return machine;
  });
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const store = () => {
    const services = d.daemon.services;
    if (!services) throw new Error('daemon not started');
    return services.store;
  };
  const until = (match: (event: EventView) => boolean, after: number, timeoutMs = 60_000) => d.untilEvent((e) => e.id > after && match(e), timeoutMs);
  const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await d.api(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.body as T;
  };
  return {
    d,
    emulator,
    rack,
    machines,
    artifacts,
    kexecImage: { mode: 'kexec', kernel: { url: artifacts.url('vmlinuz'), sha256: sha(kernel) }, initrd: { url: artifacts.url('initrd.img'), sha256: sha(initrd) }, cmdline: 'console=ttyS0' },
    diskImage: { mode: 'disk', url: artifacts.url('os.raw'), sha256: sha(disk), format: 'raw' },
    mark: () => store().latestEventId(),
    until,
    untilHostState: (name, state, after, timeoutMs) => until((e) => e.kind === 'host' && e.name === name && e.type === 'StateChanged' && e.data.to === state, after, timeoutMs),
    untilMachinePhase: (name, phase, after, timeoutMs) => until((e) => e.kind === 'machine' && e.name === name && e.type === 'PhaseChanged' && e.data.to === phase, after, timeoutMs),
    registerHost: (i, extra = {}) => {
      const bmc = emulator.bmcs[i];
      if (!bmc) throw new Error(`no BMC ${i}`);
      return json<HostView>('POST', '/api/v1/hosts', {
        name: hostName(i),
        labels: { rack: 'r1' },
        redfishConnection: { address: bmc.url, username: bmc.username, password: bmc.password },
        bootMACAddresses: [simMac(i)],
        ...extra,
      });
    },
    createMachine: (name, extra = {}) => json<MachineView>('POST', '/api/v1/machines', { name, image: { mode: 'kexec', kernel: { url: artifacts.url('vmlinuz'), sha256: sha(kernel) }, initrd: { url: artifacts.url('initrd.img'), sha256: sha(initrd) } }, ...extra }),
    host: (name) => json<HostView>('GET', `/api/v1/hosts/default/${name}`),
    machine: (name) => json<MachineView>('GET', `/api/v1/machines/default/${name}`),
    async stop() {
      await rack.stop();
      await d.stop();
      await emulator.stop();
      await artifacts.stop();
    },
  };
}
