import type { PowerState } from '../redfish/client.js';

/**
 * What hosts without a BMC share: no state to read, no inventory to ask for, and no boot
 * override to clear (such a host tries the network first, and a disarmed one gets a
 * local-boot script).
 */
export abstract class WithoutBmc {
  clearNetworkBoot(): Promise<void> {
    return Promise.resolve();
  }

  powerState(): Promise<PowerState> {
    return Promise.resolve('Unknown');
  }

  systemInfo(): Promise<null> {
    return Promise.resolve(null);
  }
}
