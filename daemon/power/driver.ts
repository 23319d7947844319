import type { BootMode, PowerState, PxeResult, SystemInfo } from '../redfish/client.js';

export type PowerAction = 'on' | 'off' | 'reset';

/** What a power action did: done, or handed to a person or to the ramdisk to finish. */
export type PowerOutcome =
  | { kind: 'done'; powerState: PowerState }
  /** Sent, with no way to confirm it (Wake-on-LAN is unacknowledged). */
  | { kind: 'sent'; message: string }
  | { kind: 'requested'; message: string };

/**
 * How the daemon powers and network-boots one host, whatever it has: a Redfish BMC, only a
 * NIC that wakes on LAN, or a person at the rack.
 */
export interface PowerDriver {
  readonly kind: 'redfish' | 'wol' | 'manual';
  power(action: PowerAction): Promise<PowerOutcome>;
  /** Arrange the next boot from the network; hosts without a BMC must be set to boot from the NIC first. */
  setNetworkBoot(mode: BootMode | null): Promise<PxeResult | { kind: 'requested'; message: string }>;
  clearNetworkBoot(): Promise<void>;
  powerState(): Promise<PowerState>;
  /** Inventory from the BMC; null where there is no BMC to ask. */
  systemInfo(): Promise<SystemInfo | null>;
}
