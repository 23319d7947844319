import type { BootMode } from '../redfish/client.js';
import type { PowerAction, PowerDriver, PowerOutcome } from './driver.js';
import { WithoutBmc } from './without-bmc.js';

const WORDS: Record<PowerAction, string> = { on: 'power it on', off: 'power it off', reset: 'power-cycle it' };

/** Hosts a person powers: the daemon says what to do (in events and the CLI) and waits. */
export class ManualDriver extends WithoutBmc implements PowerDriver {
  readonly kind = 'manual' as const;

  constructor(private readonly hostRef: string) {
    super();
  }

  power(action: PowerAction): Promise<PowerOutcome> {
    return Promise.resolve({ kind: 'requested', message: `operator: ${WORDS[action]} (${this.hostRef} has manual power control)` });
  }

  setNetworkBoot(_mode: BootMode | null): Promise<{ kind: 'requested'; message: string }> {
    return Promise.resolve({ kind: 'requested', message: `operator: make ${this.hostRef} boot from the network (boot menu or firmware setting)` });
  }
}
