import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { magicPacket } from '../../daemon/power/wake-on-lan.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

/** Waits for the host's event of the given type by following the event log (no sleeps). */
async function nextEvent(d: TestDaemon, name: string, type: string): Promise<Record<string, unknown>> {
  for (let since = 0; ; ) {
    // Subscribe before reading, so an event committed in between still wakes us.
    let off = () => {};
    const arrived = new Promise<void>((resolve) => {
      off = d.daemon.bus.on('event', () => resolve());
    });
    const res = await d.api('GET', `/api/v1/events/log?since=${since}&name=${name}&limit=100`);
    const page = res.body as { items: Record<string, unknown>[]; next: number };
    const found = page.items.find((event) => event.type === type);
    if (!found && page.items.length === 0) await arrived;
    off();
    if (found) return found;
    since = page.next;
  }
}

describe('POST /api/v1/hosts/{namespace}/{name}/power without a BMC', () => {
  it('tells the operator what to do for a manually powered host', async () => {
    const d = await startTestDaemon();
    try {
      expect((await d.api('POST', '/api/v1/hosts', { name: 'bench-pc', powerControl: 'manual' })).status).toBe(201);
      const res = await d.api('POST', '/api/v1/hosts/default/bench-pc/power', { action: 'on' });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ accepted: true, action: 'on' });
      const event = await nextEvent(d, 'bench-pc', 'PowerActionNeeded');
      expect(event.message).toBe('operator: power it on (default/bench-pc has manual power control)');
    } finally {
      await d.stop();
    }
  });

  it('wakes a Wake-on-LAN host with the magic packet for its boot MAC', async () => {
    const listener = createSocket('udp4');
    await new Promise<void>((resolve) => listener.bind(0, '127.0.0.1', resolve));
    const packets: Buffer[] = [];
    listener.on('message', (data) => packets.push(data));
    const d = await startTestDaemon({ overrides: ['wol.broadcast=127.0.0.1', `wol.port=${listener.address().port}`] });
    try {
      await d.api('POST', '/api/v1/hosts', { name: 'nuc', powerControl: 'wol', bootMACAddresses: ['aa:bb:cc:00:11:22'] });
      expect((await d.api('POST', '/api/v1/hosts/default/nuc/power', { action: 'on' })).status).toBe(202);
      const event = await nextEvent(d, 'nuc', 'PowerSignalSent');
      expect(event.message).toContain('magic packet sent to aa:bb:cc:00:11:22');
      while (packets.length < 3) await new Promise((resolve) => listener.once('message', resolve));
      expect(packets[0]?.equals(magicPacket('aa:bb:cc:00:11:22'))).toBe(true);
      expect(packets[0]?.length).toBe(102);
      const off = await d.api('POST', '/api/v1/hosts/default/nuc/power', { action: 'off' });
      expect(off.status).toBe(202);
    } finally {
      await d.stop();
      listener.close();
    }
  });

  it('validates the action and the host', async () => {
    const d = await startTestDaemon();
    try {
      await d.api('POST', '/api/v1/hosts', { name: 'm', powerControl: 'manual' });
      expect((await d.api('POST', '/api/v1/hosts/default/m/power', { action: 'explode' })).status).toBe(400);
      expect((await d.api('POST', '/api/v1/hosts/default/nobody/power', { action: 'on' })).status).toBe(404);
    } finally {
      await d.stop();
    }
  });
});
