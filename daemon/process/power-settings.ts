import type { Config } from '../config/schema.js';
import type { PowerSettings } from '../core/power.js';
import { DEFAULT_RETRY } from '../redfish/retry.js';

/** The power service's knobs, from the configuration's seconds and counts. */
export function powerSettings(config: Config): PowerSettings {
  return {
    connection: { timeoutMs: config.redfish.requestTimeoutMs, retry: { ...DEFAULT_RETRY, attempts: config.redfish.retryAttempts } },
    timings: { powerDeadlineMs: config.redfish.powerDeadlineSeconds * 1000, gracefulDeadlineMs: config.redfish.gracefulShutdownSeconds * 1000 },
    wol: config.wol,
  };
}
