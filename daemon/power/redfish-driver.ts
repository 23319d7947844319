import type { BmcCredentials, ConnectionOptions } from '../redfish/connection.js';
import { RedfishClient, type BootMode, type ClientTimings, type PowerState, type PxeResult, type SystemInfo } from '../redfish/client.js';
import type { BmcGate } from '../redfish/gate.js';
import type { BmcEndpoint } from '../redfish/transport.js';
import type { PowerAction, PowerDriver, PowerOutcome } from './driver.js';

export interface RedfishTarget extends BmcEndpoint {
  systemId: string | null;
}

/**
 * Power through a BMC. Each operation is one conversation (connect, act, log out), queued
 * behind any other on the same BMC and within the daemon-wide limit.
 */
export class RedfishDriver implements PowerDriver {
  readonly kind = 'redfish' as const;

  constructor(
    private readonly target: RedfishTarget,
    private readonly credentials: () => BmcCredentials,
    private readonly gate: BmcGate,
    private readonly options: { connection?: ConnectionOptions; timings?: Partial<ClientTimings> } = {},
  ) {}

  private withClient<T>(work: (client: RedfishClient) => Promise<T>): Promise<T> {
    const key = `${this.target.address}|${this.target.systemId ?? ''}`;
    return this.gate.run(key, async () => {
      const client = await RedfishClient.connect(this.target, this.credentials(), this.options);
      try {
        return await work(client);
      } finally {
        await client.close();
      }
    });
  }

  power(action: PowerAction): Promise<PowerOutcome> {
    return this.withClient(async (client) => {
      if (action === 'on') await client.powerOn();
      else if (action === 'off') await client.powerOff({ graceful: true });
      else await client.restart();
      return { kind: 'done', powerState: await client.powerState() };
    });
  }

  /** One-time PXE, then power on (or restart), in one conversation so nothing runs in between. */
  bootFromNetwork(mode: BootMode | null): Promise<PxeResult> {
    return this.withClient(async (client) => {
      const result = await client.setOneTimePxe(mode);
      await client.restart();
      return result;
    });
  }

  /** Off now (graceful false: the ramdisk holds nothing worth a clean shutdown), or gracefully with the forced fallback. */
  powerOff(graceful: boolean): Promise<PowerState> {
    return this.withClient(async (client) => {
      await client.powerOff({ graceful });
      return client.powerState();
    });
  }

  setNetworkBoot(mode: BootMode | null): Promise<PxeResult> {
    return this.withClient((client) => client.setOneTimePxe(mode));
  }

  clearNetworkBoot(): Promise<void> {
    return this.withClient((client) => client.clearBootOverride());
  }

  powerState(): Promise<PowerState> {
    return this.withClient((client) => client.powerState());
  }

  systemInfo(): Promise<SystemInfo> {
    return this.withClient((client) => client.systemInfo());
  }
}
