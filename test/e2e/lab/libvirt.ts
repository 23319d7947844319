import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { inNamespace } from '../../helpers/child.js';
import { startTimedProcess, type TimedProcess } from './timed-process.js';

const run = promisify(execFile);
const SANDBOX = resolve(import.meta.dirname, '..', 'libvirtd-sandbox.sh');

export interface Libvirt {
  /** What sushy-tools and virsh connect to. */
  uri: string;
  daemon: TimedProcess;
  /** Where QEMU writes one log per domain (its command line, its errors). */
  qemuLogDir: string;
  virsh(args: string[], timeoutMs?: number): Promise<string>;
  /** PIDs of the QEMU processes this libvirtd runs, from its own pid files. */
  qemuPids(): number[];
  stop(): Promise<void>;
}

/**
 * libvirtd for this run only (libvirtd-sandbox.sh), started inside the provisioning namespace so
 * that its domains' taps land on the lab bridge.
 */
export async function startLibvirt(namespace: string, dir: string): Promise<Libvirt> {
  const state = join(dir, 'libvirt');
  mkdirSync(state, { recursive: true });
  const socket = join(state, 'sock', 'libvirt-sock');
  const uri = `qemu:///system?socket=${socket}`;
  const daemon = startTimedProcess('libvirtd', inNamespace(namespace, [SANDBOX, state]), { logFile: join(dir, 'libvirtd.log') });
  const virsh = async (args: string[], timeoutMs = 60_000): Promise<string> => {
    try {
      return (await run('virsh', ['-c', uri, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' })).stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`virsh ${args.join(' ')}: ${String(e.stderr ?? '').trim() || e.message}`, { cause: error });
    }
  };
  const runDir = join(state, 'run', 'qemu');
  const qemuPids = () =>
    existsSync(runDir)
      ? readdirSync(runDir)
          .filter((f) => f.endsWith('.pid') && f !== 'driver.pid')
          .map((f) => Number(readFileSync(join(runDir, f), 'utf8').trim()))
          .filter((pid) => Number.isInteger(pid) && pid > 0)
      : [];
  const libvirt: Libvirt = {
    uri,
    daemon,
    qemuLogDir: join(state, 'log', 'qemu'),
    virsh,
    qemuPids,
    async stop() {
      // QEMU first, and hard (QEMU is not libvirtd's child: it would outlive it; the VMs hold
      // nothing worth a clean shutdown), then libvirtd, which then only notices its domains died.
      for (const pid of qemuPids()) {
        try {
          // Only a QEMU of this run: libvirt's pid file names it, and its command line names this run's directory.
          if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await daemon.stop(10_000);
    },
  };
  try {
    const until = Date.now() + 30_000;
    for (;;) {
      if (daemon.exit()) throw new Error(`libvirtd exited during start\n${daemon.tail()}`);
      if (existsSync(socket) && (await virsh(['version'], 10_000).then(() => true, () => false))) break;
      if (Date.now() > until) throw new Error(`libvirtd did not answer on ${socket} within 30 s\n${daemon.tail()}`);
      await daemon.waitForLine(/./, 500, daemon.lines.length).catch(() => undefined);
    }
  } catch (error) {
    await libvirt.stop();
    throw error;
  }
  return libvirt;
}
