import { describe, expect, it } from 'vitest';
import { dmtfMockup, startBmcEmulator } from '../bmc/index.js';
import type { BootEvent } from '../bmc/index.js';
import { connectTo } from '../helpers/redfish.js';

const RACK = dmtfMockup('public-rackmount1');

describe('BMC emulator: onBoot hook', () => {
  it('reports every power-on with the override it read: Pxe once after a one-time PXE, then null', async () => {
    const events: BootEvent[] = [];
    const emulator = await startBmcEmulator({ mockup: RACK, count: 2, faults: { powerOnDelayMs: 20, powerOffDelayMs: 20 }, onBoot: (event) => events.push(event) });
    try {
      const bmc = emulator.bmcs[1]!;
      const system = bmc.system();
      const client = await connectTo(bmc);
      try {
        await client.setOneTimePxe('UEFI');
        expect(events).toEqual([]);
        await client.restart();
        expect(events).toEqual([{ bmc: 1, system: system.id, record: expect.objectContaining({ target: 'Pxe', enabled: 'Once', mode: 'UEFI' }) as unknown }]);
        // The listener ran after the firmware spent the Once override, and got the same record as the history.
        expect(system.boot).toMatchObject({ enabled: 'Disabled', target: 'None' });
        expect(events[0]?.record).toEqual(system.bootHistory.at(-1));

        await client.restart();
        expect(events).toHaveLength(2);
        expect(events[1]).toMatchObject({ bmc: 1, system: system.id, record: { target: null, enabled: 'Disabled' } });

        await client.powerOff();
        expect(events).toHaveLength(2);
        await client.powerOn();
        expect(events.map((e) => e.record.target)).toEqual(['Pxe', null, null]);
      } finally {
        await client.close();
      }
      // The other BMC never booted.
      expect(events.every((e) => e.bmc === 1)).toBe(true);
    } finally {
      await emulator.stop();
    }
  });

  it('survives a listener that throws: the boot is recorded and the BMC still answers', async () => {
    const thrown: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      thrown.push(error);
    };
    // vitest reports uncaught exceptions as failures; catch the one this test provokes on purpose.
    process.prependListener('uncaughtException', onUncaught);
    const emulator = await startBmcEmulator({
      mockup: RACK,
      onBoot: () => {
        throw new Error('listener bug');
      },
    });
    try {
      const bmc = emulator.bmcs[0]!;
      const client = await connectTo(bmc);
      try {
        await client.setOneTimePxe('UEFI');
        await client.restart();
        expect(await client.powerState()).toBe('On');
      } finally {
        await client.close();
      }
      expect(bmc.system().bootHistory.map((r) => r.target)).toEqual(['Pxe']);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(thrown).toEqual([expect.objectContaining({ message: 'listener bug' })]);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      await emulator.stop();
    }
  });
});
