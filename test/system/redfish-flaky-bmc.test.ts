import { describe, expect, it } from 'vitest';
import { RedfishDriver } from '../../daemon/power/redfish-driver.js';
import { BmcGate } from '../../daemon/redfish/gate.js';
import { dmtfMockup } from '../bmc/index.js';
import { withEmulator } from '../helpers/redfish.js';

describe('a BMC answering 30% of requests with 5xx, each after 2 s', () => {
  it('still gets its one-time PXE set and the machine powered on', async () => {
    await withEmulator(
      {
        mockup: dmtfMockup('public-rackmount1'),
        seed: 20261121,
        faults: { serverErrorProbability: 0.3, serverErrorStatus: 503, retryAfterSeconds: null, latencyMs: 2000, powerOnDelayMs: 3000 },
      },
      async (_emulator, bmc) => {
        bmc.system().setPowerState('Off');
        bmc.system().setBoot({ target: 'Hdd', enabled: 'Disabled' });
        const driver = new RedfishDriver(
          { address: bmc.url, systemId: null, insecureSkipVerify: false, caBundle: null },
          () => ({ username: bmc.username, password: bmc.password }),
          new BmcGate(4),
          {
            connection: { timeoutMs: 10_000, retry: { attempts: 10, baseDelayMs: 200, maxDelayMs: 2000, jitter: 0.5 } },
            timings: { pollIntervalMs: 500, powerDeadlineMs: 60_000 },
          },
        );
        const started = Date.now();
        const result = await driver.bootFromNetwork('UEFI');
        expect(result.enabled).toBe('Once');
        expect(bmc.system().powerState).toBe('On');
        // The power-on consumed the override: the machine booted from the network.
        expect(bmc.system().bootHistory.at(-1)).toMatchObject({ target: 'Pxe', enabled: 'Once' });
        expect(bmc.stats.injectedErrors).toBeGreaterThan(0);
        expect(bmc.liveSessions()).toHaveLength(0);
        process.stdout.write(`flaky BMC: powered on with PXE in ${((Date.now() - started) / 1000).toFixed(1)} s, ${bmc.stats.requests} requests, ${bmc.stats.injectedErrors} injected 5xx\n`);
      },
    );
  }, 240_000);
});
