import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectionReportSchema, type InspectionReport } from '../../../daemon/core/schemas/ramdisk.js';

// inspector/agent/report.sh against fake /proc and /sys trees (B7_ROOT), under the system's
// /bin/sh (dash on Debian) with its awk, and under busybox sh with only busybox applets on PATH
// (what the ramdisk runs).

const REPORT_SH = resolve(import.meta.dirname, '../../../inspector/agent/report.sh');
const GIB = 2 ** 30;
const scratch = mkdtempSync(join(tmpdir(), 'b7-report-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function which(command: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
}
const BUSYBOX = which('busybox');

/** A directory of busybox applet symlinks: PATH for the busybox runs (no host tool leaks in). */
const busyboxPath = (() => {
  if (BUSYBOX === null) return null;
  const dir = join(scratch, 'busybox-bin');
  mkdirSync(dir);
  for (const applet of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    symlinkSync(BUSYBOX, join(dir, applet));
  }
  return dir;
})();

interface Shell {
  name: string;
  command: string;
  args: string[];
  path: string;
}
const shells: (Shell & { skip: string | null })[] = [
  { name: 'sh', command: 'sh', args: [], path: process.env.PATH ?? '/usr/bin:/bin', skip: null },
  {
    name: BUSYBOX === null ? 'busybox sh (SKIPPED: busybox is not on PATH; install busybox-static to run it)' : 'busybox sh',
    command: BUSYBOX ?? 'busybox',
    args: ['sh'],
    path: busyboxPath ?? '',
    skip: BUSYBOX === null ? 'busybox is not on PATH' : null,
  },
];

// ------------------------------------------------------------------------------------------
// Fake trees.

type Content = string | Buffer;

class Tree {
  readonly root: string;
  constructor(name: string) {
    this.root = join(scratch, name);
    mkdirSync(this.root);
  }
  file(path: string, content: Content): this {
    const full = join(this.root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    return this;
  }
  link(path: string, target: string): this {
    const full = join(this.root, path);
    mkdirSync(dirname(full), { recursive: true });
    symlinkSync(target, full);
    return this;
  }
  dir(path: string): this {
    mkdirSync(join(this.root, path), { recursive: true });
    return this;
  }
  block(name: string, opts: { sectors: number; rotational?: 0 | 1; model?: Content; serial?: Content; blockSerial?: Content; wwid?: Content; vpd80?: Buffer; partitionOf?: string }): this {
    const base = `sys/class/block/${name}`;
    this.file(`${base}/size`, `${opts.sectors}\n`);
    if (opts.partitionOf !== undefined) return this.file(`${base}/partition`, '1\n');
    this.file(`${base}/queue/rotational`, `${opts.rotational ?? 0}\n`);
    if (opts.model !== undefined) this.file(`${base}/device/model`, opts.model);
    if (opts.serial !== undefined) this.file(`${base}/device/serial`, opts.serial);
    if (opts.blockSerial !== undefined) this.file(`${base}/serial`, opts.blockSerial);
    if (opts.wwid !== undefined) this.file(`${base}/wwid`, opts.wwid);
    if (opts.vpd80 !== undefined) this.file(`${base}/device/vpd_pg80`, opts.vpd80);
    return this;
  }
  nic(name: string, opts: { mac: string; operstate: string; carrier?: string; /** A number, or 'unreadable' (reading fails, as for a down link). */ speed?: string; driver?: string; physical?: boolean }): this {
    const base = `sys/class/net/${name}`;
    this.file(`${base}/address`, `${opts.mac}\n`).file(`${base}/operstate`, `${opts.operstate}\n`);
    if (opts.carrier !== undefined) this.file(`${base}/carrier`, `${opts.carrier}\n`);
    if (opts.speed === 'unreadable') this.dir(`${base}/speed`); // reading it fails, as for a down link
    else if (opts.speed !== undefined) this.file(`${base}/speed`, `${opts.speed}\n`);
    if (opts.physical !== false) {
      this.dir(`${base}/device`);
      if (opts.driver !== undefined) this.link(`${base}/device/driver`, `../../../../bus/pci/drivers/${opts.driver}`);
    }
    return this;
  }
  dmi(values: Record<string, Content>): this {
    for (const [key, value] of Object.entries(values)) this.file(`sys/class/dmi/id/${key}`, value);
    return this;
  }
}

function x86Cpuinfo(sockets: number, coresPerSocket: number, threadsPerCore: number): string {
  const blocks: string[] = [];
  let processor = 0;
  for (let thread = 0; thread < threadsPerCore; thread++) {
    for (let socket = 0; socket < sockets; socket++) {
      for (let core = 0; core < coresPerSocket; core++) {
        blocks.push(
          [
            `processor\t: ${processor}`,
            'vendor_id\t: GenuineIntel',
            'cpu family\t: 6',
            'model\t\t: 85',
            'model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz',
            `cpu MHz\t\t: ${processor === 0 ? '2100.000' : '2793.412'}`,
            'cache size\t: 22528 KB',
            `physical id\t: ${socket}`,
            `siblings\t: ${coresPerSocket * threadsPerCore}`,
            `core id\t\t: ${core * 2}`,
            `cpu cores\t: ${coresPerSocket}`,
            'flags\t\t: fpu vme de pse tsc msr',
            '',
          ].join('\n'),
        );
        processor++;
      }
    }
  }
  return `${blocks.join('\n')}\n`;
}

function arm64Cpuinfo(count: number, part: string): string {
  const blocks: string[] = [];
  for (let processor = 0; processor < count; processor++) {
    blocks.push(
      [
        `processor\t: ${processor}`,
        'BogoMIPS\t: 50.00',
        'Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid',
        'CPU implementer\t: 0x41',
        'CPU architecture: 8',
        'CPU variant\t: 0x3',
        `CPU part\t: ${part}`,
        'CPU revision\t: 1',
        '',
      ].join('\n'),
    );
  }
  return `${blocks.join('\n')}\n`;
}

const meminfo = (kb: number) => `MemTotal:       ${kb} kB\nMemFree:        1234 kB\nMemAvailable:   5678 kB\n`;

// 2 sockets x 4 cores x 2 threads, NVMe + SATA HDD + SATA SSD, two NICs (one down), and
// devices the report must skip.
const server = new Tree('x86')
  .file('proc/cpuinfo', x86Cpuinfo(2, 4, 2))
  .file('proc/meminfo', meminfo(65843212))
  .file('proc/cmdline', 'initrd=initramfs.gz console=ttyS0 beskar7.api=http://10.0.0.1:8082 BOOTIF=01-3C-FD-FE-AA-BB-02 quiet\n')
  .block('nvme0n1', { sectors: 1953525168, model: 'Samsung SSD 980 PRO 1TB                 \n', serial: '  S5GXNF0R123456  \n' })
  .block('nvme0n1p1', { sectors: 1048576, partitionOf: 'nvme0n1' })
  .block('nvme0c0n1', { sectors: 1953525168 }) // hidden multipath path
  .block('sda', { sectors: 7814037168, rotational: 1, model: 'ST4000NM0035-1V4\n', vpd80: Buffer.concat([Buffer.from([0, 0x80, 0, 0x14]), Buffer.from('ZC1ABCDE            ')]) })
  .block('sda1', { sectors: 2048, partitionOf: 'sda' })
  .block('sdb', { sectors: 468862128, rotational: 0, model: 'INTEL SSDSC2KB24\n', wwid: 'naa.55cd2e414e8f1234\n' })
  .block('sdc', { sectors: 0, rotational: 1, model: 'Card Reader\n' }) // no medium
  .block('loop0', { sectors: 2048 })
  .block('ram0', { sectors: 8192 })
  .block('dm-0', { sectors: 2048 })
  .block('sr0', { sectors: 2048 })
  .block('zram0', { sectors: 2048 })
  .block('md127', { sectors: 2048 })
  .nic('eno1', { mac: '3C:FD:FE:AA:BB:01', operstate: 'up', speed: '10000', driver: 'ixgbe' })
  .nic('eno2', { mac: '3c:fd:fe:aa:bb:02', operstate: 'down', speed: '-1', driver: 'ixgbe' })
  .nic('ib0', { mac: '80:00:02:08:fe:80:00:00:00:00:00:00:00:11:75:09:01:0b:4c:11', operstate: 'up', speed: '56000', driver: 'mlx5_core' })
  .nic('lo', { mac: '00:00:00:00:00:00', operstate: 'unknown' })
  .nic('docker0', { mac: '02:42:ac:11:00:01', operstate: 'up', physical: false })
  .nic('bond0', { mac: '3c:fd:fe:aa:bb:01', operstate: 'up', physical: false })
  .dmi({ sys_vendor: 'Dell Inc.\n', product_name: 'PowerEdge R640\n', product_serial: 'ABC1234\n', bios_version: '2.19.1\n' });

const expectedServer: Omit<InspectionReport, 'timestamp'> = {
  bootMACAddress: '3c:fd:fe:aa:bb:02',
  cpus: { count: 2, cores: 8, threads: 16, model: 'Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz', architecture: 'x86_64', mhz: 2100 },
  memory: { totalBytes: 65843212 * 1024, totalGB: 63 },
  disks: [
    { device: '/dev/nvme0n1', sizeBytes: 1953525168 * 512, sizeGB: 931, type: 'NVMe', model: 'Samsung SSD 980 PRO 1TB', serial: 'S5GXNF0R123456' },
    { device: '/dev/sda', sizeBytes: 7814037168 * 512, sizeGB: 3726, type: 'HDD', model: 'ST4000NM0035-1V4', serial: 'ZC1ABCDE' },
    { device: '/dev/sdb', sizeBytes: 468862128 * 512, sizeGB: 223, type: 'SSD', model: 'INTEL SSDSC2KB24', serial: 'naa.55cd2e414e8f1234' },
  ],
  nics: [
    { interface: 'eno1', macAddress: '3c:fd:fe:aa:bb:01', linkStatus: 'up', speedMbps: 10000, driver: 'ixgbe' },
    { interface: 'eno2', macAddress: '3c:fd:fe:aa:bb:02', linkStatus: 'down', speedMbps: null, driver: 'ixgbe' },
  ],
  system: { manufacturer: 'Dell Inc.', model: 'PowerEdge R640', serialNumber: 'ABC1234', biosVersion: '2.19.1', bmcAddress: null },
};

// arm64: no physical/core ids, no model name, no DMI; no BOOTIF, so the first NIC with link.
const arm = new Tree('arm64')
  .file('proc/cpuinfo', arm64Cpuinfo(4, '0xd0c'))
  .file('proc/meminfo', meminfo(8_000_000))
  .file('proc/cmdline', 'console=ttyAMA0 beskar7.mode=inspect\n')
  .file('sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq', '3000000\n')
  .block('vda', { sectors: 41943040, rotational: 0, blockSerial: 'b7-0001\n' })
  .nic('enp1s0', { mac: '52:54:00:00:00:0a', operstate: 'down', speed: 'unreadable', driver: 'virtio_net' })
  .nic('enp2s0', { mac: '52:54:00:00:00:0b', operstate: 'up', speed: 'unreadable', driver: 'virtio_net' })
  .nic('enp3s0', { mac: '52:54:00:00:00:0c', operstate: 'dormant', speed: '1000' });

const expectedArm: Omit<InspectionReport, 'timestamp'> = {
  bootMACAddress: '52:54:00:00:00:0b',
  cpus: { count: 1, cores: 4, threads: 4, model: 'ARM Neoverse-N1', architecture: 'aarch64', mhz: 3000 },
  memory: { totalBytes: 8_000_000 * 1024, totalGB: 8 },
  disks: [{ device: '/dev/vda', sizeBytes: 41943040 * 512, sizeGB: 20, type: 'SSD', model: null, serial: 'b7-0001' }],
  nics: [
    { interface: 'enp1s0', macAddress: '52:54:00:00:00:0a', linkStatus: 'down', speedMbps: null, driver: 'virtio_net' },
    { interface: 'enp2s0', macAddress: '52:54:00:00:00:0b', linkStatus: 'up', speedMbps: null, driver: 'virtio_net' },
    { interface: 'enp3s0', macAddress: '52:54:00:00:00:0c', linkStatus: 'unknown', speedMbps: null, driver: null },
  ],
  system: { manufacturer: null, model: null, serialNumber: null, biosVersion: null, bmcAddress: '10.0.0.42' },
};

// Strings a firmware (or an attacker with a BMC) can put into DMI and device attributes.
const hostile = new Tree('hostile')
  .file('proc/cpuinfo', 'processor\t: 0\nmodel name\t: Evil "CPU" \\ 3.0GHz\ncpu MHz\t\t: not-a-number\n')
  .file('proc/meminfo', meminfo(1024))
  .file('proc/cmdline', 'BOOTIF=01-zz-zz-zz-zz-zz-zz\n')
  .block('sda', { sectors: 2 * 1024 * 1024 * 2, rotational: 1, model: 'Disk","type":"NVMe\n', serial: 'a\tb\\c"d\n' })
  .nic('eth"0', { mac: '52:54:00:12:34:56', operstate: 'up', speed: '1000', driver: 'e1000"e' })
  .dmi({
    sys_vendor: 'Evil "Corp" \\ Inc.\n\tline2\n',
    product_name: Buffer.from('  S\u00e9rv\u00e9r \u2713 \u{1F600} \u0001 ctl\u001f \u007f  \n', 'utf8'),
    product_serial: Buffer.from([0xff, 0xfe, 0x31, 0x32, 0x33, 0xc3, 0x28, 0xe2, 0x82, 0x41, 0x0a]),
    bios_version: '1.0","model":"pwned"}\n',
  });

const expectedHostile: Omit<InspectionReport, 'timestamp'> = {
  bootMACAddress: '52:54:00:12:34:56',
  cpus: { count: 1, cores: 1, threads: 1, model: 'Evil "CPU" \\ 3.0GHz', architecture: 'unknown', mhz: 0 },
  memory: { totalBytes: 1024 * 1024, totalGB: 0 },
  disks: [{ device: '/dev/sda', sizeBytes: 2 * GIB, sizeGB: 2, type: 'HDD', model: 'Disk","type":"NVMe', serial: 'a\tb\\c"d' }],
  nics: [{ interface: 'eth"0', macAddress: '52:54:00:12:34:56', linkStatus: 'up', speedMbps: 1000, driver: 'e1000"e' }],
  system: {
    manufacturer: 'Evil "Corp" \\ Inc.\n\tline2',
    model: 'S\u00e9rv\u00e9r \u2713 \u{1F600} \u0001 ctl\u001f \u007f',
    // Invalid UTF-8 bytes become U+FFFD one byte at a time; the valid bytes stay.
    serialNumber: '\uFFFD\uFFFD123\uFFFD(\uFFFD\uFFFDA',
    biosVersion: '1.0","model":"pwned"}',
    bmcAddress: null,
  },
};

// ------------------------------------------------------------------------------------------

function run(shell: Shell, args: string[], env: Record<string, string>, input?: Buffer): { stdout: Buffer; stderr: string } {
  const result = spawnSync(shell.command, [...shell.args, REPORT_SH, ...args], {
    env: { PATH: shell.path, ...env },
    input,
    timeout: 20_000,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`report.sh exited ${result.status}: ${result.stderr.toString()}`);
  return { stdout: result.stdout, stderr: result.stderr.toString() };
}

const hasControlCharacter = (text: string) => [...text].some((c) => c.charCodeAt(0) < 0x20);

function report(shell: Shell, tree: Tree, env: Record<string, string> = {}): InspectionReport {
  const { stdout, stderr } = run(shell, [], { B7_ROOT: tree.root, ...env });
  expect(stderr).toBe('');
  const text = stdout.toString('utf8');
  // One line of JSON, valid UTF-8, no raw control characters.
  expect(text.endsWith('}\n')).toBe(true);
  expect(hasControlCharacter(text.slice(0, -1))).toBe(false);
  expect(Buffer.from(text, 'utf8').equals(stdout)).toBe(true);
  const raw: unknown = JSON.parse(text);
  const parsed = inspectionReportSchema.parse(raw);
  // The schema only adds defaults; what the script printed already has every field.
  expect(raw).toEqual(parsed);
  return parsed;
}

function withoutTimestamp(r: InspectionReport): Omit<InspectionReport, 'timestamp'> {
  const { timestamp, ...rest } = r;
  expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  return rest;
}

describe.each(shells)('report.sh under $name', (shell) => {
  it.skipIf(shell.skip !== null)('reports a 2-socket x86 server exactly, skipping partitions, virtual and pseudo devices', () => {
    expect(withoutTimestamp(report(shell, server, { B7_ARCH: 'x86_64' }))).toEqual(expectedServer);
  });

  it.skipIf(shell.skip !== null)('reports arm64 cpuinfo (no socket or core ids) as one socket, cores = threads', () => {
    expect(withoutTimestamp(report(shell, arm, { B7_ARCH: 'arm64', B7_BMC_ADDRESS: '10.0.0.42' }))).toEqual(expectedArm);
  });

  it.skipIf(shell.skip !== null)('keeps hostile DMI and device strings as data: escaped, valid UTF-8, nothing injected', () => {
    expect(withoutTimestamp(report(shell, hostile, { B7_ARCH: 'mips' }))).toEqual(expectedHostile);
  });

  it.skipIf(shell.skip !== null)('takes the architecture from uname -m when B7_ARCH is unset', () => {
    const uname = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim();
    const expected = uname === 'x86_64' ? 'x86_64' : uname === 'aarch64' ? 'aarch64' : 'unknown';
    expect(report(shell, server).cpus.architecture).toBe(expected);
  });

  it.skipIf(shell.skip !== null)('calls a link up when its carrier is, before operstate follows (linkwatch lags up to a second)', () => {
    const fresh = new Tree(`carrier-${shell.name.split(' ')[0] ?? 'x'}-${readdirSync(scratch).length}`)
      .file('proc/cpuinfo', '')
      .file('proc/meminfo', '')
      .nic('eth0', { mac: '52:54:00:00:00:01', operstate: 'down', carrier: '1', speed: '1000', driver: 'virtio_net' })
      .nic('eth1', { mac: '52:54:00:00:00:02', operstate: 'down', carrier: '0', driver: 'virtio_net' })
      .nic('eth2', { mac: '52:54:00:00:00:03', operstate: 'up', driver: 'virtio_net' });
    expect(report(shell, fresh, { B7_ARCH: 'x86_64' }).nics.map((n) => [n.interface, n.linkStatus, n.speedMbps])).toEqual([
      ['eth0', 'up', 1000],
      ['eth1', 'down', null],
      ['eth2', 'up', null],
    ]);
  });

  it.skipIf(shell.skip !== null)('reports an empty machine (no NICs, no disks, no DMI) with a placeholder boot MAC', () => {
    const empty = new Tree(`empty-${shell.name.split(' ')[0] ?? 'x'}-${readdirSync(scratch).length}`).file('proc/cpuinfo', '').file('proc/meminfo', '');
    expect(withoutTimestamp(report(shell, empty, { B7_ARCH: 'x86_64' }))).toEqual({
      bootMACAddress: '00:00:00:00:00:00',
      cpus: { count: 0, cores: 0, threads: 0, model: 'unknown', architecture: 'x86_64', mhz: 0 },
      memory: { totalBytes: 0, totalGB: 0 },
      disks: [],
      nics: [],
      system: { manufacturer: null, model: null, serialNumber: null, biosVersion: null, bmcAddress: null },
    });
  });

  it.skipIf(shell.skip !== null)('--json-string escapes every control character and keeps valid UTF-8', () => {
    const controls = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('');
    const samples = [
      '',
      'plain',
      'quote " backslash \\ slash /',
      `controls ${controls} del \u007f`,
      'multi\nline\n\nwith blank',
      'unicode \u00e9 \u2713 \u{1F600} \u{10FFFF}',
      '","injected":true,"x":"',
    ];
    for (const sample of samples) {
      const { stdout } = run(shell, ['--json-string'], {}, Buffer.from(sample, 'utf8'));
      const text = stdout.toString('utf8');
      expect(hasControlCharacter(text)).toBe(false);
      expect(JSON.parse(text)).toBe(sample);
    }
    const { stdout } = run(shell, ['--json-string'], {}, Buffer.from('tab\there\r\n'));
    expect(stdout.toString()).toBe('"tab\\there\\r"');
  });

  it.skipIf(shell.skip !== null)('--json-string replaces bytes that are not UTF-8 (overlong, surrogates, truncated, > U+10FFFF)', () => {
    const cases: [number[], string][] = [
      [[0xc0, 0x80], '\uFFFD\uFFFD'], // overlong NUL
      [[0xe0, 0x80, 0x80], '\uFFFD\uFFFD\uFFFD'], // overlong
      [[0xed, 0xa0, 0x80], '\uFFFD\uFFFD\uFFFD'], // UTF-16 surrogate
      [[0xf4, 0x90, 0x80, 0x80], '\uFFFD\uFFFD\uFFFD\uFFFD'], // above U+10FFFF
      [[0xf5, 0x41], '\uFFFDA'],
      [[0x61, 0xe2, 0x82], 'a\uFFFD\uFFFD'], // truncated at the end
      [[0x80, 0xbf], '\uFFFD\uFFFD'], // stray continuation bytes
      [[0xf0, 0x9f, 0x98, 0x80], '\u{1F600}'],
    ];
    for (const [bytes, expected] of cases) {
      const { stdout } = run(shell, ['--json-string'], {}, Buffer.from(bytes));
      expect(JSON.parse(stdout.toString('utf8')), Buffer.from(bytes).toString('hex')).toBe(expected);
    }
  });
});
