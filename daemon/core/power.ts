import type { Logger } from 'pino';
import { ManualDriver } from '../power/manual-driver.js';
import type { PowerAction, PowerDriver } from '../power/driver.js';
import { RedfishDriver } from '../power/redfish-driver.js';
import { WakeOnLanDriver } from '../power/wol-driver.js';
import type { BmcGate } from '../redfish/gate.js';
import type { ClientTimings } from '../redfish/client.js';
import type { ConnectionOptions } from '../redfish/connection.js';
import { badRequest } from './errors.js';
import type { HostService } from './hosts.js';

export interface PowerSettings {
  connection: ConnectionOptions;
  timings: Partial<ClientTimings>;
  wol: { broadcast: string; port: number };
}

/**
 * Runs power actions for hosts through whatever driver each has, off the request path: the
 * caller gets an answer at once, the outcome arrives as host status and events.
 */
export class PowerService {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly hosts: HostService,
    private readonly gate: BmcGate,
    private readonly settings: PowerSettings,
    private readonly logger: Logger,
  ) {}

  driverFor(namespace: string, name: string): PowerDriver {
    const target = this.hosts.powerTarget(namespace, name);
    switch (target.powerControl) {
      case 'redfish': {
        if (!target.address || !target.username) throw badRequest(`host ${namespace}/${name} has no BMC connection`);
        const { address, username } = target;
        return new RedfishDriver(
          { address, systemId: target.systemId, insecureSkipVerify: target.insecureSkipVerify, caBundle: target.caBundle },
          // Decrypted only when a conversation starts, and only held for it.
          () => ({ username, password: this.hosts.bmcPassword(namespace, name) ?? '' }),
          this.gate,
          { connection: this.settings.connection, timings: this.settings.timings },
        );
      }
      case 'wol':
        return new WakeOnLanDriver(target.macs, { ...this.settings.wol, repeat: 3 });
      case 'manual':
        return new ManualDriver(`${namespace}/${name}`);
    }
  }

  /** Starts the action and returns; its result is recorded on the host. */
  request(namespace: string, name: string, action: PowerAction): void {
    const driver = this.driverFor(namespace, name);
    this.hosts.recordPower(namespace, name, {}, { type: 'PowerRequested', message: `power ${action} requested (${driver.kind})`, data: { action, control: driver.kind } });
    const log = this.logger.child({ host: `${namespace}/${name}`, action });
    const run = driver
      .power(action)
      .then((outcome) => {
        if (outcome.kind === 'done') {
          this.hosts.recordPower(namespace, name, { powerState: outcome.powerState, lastError: null }, { type: 'PowerChanged', message: `power ${action} done: ${outcome.powerState}`, data: { action, powerState: outcome.powerState } });
        } else if (outcome.kind === 'sent') {
          this.hosts.recordPower(namespace, name, { lastError: null }, { type: 'PowerSignalSent', message: outcome.message, data: { action } });
        } else {
          this.hosts.recordPower(namespace, name, {}, { type: 'PowerActionNeeded', message: outcome.message, data: { action } });
        }
      })
      .catch((error: unknown) => {
        const full = error instanceof Error ? error.message : String(error);
        const message = full.length > 500 ? `${full.slice(0, 500)}…` : full;
        log.warn({ err: message }, 'power action failed');
        this.hosts.recordPower(namespace, name, { lastError: `power ${action}: ${message}` }, { type: 'PowerFailed', message: `power ${action} failed: ${message}`, data: { action } });
      })
      .finally(() => this.pending.delete(run));
    this.pending.add(run);
  }

  /** Lets in-flight actions finish (shutdown); they are bounded by the Redfish deadlines. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
