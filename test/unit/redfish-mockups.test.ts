import { describe, expect, it } from 'vitest';
import { RedfishError } from '../../daemon/redfish/errors.js';
import { dmtfMockup, sushyToolsTree, type DmtfMockup } from '../bmc/index.js';
import { connectTo, withClient, withEmulator } from '../helpers/redfish.js';

const MOCKUPS: DmtfMockup[] = [
  'public-rackmount1',
  'public-bladed',
  'public-bladed-partitions',
  'public-tower',
  'public-localstorage',
  'public-liquid-cooled-server',
  'public-oem-examples',
];

describe('enrolment against every DMTF mockup', () => {
  it.each(MOCKUPS)('%s: reads system info from each system, or says precisely what is missing', async (name) => {
    await withEmulator({ mockup: dmtfMockup(name) }, async (_e, bmc) => {
      const systems = bmc.systems;
      if (systems.length !== 1) {
        // Several systems: refused without an id, naming every one of them.
        const error = await connectTo(bmc).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(RedfishError);
        for (const system of systems) expect((error as Error).message).toContain(system.id);
      }
      for (const system of systems) {
        const info = await withClient(bmc, (client) => client.systemInfo(), { systemId: systems.length === 1 ? null : system.id });
        expect(info.systemPath.toLowerCase()).toContain(system.id.toLowerCase());
        expect(['On', 'Off', 'PoweringOn', 'PoweringOff', 'Paused', 'Unknown']).toContain(info.powerState);
        // What enrolment records: at least an identity of the hardware.
        expect(info.uuid ?? info.serialNumber ?? info.model).not.toBeNull();
        for (const mac of info.macAddresses) expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      }
      expect(bmc.liveSessions()).toHaveLength(0);
    });
  });

  it('the sushy-tools capture too', async () => {
    await withEmulator({ mockup: sushyToolsTree() }, async (_e, bmc) => {
      const info = await withClient(bmc, (client) => client.systemInfo(), { systemId: bmc.systems[0]?.id ?? null });
      expect(info.macAddresses.length).toBeGreaterThan(0);
    });
  });
});
