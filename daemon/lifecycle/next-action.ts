import type { TokenMode } from '../core/boot/boot-tokens.js';
import { imageSchema } from '../core/schemas/machine.js';
import type { NextAction } from '../core/schemas/ramdisk.js';
import type { HostRow, MachineRow } from './lifecycle-store.js';

export interface NextActionContext {
  pollSeconds: number;
  /** Kernel arguments handing the installed OS its token and bootstrap source; mints the token. */
  osCmdline: () => string;
}

const wait = (pollSeconds: number, reason: string): NextAction => ({ action: 'wait', retryAfterSeconds: pollSeconds, reason });

/**
 * The ramdisk's next step, from the host's state alone: policy, no I/O. A ramdisk whose boot
 * the daemon no longer wants is told to power off rather than left waiting.
 */
export function nextAction(host: HostRow, machine: MachineRow | null, tokenMode: TokenMode, context: NextActionContext): NextAction {
  if (tokenMode === 'inspect') {
    if (host.state === 'Inspecting') return wait(context.pollSeconds, 'waiting for the hardware report');
    return { action: 'poweroff', reason: 'inspection finished' };
  }
  if (tokenMode === 'wipe') {
    if (host.state === 'Deprovisioning' && host.pendingWipe && host.netbootMode === 'wipe') {
      return { action: 'wipe', disks: host.pendingWipe.disks, method: host.pendingWipe.method as 'metadata' | 'discard' | 'zero' };
    }
    return { action: 'poweroff', reason: 'no wipe pending' };
  }
  if (tokenMode !== 'provision') return { action: 'poweroff', reason: 'this token cannot ask for actions' };
  switch (host.state) {
    case 'Inspecting':
      return wait(context.pollSeconds, 'waiting for the hardware report of this boot');
    case 'Inspected':
      return wait(context.pollSeconds, 'validating the hardware against the machine');
    case 'Provisioning':
    case 'Provisioned': {
      if (!machine) return { action: 'poweroff', reason: 'no machine claims this host' };
      const image = imageSchema.parse(machine.image);
      if (image.mode === 'disk') {
        const hints: Record<string, string | number | boolean> = {};
        for (const [key, value] of Object.entries(image.rootDeviceHints)) if (value !== undefined) hints[key] = value;
        return { action: 'disk', image: { url: image.url, sha256: image.sha256, format: image.format }, rootDeviceHints: hints };
      }
      const cmdline = [image.cmdline, context.osCmdline()].filter((part) => part !== '').join(' ');
      if (image.tarball) return { action: 'kexec', tarball: image.tarball, cmdline };
      return { action: 'kexec', ...(image.kernel ? { kernel: image.kernel } : {}), ...(image.initrd ? { initrd: image.initrd } : {}), cmdline };
    }
    default:
      return { action: 'poweroff', reason: `host is ${host.state}` };
  }
}
