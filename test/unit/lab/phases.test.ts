import { describe, expect, it } from 'vitest';
import { formatPhases, phasesOf } from '../../e2e/lab/phases.js';
import type { Timeline } from '../../e2e/lab/timeline.js';

// The e2e test's phase cutter on a hand-made timeline: each milestone 1 s (or as noted) after the
// last, so every phase's length is known.

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (s: number) => T0 + s * 1000;
const iso = (s: number) => new Date(at(s)).toISOString();
const MAC = '52:54:00:b7:e2:01';
const http = (endS: number, ms: number, url: string, method = 'GET') => ({ msg: 'http request', time: iso(endS), url, method, ms });

function timeline(firmware: 'bios' | 'uefi'): Timeline {
  const uefi = firmware === 'uefi';
  // UEFI adds TFTP (1 s), iPXE start (2 s) and a second DHCP (1 s): 4 s later from the script on.
  const d = uefi ? 4 : 0;
  return {
    label: `${firmware} test`,
    mac: MAC,
    firmware,
    vmStartedAt: at(2),
    events: [
      { at: at(0), type: 'Created', message: '', data: {} },
      { at: at(12 + d), type: 'Booted', message: '', data: { source: 'ramdisk' } },
      { at: at(15 + d), type: 'Booted', message: '', data: { source: 'os' } },
    ],
    daemonLog: [
      { msg: 'proxyDHCP offer sent', time: iso(5), mac: MAC, ipxe: !uefi },
      { msg: 'proxyDHCP offer sent', time: iso(5), mac: 'aa:bb:cc:dd:ee:ff', ipxe: true },
      ...(uefi
        ? [
            { msg: 'TFTP transfer failed', time: iso(6.001), ms: 1 },
            { msg: 'TFTP transfer done', time: iso(7), ms: 900 },
            { msg: 'proxyDHCP offer sent', time: iso(9), mac: MAC, ipxe: true },
          ]
        : []),
      http(6 + d + 0.5, 500, `/ipxe/${encodeURIComponent(MAC)}`),
      http(6.8 + d, 100, '/boot-assets/inspector/vmlinuz'),
      http(7 + d, 100, '/boot-assets/inspector/initramfs.gz'),
      http(10 + d, 10, '/api/v1/inspection/default/vm', 'POST'),
      http(11 + d - 0.5 + 0.25, 250, '/boot-assets/target/vmlinuz'),
      http(11 + d, 250, '/boot-assets/target/initrd.gz'),
    ],
    siteDhcp: [],
    bmc: [{ at: at(1), text: '10.77.0.1 - - [x] "POST /redfish/v1/Systems/x/Actions/ComputerSystem.Reset HTTP/1.1" 204 -' }],
    console: [
      { at: at(9 + d), text: 'beskar7-init: modules loaded: virtio_net' },
      { at: at(14 + d), text: 'beskar7-init: modules loaded: virtio_net' },
    ],
  };
}

describe('phasesOf', () => {
  it('cuts a SeaBIOS run into contiguous phases and sums the overhead', () => {
    const report = phasesOf(timeline('bios'));
    expect(report.phases.map((p) => [p.name, p.owner, p.ms])).toEqual([
      ['claim, validate stored report, arm boot', 'beskar7', 1000],
      ['BMC: boot override, power on', 'bmc', 1000],
      ['firmware (POST, NIC ROM)', 'firmware', 3000],
      ['DHCP + proxyDHCP', 'dhcp', 1000],
      ['iPXE script', 'beskar7', 500],
      ['download ramdisk (HTTP)', 'download', 500],
      ['kernel boot + drivers (ramdisk)', 'kernel', 2000],
      ['inspection: DHCP, report', 'beskar7', 1000],
      ['validate, answer kexec', 'beskar7', 500],
      ['download target (HTTP)', 'download', 500],
      ['verify sha256, kexec load, booted', 'beskar7', 1000],
      ['kexec + kernel boot + drivers (target)', 'kernel', 2000],
      ['target OS: DHCP, user-data, booted', 'os', 1000],
    ]);
    expect(report.totalMs).toBe(15_000);
    expect(report.phases.reduce((sum, p) => sum + p.ms, 0)).toBe(report.totalMs);
    expect(report.beskar7Ms).toBe(4000);
    expect(report.overheadMs).toBe(5000);
    expect(report.overheadShare).toBeCloseTo(1 / 3);
    expect(formatPhases(report)).toContain('5.00 s = 33.3% (goal < 10%)');
  });

  it('adds the firmware PXE, TFTP and iPXE start of a UEFI run', () => {
    const report = phasesOf(timeline('uefi'));
    const byName = new Map(report.phases.map((p) => [p.name, p.ms]));
    expect(byName.get('DHCP + proxyDHCP (firmware PXE)')).toBe(1000);
    expect(byName.get('TFTP snponly.efi')).toBe(1000);
    expect(byName.get('iPXE start')).toBe(2000);
    expect(byName.get('DHCP + proxyDHCP (iPXE)')).toBe(1000);
    expect(report.totalMs).toBe(19_000);
    expect(report.phases.reduce((sum, p) => sum + p.ms, 0)).toBe(report.totalMs);
  });

  it('names a missing milestone instead of reporting a zero', () => {
    const broken = timeline('bios');
    broken.console = [];
    expect(() => phasesOf(broken)).toThrow(/bios test: no ramdisk "modules loaded" console line/);
  });
});
