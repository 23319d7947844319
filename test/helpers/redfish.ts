import { RedfishClient, type ClientTimings } from '../../daemon/redfish/client.js';
import type { ConnectionOptions } from '../../daemon/redfish/connection.js';
import { startBmcEmulator, type BmcEmulator, type BmcEmulatorOptions, type EmulatedBmc } from '../bmc/index.js';

/** Fast clocks for tests: the emulator's delays are milliseconds, not the field's seconds. */
export const TEST_CONNECTION: ConnectionOptions = { timeoutMs: 3000, retry: { attempts: 8, baseDelayMs: 10, maxDelayMs: 100, jitter: 0.5 } };
export const TEST_TIMINGS: Partial<ClientTimings> = { pollIntervalMs: 10, powerDeadlineMs: 5000, gracefulDeadlineMs: 300, taskDeadlineMs: 5000 };

export function connectTo(
  bmc: EmulatedBmc,
  options: { systemId?: string | null; caBundle?: string | null; insecureSkipVerify?: boolean; password?: string; connection?: ConnectionOptions } = {},
): Promise<RedfishClient> {
  return RedfishClient.connect(
    { address: bmc.url, systemId: options.systemId ?? null, insecureSkipVerify: options.insecureSkipVerify ?? false, caBundle: options.caBundle ?? null },
    { username: bmc.username, password: options.password ?? bmc.password },
    { connection: options.connection ?? TEST_CONNECTION, timings: TEST_TIMINGS },
  );
}

/** Starts an emulator, runs the test body, and always stops it. */
export async function withEmulator<T>(options: BmcEmulatorOptions, body: (emulator: BmcEmulator, bmc: EmulatedBmc) => Promise<T>): Promise<T> {
  const emulator = await startBmcEmulator(options);
  try {
    const first = emulator.bmcs[0];
    if (!first) throw new Error('emulator started no BMC');
    return await body(emulator, first);
  } finally {
    await emulator.stop();
  }
}

/** Connects, runs, and logs out whatever happens. */
export async function withClient<T>(bmc: EmulatedBmc, body: (client: RedfishClient) => Promise<T>, options: Parameters<typeof connectTo>[1] = {}): Promise<T> {
  const client = await connectTo(bmc, options);
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}
