import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectionReportSchema } from '../../daemon/core/schemas/ramdisk.js';

// inspector/build.sh: builds vmlinuz + initramfs.gz from Debian packages (apt-get download; the
// cache under ${BESKAR7_CACHE:-~/.cache/beskar7}/inspector makes repeat builds fast and offline),
// checks what the initramfs holds and that building again gives the same bytes. With
// qemu-system-x86_64 installed it also boots the result (TCG) against a fake daemon.

const REPO = resolve(import.meta.dirname, '../..');
const BUILD_SH = join(REPO, 'inspector/build.sh');
const run = promisify(execFile);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface Build {
  dir: string;
  seconds: number;
  stdout: string;
  kernel: Buffer;
  initrd: Buffer;
}

let scratch = '';
let skipReason: string | null = null;
let first: Build | null = null;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'b7-build-'));
});
afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

async function build(name: string, env: Record<string, string> = {}): Promise<Build> {
  const dir = join(scratch, name);
  const started = performance.now();
  const { stdout } = await run('bash', [BUILD_SH, '--out', dir, '--arch', 'amd64'], {
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 590_000,
  });
  const seconds = (performance.now() - started) / 1000;
  return { dir, seconds, stdout, kernel: readFileSync(join(dir, 'vmlinuz')), initrd: readFileSync(join(dir, 'initramfs.gz')) };
}

// ------------------------------------------------------------------------------------------
// newc reader (the kernel's initramfs format; concatenated archives and zero padding allowed).

interface Entry {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Buffer;
}

function readNewc(archive: Buffer): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const align = (n: number) => (n + 3) & ~3;
  let offset = 0;
  while (offset + 110 <= archive.length) {
    const magic = archive.toString('latin1', offset, offset + 6);
    if (magic !== '070701') {
      if (archive.readUInt32LE(offset) === 0) {
        offset += 4;
        continue;
      }
      throw new Error(`bad newc magic ${JSON.stringify(magic)} at ${offset}`);
    }
    const field = (i: number) => parseInt(archive.toString('latin1', offset + 6 + i * 8, offset + 14 + i * 8), 16);
    const nameSize = field(11);
    const size = field(6);
    const name = archive.toString('utf8', offset + 110, offset + 110 + nameSize - 1);
    const dataStart = align(offset + 110 + nameSize);
    const entry: Entry = { name, mode: field(1), uid: field(2), gid: field(3), mtime: field(5), rdevMajor: field(9), rdevMinor: field(10), data: archive.subarray(dataStart, dataStart + size) };
    offset = align(dataStart + size);
    if (name === 'TRAILER!!!') continue;
    if (entries.has(name)) throw new Error(`${name} twice in the archive`);
    entries.set(name, entry);
  }
  return entries;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFDIR = 0o040000;

/** The version string a bzImage carries (setup header: kernel_version at 0x20e, relative to 0x200). */
function bzImageVersion(kernel: Buffer): string {
  expect(kernel.toString('latin1', 0x202, 0x206)).toBe('HdrS');
  const start = kernel.readUInt16LE(0x20e) + 0x200;
  return kernel.toString('latin1', start, kernel.indexOf(0, start));
}

// ------------------------------------------------------------------------------------------

describe('inspector/build.sh', () => {
  it('builds vmlinuz and initramfs.gz from Debian packages', async (ctx) => {
    try {
      first = await build('first');
    } catch (error) {
      const text = String((error as { stderr?: string }).stderr ?? error);
      if (/apt-get download failed|run apt-get update|apt-cache knows no/.test(text)) {
        skipReason = `SKIPPED: no Debian repository reachable for apt-get download: ${text.trim().split('\n').slice(-3).join(' | ')}`;
        console.warn(`inspector-build: ${skipReason}`);
        ctx.skip(skipReason);
      }
      throw error;
    }
    console.log(`inspector-build: first build ${first.seconds.toFixed(1)} s; vmlinuz ${first.kernel.length} bytes, initramfs.gz ${first.initrd.length} bytes`);
    // It prints the digest and size of both outputs.
    for (const [file, data] of [['vmlinuz', first.kernel], ['initramfs.gz', first.initrd]] as const) {
      expect(first.stdout).toContain(`${sha256(data)}  ${join(first.dir, file)}  ${data.length} bytes`);
    }
    expect(readFileSync(join(first.dir, 'SHA256SUMS'), 'utf8')).toBe(`${sha256(first.kernel)}  vmlinuz\n${sha256(first.initrd)}  initramfs.gz\n`);
    expect(first.initrd.length).toBeLessThan(40 * 1024 * 1024);
  }, 600_000);

  it('packs init, busybox, kexec, the tools with their libraries and the virtio/NIC/storage modules', (ctx) => {
    if (first === null) return ctx.skip(skipReason ?? 'the build failed');
    const entries = readNewc(gunzipSync(first.initrd));
    const get = (name: string): Entry => {
      const entry = entries.get(name);
      if (entry === undefined) throw new Error(`${name} is not in the initramfs`);
      return entry;
    };
    const kind = (name: string) => get(name).mode & S_IFMT;

    // The agent, byte for byte.
    const agent: [string, string][] = [
      ['init', 'inspector/init'],
      ['usr/share/beskar7/flow.sh', 'inspector/agent/flow.sh'],
      ['usr/share/beskar7/report.sh', 'inspector/agent/report.sh'],
    ];
    for (const [inArchive, inRepo] of agent) {
      expect(get(inArchive).data.equals(readFileSync(join(REPO, inRepo))), inArchive).toBe(true);
      expect(get(inArchive).mode & 0o777, inArchive).toBe(0o755);
    }
    // Tools.
    for (const name of ['bin/busybox', 'sbin/kexec', 'usr/bin/zstd', 'sbin/wipefs', 'sbin/blkdiscard', 'lib64/ld-linux-x86-64.so.2']) {
      expect(kind(name), name).toBe(S_IFREG);
      expect(get(name).mode & 0o777, name).toBe(0o755);
    }
    for (const name of ['lib/x86_64-linux-gnu/libc.so.6', 'lib/x86_64-linux-gnu/liblzma.so.5', 'lib/x86_64-linux-gnu/libblkid.so.1']) {
      expect(get(name).mode, name).toBe(S_IFREG | 0o644);
    }
    expect(get('bin/busybox').data.includes(Buffer.from('BusyBox v1.'))).toBe(true);
    for (const applet of ['bin/sh', 'usr/bin/wget', 'sbin/udhcpc', 'sbin/modprobe', 'bin/mount', 'usr/bin/sha256sum']) {
      expect(kind(applet), applet).toBe(S_IFLNK);
      expect(get(applet).data.toString(), applet).toBe('/bin/busybox');
    }
    // The console and null devices, for init's output before devtmpfs.
    expect(get('dev/console')).toMatchObject({ mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 });
    expect(get('dev/null')).toMatchObject({ mode: S_IFCHR | 0o666, rdevMajor: 1, rdevMinor: 3 });
    for (const dir of ['proc', 'sys', 'dev', 'run', 'tmp']) expect(kind(dir), dir).toBe(S_IFDIR);

    // Modules of the kernel that ships beside it, with modules.dep complete for what is there.
    const version = bzImageVersion(first.kernel).split(' ')[0] ?? '';
    expect(version).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    const moduleDir = `lib/modules/${version}`;
    const dep = get(`${moduleDir}/modules.dep`).data.toString();
    const modules = [...entries.keys()].filter((name) => name.startsWith(`${moduleDir}/`) && name.endsWith('.ko'));
    const byName = new Map(modules.map((path) => [path.split('/').pop()?.replace(/\.ko$/, '').replaceAll('-', '_') ?? '', path]));
    for (const wanted of ['virtio_net', 'virtio_blk', 'virtio_scsi', 'virtio_pci', 'e1000', 'e1000e', 'igb', 'ixgbe', 'i40e', 'ice', 'bnxt_en', 'tg3', 'mlx5_core', 'r8169', 'ahci', 'nvme', 'sd_mod', 'megaraid_sas', 'mpt3sas']) {
      expect(byName.has(wanted), wanted).toBe(true);
    }
    for (const line of dep.split('\n').filter(Boolean)) {
      const [module, deps = ''] = line.split(':');
      for (const path of [module ?? '', ...deps.trim().split(/\s+/).filter(Boolean)]) expect(entries.has(`${moduleDir}/${path}`), `${line}: ${path}`).toBe(true);
    }
    expect(dep).toMatch(/^kernel\/drivers\/net\/virtio_net\.ko: .*virtio_ring\.ko/m);
    expect(get(`${moduleDir}/modules.alias`).data.toString()).toMatch(/^alias virtio:d00000001v\* virtio_net$/m);

    // Reproducible metadata: owner root, every mtime the same (SOURCE_DATE_EPOCH).
    const mtimes = new Set([...entries.values()].map((e) => e.mtime));
    expect(mtimes.size).toBe(1);
    expect([...entries.values()].every((e) => e.uid === 0 && e.gid === 0)).toBe(true);
    const manifest = get('etc/beskar7/manifest').data.toString();
    expect(manifest).toContain(`kernel ${version}`);
    expect(manifest).toContain(`source_date_epoch ${[...mtimes][0]}`);
    console.log(`inspector-build: ${entries.size} archive entries, ${modules.length} modules, kernel ${version}`);
  });

  it('builds again byte for byte (warm cache), and honours a given SOURCE_DATE_EPOCH', async (ctx) => {
    if (first === null) return ctx.skip(skipReason ?? 'the build failed');
    const again = await build('again');
    console.log(`inspector-build: second build ${again.seconds.toFixed(1)} s`);
    expect(sha256(again.kernel)).toBe(sha256(first.kernel));
    expect(sha256(again.initrd)).toBe(sha256(first.initrd));

    const dated = await build('dated', { SOURCE_DATE_EPOCH: '1700000000' });
    expect(dated.kernel.equals(first.kernel)).toBe(true);
    const mtimes = new Set([...readNewc(gunzipSync(dated.initrd)).values()].map((e) => e.mtime));
    expect([...mtimes]).toEqual([1700000000]);
    // gzip stores no name and no time.
    expect(dated.initrd.readUInt32LE(4)).toBe(0);
    expect((dated.initrd[3] ?? 0xff) & 0x08).toBe(0);
  }, 600_000);

  // ----------------------------------------------------------------------------------------
  // QEMU (TCG only; never required): the built ramdisk against a fake daemon reached at
  // 10.0.2.2 (QEMU user networking's address of this host).

  const qemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).stdout.trim();
  const qemuNote = qemu === '' ? ' (SKIPPED: qemu-system-x86_64 is not installed)' : '';
  const mac = '52:54:00:b7:00:01';
  const bootif = `BOOTIF=01-${mac.replaceAll(':', '-')}`;

  interface Call {
    token: string;
    what: string;
    body: string;
  }
  /** A daemon that answers `next` per token and serves files; records every call. */
  async function vmDaemon(answers: Record<string, (base: string) => object>, files: Record<string, Buffer>) {
    const calls: Call[] = [];
    let base = '';
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const file = files[(req.url ?? '').replace(/^\/files\//, '')];
        if (req.url?.startsWith('/files/') === true && file !== undefined) return void res.writeHead(200, { 'content-length': file.length }).end(file);
        const token = Object.keys(answers).find((t) => req.headers.authorization === `Bearer ${t}`);
        if (token === undefined) return void res.writeHead(401).end('{"error":"unauthorized"}');
        const what = (req.url ?? '').replace('/api/v1/inspection/lab/vm-1', 'report').replace('/api/v1/ramdisk/lab/vm-1/', '');
        calls.push({ token, what, body });
        if (what === 'report') return void res.writeHead(202).end('{}');
        if (what !== 'next') return void res.writeHead(204).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers[token]?.(base)));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://10.0.2.2:${(server.address() as AddressInfo).port}`;
    return {
      base,
      calls,
      sequence: (tokens: string[]) => calls.filter((c) => c.what !== 'logs' && c.what !== 'progress').map((c) => `${tokens.indexOf(c.token) + 1}:${c.what}`),
      logs: (token: string) => calls.filter((c) => c.token === token && c.what === 'logs').map((c) => c.body).join(''),
      progress: (token: string) => calls.filter((c) => c.token === token && c.what === 'progress').map((c) => JSON.parse(c.body) as { phase: string; reason?: string; disks?: string[] }),
      close: () => {
        server.closeAllConnections();
        server.close();
      },
    };
  }

  /** Boots the built ramdisk with one virtio disk; resolves when QEMU exits (power off or reboot). */
  async function bootVm(built: Build, base: string, token: string, disk: string): Promise<{ code: number | null; output: string; seconds: number }> {
    const append = `console=ttyS0 beskar7.debug=0 beskar7.api=${base} beskar7.host=lab/vm-1 beskar7.token=${token} beskar7.mode=provision ${bootif}`;
    const vm = spawn(
      qemu,
      ['-accel', 'tcg', '-m', '768', '-nographic', '-no-reboot', '-kernel', join(built.dir, 'vmlinuz'), '-initrd', join(built.dir, 'initramfs.gz'), '-append', append,
        '-netdev', 'user,id=n0', '-device', `virtio-net-pci,netdev=n0,mac=${mac},romfile=`, '-drive', `file=${disk},format=raw,if=virtio`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    vm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    vm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => vm.kill('SIGKILL'), 200_000);
    const started = performance.now();
    const code = await new Promise<number | null>((done) => vm.once('close', (c) => done(c)));
    clearTimeout(timer);
    return { code, output, seconds: (performance.now() - started) / 1000 };
  }

  it.skipIf(qemu === '')(
    `boots under QEMU (TCG): DHCP, report, a real kexec into a second boot, report, power off${qemuNote}`,
    async (ctx) => {
      if (first === null) return ctx.skip(skipReason ?? 'the build failed');
      const built = first;
      // The first ramdisk is told to kexec into the same kernel and initrd with a new token (as
      // the daemon hands the OS its own); the second reports and is told to power off.
      const tokens = ['vm-boot-token-1', 'vm-boot-token-2'];
      const daemon = await vmDaemon(
        {
          [tokens[0] ?? '']: (base) => ({
            action: 'kexec',
            kernel: { url: `${base}/files/vmlinuz`, sha256: sha256(built.kernel) },
            initrd: { url: `${base}/files/initramfs.gz`, sha256: sha256(built.initrd) },
            cmdline: `console=ttyS0 beskar7.api=${base} beskar7.host=lab/vm-1 beskar7.token=${tokens[1]} beskar7.mode=provision ${bootif}`,
          }),
          [tokens[1] ?? '']: () => ({ action: 'poweroff', reason: 'test done' }),
        },
        { vmlinuz: built.kernel, 'initramfs.gz': built.initrd },
      );
      const disk = join(scratch, 'vm-disk.img');
      writeFileSync(disk, Buffer.alloc(64 * 1024 * 1024));
      const vm = await bootVm(built, daemon.base, tokens[0] ?? '', disk);
      daemon.close();
      console.log(`inspector-build: QEMU, two boots joined by kexec: ${vm.seconds.toFixed(1)} s`);
      const tail = vm.output.slice(-6000);
      expect(vm.code, tail).toBe(0); // the second boot powered off
      expect(daemon.sequence(tokens), tail).toEqual(['1:report', '1:next', '1:booted', '2:report', '2:next']);
      for (const call of daemon.calls.filter((c) => c.what === 'report')) {
        const report = inspectionReportSchema.parse(JSON.parse(call.body));
        expect(report.bootMACAddress).toBe(mac);
        expect(report.nics.map((n) => [n.macAddress, n.driver, n.linkStatus])).toContainEqual([mac, 'virtio_net', 'up']);
        expect(report.disks).toContainEqual(expect.objectContaining({ device: '/dev/vda', sizeBytes: 64 * 1024 * 1024, sizeGB: 0 }));
      }
      const booted = JSON.parse(daemon.calls.find((c) => c.what === 'booted')?.body ?? '{}') as { source?: string; addresses?: { address: string }[] };
      expect(booted.source).toBe('ramdisk');
      expect(booted.addresses?.map((a) => a.address)).toEqual(['10.0.2.15']);
      expect(daemon.logs(tokens[0] ?? '')).toMatch(/init: modules loaded:.*virtio_net/);
      expect(daemon.logs(tokens[0] ?? '')).toContain('kexec into the new kernel');
      expect(daemon.logs(tokens[1] ?? '')).toContain('powering off: the daemon says: test done');
      expect(vm.output).toContain('beskar7-init: network: eth0 10.0.2.15/24');
    },
    300_000,
  );

  it.skipIf(qemu === '')(
    `under QEMU (TCG): streams a gzip image onto the virtio disk and reboots; a second boot wipes its metadata with the real wipefs${qemuNote}`,
    async (ctx) => {
      if (first === null) return ctx.skip(skipReason ?? 'the build failed');
      const built = first;
      // An image with an ext2 file system at its start: something for wipefs to find.
      const raw = join(scratch, 'vm-image.raw');
      writeFileSync(raw, Buffer.alloc(8 * 1024 * 1024));
      const mkfs = spawnSync('busybox', ['mke2fs', '-F', raw], { encoding: 'utf8' });
      if (mkfs.status !== 0) return ctx.skip(`busybox mke2fs failed: ${mkfs.stderr}`);
      const image = readFileSync(raw);
      expect(image.readUInt16LE(1080)).toBe(0xef53); // the ext2 magic
      const gz = gzipSync(image);
      const tokens = ['vm-disk-token-1', 'vm-disk-token-2'];
      const daemon = await vmDaemon(
        {
          [tokens[0] ?? '']: (base) => ({ action: 'disk', image: { url: `${base}/files/image.raw.gz`, sha256: sha256(gz), format: 'gzip' }, rootDeviceHints: { deviceName: '/dev/vda' } }),
          [tokens[1] ?? '']: () => ({ action: 'wipe', disks: [], method: 'metadata' }),
        },
        { 'image.raw.gz': gz },
      );
      const disk = join(scratch, 'vm-disk2.img');
      writeFileSync(disk, Buffer.alloc(32 * 1024 * 1024, 0xaa));

      const write = await bootVm(built, daemon.base, tokens[0] ?? '', disk);
      expect(write.code, write.output.slice(-6000)).toBe(0); // reboot -f ends QEMU (-no-reboot)
      expect(daemon.progress(tokens[0] ?? '').map((p) => p.phase)).toEqual(['writing', 'info']);
      const written = readFileSync(disk);
      expect(written.subarray(0, image.length).equals(image)).toBe(true);
      expect(written.subarray(image.length).equals(Buffer.alloc(written.length - image.length, 0xaa))).toBe(true);

      const wipe = await bootVm(built, daemon.base, tokens[1] ?? '', disk);
      daemon.close();
      console.log(`inspector-build: QEMU, image write ${write.seconds.toFixed(1)} s, metadata wipe ${wipe.seconds.toFixed(1)} s`);
      expect(wipe.code, wipe.output.slice(-6000)).toBe(0);
      expect(daemon.progress(tokens[1] ?? '').map((p) => [p.phase, p.disks])).toEqual([['wiping', undefined], ['wiped', ['/dev/vda']]]);
      expect(readFileSync(disk).readUInt16LE(1080)).not.toBe(0xef53);
      expect(daemon.logs(tokens[1] ?? '')).toContain('powering off: wipe done');
    },
    300_000,
  );
});
