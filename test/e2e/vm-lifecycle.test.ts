import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventView } from '../../daemon/core/schemas/event.js';
import type { HostView } from '../../daemon/core/schemas/host.js';
import type { InspectionReport } from '../../daemon/core/schemas/ramdisk.js';
import type { MachineView } from '../../daemon/core/schemas/machine.js';
import { formatPhases, phasesOf } from './lab/phases.js';
import { collectTimeline, type Timeline } from './lab/timeline.js';
import { startVmLab, type VmLab } from './lab/vm-lab.js';

// One real VM per firmware, booted under QEMU TCG by libvirt, powered by sushy-tools, through the
// whole lifecycle: enroll → inspect → provision by kexec → the target says booted → deprovision
// → provision again. Every step has a hard deadline; everything the lab started is stopped by
// PID and the namespaces removed, pass or fail. Logs and serial consoles stay in test-output/e2e/.

const RUN_DIR = resolve(import.meta.dirname, '..', '..', 'test-output', 'e2e', new Date().toISOString().replace(/[:.]/g, '-'));
// TCG on a shared 2-core machine: one boot takes 15-25 s alone and doubles under load.
const BOOT_DEADLINE_MS = 300_000;
const controller = new AbortController();
let lab: VmLab | undefined;
const timelines: Timeline[] = [];

beforeAll(async () => {
  mkdirSync(RUN_DIR, { recursive: true });
  lab = await startVmLab(RUN_DIR, controller.signal);
}, 900_000);

afterAll(async () => {
  controller.abort();
  await lab?.stop();
  writeFileSync(join(RUN_DIR, 'timelines.json'), JSON.stringify(timelines, null, 1));
  console.log(`e2e: logs, serial consoles and timelines in ${RUN_DIR}`);
}, 300_000);

const GiB = 1024 ** 3;

describe.each(['bios', 'uefi'] as const)('a %s VM through the lifecycle', (firmware) => {
  it(
    'enrolls, is inspected with its real hardware, is provisioned by kexec into a target that says booted, deprovisioned, and provisioned again',
    async () => {
      const started = lab;
      if (!started) throw new Error('the lab did not start');
      const { daemon, vms, sushy, target } = started;
      const vm = vms[firmware];
      const { spec } = vm;
      const hostName = `vm-${firmware}`;
      const json = async <T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, expected?: number[]): Promise<T> => {
        const answer = await daemon.api<T>(method, path, body);
        if (expected ? !expected.includes(answer.status) : answer.status >= 300) throw new Error(`${method} ${path}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
        return answer.body;
      };
      const onHost = (type: string, extra: (e: EventView) => boolean = () => true) => (e: EventView) => e.kind === 'host' && e.name === hostName && e.type === type && extra(e);
      const hostState = (state: string) => onHost('StateChanged', (e) => e.data.to === state);
      const waitFor = async (match: (e: EventView) => boolean, what: string, after: number) => {
        try {
          return await daemon.untilEvent(match, BOOT_DEADLINE_MS, what, after);
        } catch (error) {
          throw new Error(`${firmware}: ${(error as Error).message}\n--- serial console (tail) ---\n${vm.console.tail()}\n--- artefacts: ${RUN_DIR}`, { cause: error });
        }
      };

      // 1. Register with the sushy-tools address: enrollment, then inspection on enrollment.
      let mark = daemon.mark();
      await json('POST', '/api/v1/hosts', {
        name: hostName,
        labels: { firmware },
        redfishConnection: { address: sushy.url, systemId: spec.uuid, username: sushy.username, password: sushy.password },
        bootMACAddresses: [spec.mac],
      });
      const enrolled = await waitFor(onHost('Enrolled'), 'Enrolled', mark);
      expect(enrolled.message).toMatch(/^enrolled: /);
      const inspected = await waitFor(onHost('InspectionReported'), 'InspectionReported', mark);
      await waitFor(hostState('Available'), 'Available after inspection', mark);
      const inspectionConsole = vm.console.runs.length - 1;

      // 2. The report is this VM's real hardware.
      const host = await json<HostView>('GET', `/api/v1/hosts/default/${hostName}`);
      expect(host.status.inspectionPhase).toBe('Complete');
      const report = host.status.inspectionReport as InspectionReport;
      expect(report.bootMACAddress).toBe(spec.mac);
      expect(report.cpus).toMatchObject({ count: 1, cores: spec.vcpus, threads: spec.vcpus, architecture: 'x86_64' });
      // MemTotal is RAM less what firmware and kernel keep: within 10 % below, never above.
      expect(report.memory.totalBytes).toBeLessThanOrEqual(spec.memoryMiB * 1024 * 1024);
      expect(report.memory.totalBytes).toBeGreaterThan(spec.memoryMiB * 1024 * 1024 * 0.9);
      expect(report.memory.totalGB).toBe(Math.round(spec.memoryMiB / 1024));
      expect(report.disks).toEqual([expect.objectContaining({ device: '/dev/vda', sizeBytes: spec.diskBytes, sizeGB: spec.diskBytes / GiB })]);
      expect(report.nics).toEqual([expect.objectContaining({ macAddress: spec.mac, linkStatus: 'up', driver: 'virtio_net' })]);
      expect(report.system).toMatchObject({ manufacturer: spec.manufacturer, model: spec.product, serialNumber: spec.serial });
      expect(inspected.data.bootMACAddress).toBe(spec.mac);
      // The inspection booted the ramdisk and powered off: the VM is off again.
      expect(vm.console.find(inspectionConsole, new RegExp(`beskar7-init: network: eth0 ${spec.address.replaceAll('.', '\\.')}/24`))).toBeDefined();

      // 3. Provision by kexec into the target; the target fetches its user-data and says booted.
      const provision = async (machineName: string) => {
        const before = daemon.mark();
        const consoleRun = vm.console.runs.length;
        const marker = `hello-from-${machineName}`;
        await json('POST', '/api/v1/machines', {
          name: machineName,
          hostSelector: { matchLabels: { firmware } },
          hardwareRequirements: { minCPUCores: spec.vcpus, minMemoryGB: 1, minDiskGB: spec.diskBytes / GiB, architecture: 'x86_64' },
          image: {
            mode: 'kexec',
            kernel: { url: target.kernelUrl, sha256: target.kernelSha256 },
            initrd: { url: target.initrdUrl, sha256: target.initrdSha256 },
            cmdline: 'console=ttyS0,115200',
          },
          bootstrapData: `#cloud-config\nruncmd: [echo ${marker}]\n`,
        });
        await waitFor(hostState('Provisioned'), 'Provisioned', before);
        const osBooted = await waitFor(onHost('Booted', (e) => e.data.source === 'os'), 'booted from the target OS', before);
        const machine = await json<MachineView>('GET', `/api/v1/machines/default/${machineName}`);
        expect(machine.status.phase).toBe('Provisioned');
        expect(machine.status.host).toMatchObject({ name: hostName });
        const address = (machine.status.addresses as { type: string; address: string }[]).find((a) => a.type === 'InternalIP')?.address ?? '';
        expect(address).toBe(spec.address);
        // The target is the kexec'd kernel of the same power-on (no reset since the ramdisk).
        expect(vm.console.runs.length - 1).toBe(consoleRun);
        expect(vm.console.find(consoleRun, /beskar7-target: target OS up/)).toBeDefined();
        expect(vm.console.find(consoleRun, new RegExp(`beskar7-target: user-data: #cloud-config runcmd: \\[echo ${marker}\\]`))).toBeDefined();
        expect(vm.console.find(consoleRun, new RegExp(`beskar7-target: meta-data: .*provider-id: beskar7://default/${hostName}`))).toBeDefined();
        expect(machine.status.providerID).toBe(`beskar7://default/${hostName}`);
        expect(vm.console.find(consoleRun, /beskar7-target: booted reported/)).toBeDefined();
        const timeline = collectTimeline({ lab: started, vm, label: `${firmware} ${machineName}`, consoleRun, fromEvent: before, until: osBooted });
        timelines.push(timeline);
        console.log(`e2e: ${formatPhases(phasesOf(timeline))}`);
      };
      await provision(`m-${firmware}-1`);

      // 4. Deprovision: a graceful power-off the target OS obeys, then back to Available.
      mark = daemon.mark();
      await json('DELETE', `/api/v1/machines/default/m-${firmware}-1`, undefined, [202, 204]);
      await waitFor(hostState('Deprovisioning'), 'Deprovisioning', mark);
      await waitFor(hostState('Available'), 'Available after deprovisioning', mark);
      expect(vm.console.lines.some((l) => l.text.includes('beskar7-target: power button: powering off'))).toBe(true);
      expect((await json<HostView>('GET', `/api/v1/hosts/default/${hostName}`)).status.powerState).toBe('Off');

      // 5. And again, on the same host.
      await provision(`m-${firmware}-2`);
      mark = daemon.mark();
      await json('DELETE', `/api/v1/machines/default/m-${firmware}-2`, undefined, [202, 204]);
      await waitFor(hostState('Available'), 'Available after the second deprovisioning', mark);
    },
    1_800_000,
  );
});
