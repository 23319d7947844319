import type { BootMode } from '../redfish/client.js';
import type { PowerAction, PowerDriver, PowerOutcome } from './driver.js';
import { WithoutBmc } from './without-bmc.js';
import { sendWakeOnLan } from './wake-on-lan.js';

/**
 * Hosts without a BMC whose NIC wakes on LAN (home labs with mixed hardware): power on is a
 * magic packet to the boot MAC; power off is done by the ramdisk (its "poweroff" action) or
 * by a person, since nothing on the network can switch such a machine off.
 */
export class WakeOnLanDriver extends WithoutBmc implements PowerDriver {
  readonly kind = 'wol' as const;

  constructor(
    private readonly macs: string[],
    private readonly settings: { broadcast: string; port: number; repeat: number },
  ) {
    super();
  }

  async power(action: PowerAction): Promise<PowerOutcome> {
    if (action === 'on') {
      for (const mac of this.macs) await sendWakeOnLan(mac, this.settings);
      return { kind: 'sent', message: `Wake-on-LAN magic packet sent to ${this.macs.join(', ')} (${this.settings.broadcast}:${this.settings.port})` };
    }
    return {
      kind: 'requested',
      message:
        action === 'off'
          ? 'host has no BMC: it powers off when its ramdisk is told to, or switch it off by hand'
          : 'host has no BMC: switch it off and on by hand, or power it off through its ramdisk and wake it again',
    };
  }

  setNetworkBoot(_mode: BootMode | null): Promise<{ kind: 'requested'; message: string }> {
    return Promise.resolve({ kind: 'requested', message: 'host has no BMC: its firmware must be set once to boot from the network first' });
  }
}
