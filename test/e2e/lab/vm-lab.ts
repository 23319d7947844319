import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { domainXml, OVMF_CODE, OVMF_VARS, type VmSpec } from './domain.js';
import { startLabDaemon, type LabDaemon } from './lab-daemon.js';
import { startLibvirt, type Libvirt } from './libvirt.js';
import { createLabNetwork, type LabNetwork } from './network.js';
import { SerialConsole } from './serial-console.js';
import { startSiteDhcp } from './site-dhcp.js';
import { startSushyLibvirt, type SushyBmc } from './sushy-libvirt.js';
import { targetInitrd } from './target-initrd.js';
import type { TimedProcess } from './timed-process.js';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..', '..', '..');
const DAEMON_PORT = 8082;
const SUSHY_PORT = 8000;

export interface LabVm {
  spec: VmSpec;
  console: SerialConsole;
}

export interface VmLab {
  dir: string;
  network: LabNetwork;
  siteDhcp: TimedProcess;
  libvirt: Libvirt;
  sushy: SushyBmc;
  daemon: LabDaemon;
  vms: Record<VmSpec['firmware'], LabVm>;
  /** The inspector's kernel and the target initrd, as the daemon serves them. */
  target: { kernelUrl: string; kernelSha256: string; initrdUrl: string; initrdSha256: string };
  /** Everything down, each process by its own PID; namespaces removed. Safe to call twice. */
  stop(): Promise<void>;
}

function vmSpec(firmware: VmSpec['firmware'], index: number, dir: string): VmSpec {
  const name = `b7e2e-${firmware}`;
  return {
    name,
    uuid: `b7e2e000-0000-4000-8000-00000000000${index}`,
    firmware,
    vcpus: 2,
    memoryMiB: 1024,
    diskPath: join(dir, `${name}.raw`),
    diskBytes: 4 * 1024 ** 3,
    mac: `52:54:00:b7:e2:0${index}`,
    address: `10.77.0.${10 + index}`,
    manufacturer: 'Beskar7 Lab',
    product: `e2e-${firmware}`,
    serial: `B7E2E-${firmware.toUpperCase()}-${process.pid}`,
    serialSocket: join(dir, `${name}.console.sock`),
    nvramPath: join(dir, `${name}.nvram.fd`),
  };
}

/** Fails loudly (never a skip) with what to install when the machine cannot run the lab. */
export function requireLabTools(): void {
  if (process.getuid?.() !== 0) throw new Error('the VM end-to-end test needs root (network namespaces, libvirtd); run npm run test:e2e as root, as CI does');
  const needs: [string, string][] = [
    ['/usr/sbin/libvirtd', 'apt-get install libvirt-daemon-system'],
    ['/usr/bin/virsh', 'apt-get install libvirt-clients'],
    ['/usr/bin/qemu-system-x86_64', 'apt-get install qemu-system-x86'],
    [OVMF_CODE, 'apt-get install ovmf'],
    [OVMF_VARS, 'apt-get install ovmf'],
    ['/usr/lib/ipxe/snponly.efi', 'apt-get install ipxe'],
    ['/usr/lib/ipxe/qemu/efi-virtio.rom', 'apt-get install ipxe-qemu'],
    ['/usr/sbin/dnsmasq', 'apt-get install dnsmasq'],
    ['/usr/bin/curl', 'apt-get install curl'],
    ['/usr/bin/busybox', 'apt-get install busybox-static'],
  ];
  const ansible = ['/usr/local/bin/ansible', '/usr/bin/ansible', ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'ansible'))];
  if (!ansible.some((path) => existsSync(path))) needs.push(['ansible (renders the lab role\'s templates)', 'pip install ansible-core']);
  const missing = needs.filter(([path]) => !existsSync(path));
  if (missing.length > 0) throw new Error(`missing: ${missing.map(([path, fix]) => `${path} (${fix})`).join(', ')}; bash .ci/install-test-deps.sh installs them all`);
}

async function requireSushyLibvirt(): Promise<void> {
  try {
    await run('python3', ['-c', 'import libvirt, sushy_tools']);
  } catch (error) {
    throw new Error(`sushy-tools with libvirt-python is needed (bash .ci/install-test-deps.sh installs both): ${(error as { stderr?: string }).stderr ?? String(error)}`, { cause: error });
  }
}

/** Builds the inspector (warm cache: seconds) into the run's directory. */
async function buildInspector(out: string, extraModules = ''): Promise<{ kernel: Buffer; initrd: Buffer }> {
  await run('bash', [join(REPO, 'inspector', 'build.sh'), '--out', out, '--arch', 'amd64'], {
    env: { ...process.env, B7_EXTRA_MODULES: extraModules },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
    killSignal: 'SIGKILL',
  });
  return { kernel: readFileSync(join(out, 'vmlinuz')), initrd: readFileSync(join(out, 'initramfs.gz')) };
}

const sha256 = async (path: string) => (await run('sha256sum', [path])).stdout.split(' ')[0] ?? '';

/**
 * The whole lab of one test run: namespaces and a bridge, the site's DHCP server, libvirtd and two
 * PXE-first VMs (SeaBIOS and OVMF), sushy-tools as their BMC, and the daemon serving proxyDHCP,
 * TFTP and HTTP on the bridge. Artefacts (every log, each VM's serial console) stay in `dir`.
 */
export async function startVmLab(dir: string, signal: AbortSignal, settings: Record<string, string> = {}): Promise<VmLab> {
  requireLabTools();
  await requireSushyLibvirt();
  mkdirSync(dir, { recursive: true });
  const stops: (() => Promise<void> | void)[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const step of stops.reverse()) {
      try {
        await step();
      } catch (error) {
        writeFileSync(join(dir, 'teardown-error.txt'), String(error), { flag: 'a' });
      }
    }
  };
  try {
    const inspector = await buildInspector(join(dir, 'inspector'));
    // The target OS: the same parts plus the ACPI button driver, so a graceful shutdown reaches it.
    const targetBase = await buildInspector(join(dir, 'target-base'), 'button');
    const specs = (['bios', 'uefi'] as const).map((firmware, i) => vmSpec(firmware, i + 1, dir));
    const network = createLabNetwork();
    stops.push(() => network.destroy());
    const siteDhcp = await startSiteDhcp(
      network,
      dir,
      specs.map((spec) => ({ name: spec.name, mac: spec.mac, address: spec.address })),
    );
    stops.push(async () => void (await siteDhcp.stop(5000)));

    // The daemon's data dir: the inspector and the target under boot-assets.
    const dataDir = join(dir, 'daemon-data');
    const assets = join(dataDir, 'assets');
    mkdirSync(join(assets, 'inspector'), { recursive: true });
    mkdirSync(join(assets, 'target'), { recursive: true });
    writeFileSync(join(assets, 'inspector', 'vmlinuz'), inspector.kernel);
    writeFileSync(join(assets, 'inspector', 'initramfs.gz'), inspector.initrd);
    writeFileSync(join(assets, 'target', 'vmlinuz'), targetBase.kernel);
    writeFileSync(join(assets, 'target', 'initrd.gz'), targetInitrd(targetBase.initrd));

    const libvirt = await startLibvirt(network.provisioning, dir);
    stops.push(() => libvirt.stop());
    const vms = {} as Record<VmSpec['firmware'], LabVm>;
    for (const spec of specs) {
      const { name, firmware } = spec;
      // Sparse: 4 GiB that cost nothing until written.
      writeFileSync(spec.diskPath, '');
      await run('truncate', ['-s', String(spec.diskBytes), spec.diskPath]);
      if (firmware === 'uefi') copyFileSync(OVMF_VARS, spec.nvramPath);
      const console = await SerialConsole.listen(spec.serialSocket, join(dir, `${name}.console.log`));
      stops.push(() => console.close());
      writeFileSync(join(dir, `${name}.xml`), domainXml(spec));
      await libvirt.virsh(['define', join(dir, `${name}.xml`)]);
      vms[firmware] = { spec, console };
    }

    const sushy = await startSushyLibvirt({
      namespace: network.provisioning,
      address: network.serverAddress,
      port: SUSHY_PORT,
      libvirtUri: libvirt.uri,
      domains: Object.values(vms).map((vm) => vm.spec.uuid),
      dir,
      signal,
    });
    stops.push(() => sushy.stop());

    const daemon = await startLabDaemon({
      namespace: network.provisioning,
      dataDir,
      address: network.serverAddress,
      port: DAEMON_PORT,
      dir,
      signal,
      settings: {
        'boot.advertiseAddress': network.serverAddress,
        'dhcp.enabled': 'true',
        'tftp.enabled': 'true',
        'tftp.root': '/usr/lib/ipxe',
        'lifecycle.inspectOnEnroll': 'true',
        // The target obeys the power button; should it not, the forced power-off comes within a minute.
        'redfish.gracefulShutdownSeconds': '60',
        ...settings,
      },
    });
    stops.push(() => daemon.stop());

    const base = `http://${network.serverAddress}:${DAEMON_PORT}/boot-assets/target`;
    return {
      dir,
      network,
      siteDhcp,
      libvirt,
      sushy,
      daemon,
      vms,
      target: {
        kernelUrl: `${base}/vmlinuz`,
        kernelSha256: await sha256(join(assets, 'target', 'vmlinuz')),
        initrdUrl: `${base}/initrd.gz`,
        initrdSha256: await sha256(join(assets, 'target', 'initrd.gz')),
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
