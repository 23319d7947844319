import type { PowerDriver } from '../power/driver.js';
import { RedfishDriver } from '../power/redfish-driver.js';
import type { BootMode } from '../redfish/client.js';

/**
 * The two things the lifecycle asks of a host's power control, whatever it is. Returns what
 * happened in words for the host's event log ("operator: …" for hosts without a BMC).
 */
export async function bootFromNetwork(driver: PowerDriver, bootMode: BootMode | null): Promise<string> {
  if (driver instanceof RedfishDriver) {
    const result = await driver.bootFromNetwork(bootMode);
    return `one-time network boot set (${result.enabled}, via ${result.via}) and the host was restarted`;
  }
  const prepared = await driver.setNetworkBoot(bootMode);
  const powered = await driver.power(driver.kind === 'wol' ? 'on' : 'reset');
  const words = [
    'kind' in prepared && prepared.kind === 'requested' ? prepared.message : 'network boot set',
    powered.kind === 'done' ? `power ${powered.powerState}` : powered.message,
  ];
  return words.join('; ');
}

/** Off, gracefully when an installed OS may be running, at once when only the ramdisk is. */
export async function powerOff(driver: PowerDriver, graceful: boolean): Promise<string> {
  if (driver instanceof RedfishDriver) {
    const state = await driver.powerOff(graceful);
    return `powered off (${state})`;
  }
  const outcome = await driver.power('off');
  return outcome.kind === 'done' ? `powered off (${outcome.powerState})` : outcome.message;
}
