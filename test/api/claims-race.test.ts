import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveRedfishData } from '../bmc/data.js';
import { hostName, startLab, type Lab } from '../helpers/lab.js';
import type { MachineView } from '../../daemon/core/schemas/machine.js';

const HOSTS = 100;
const MACHINES = 200;

describe.skipIf(!haveRedfishData())('200 machines racing for 100 hosts', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ hosts: HOSTS });
  }, 120_000);
  afterAll(async () => lab.stop());

  it('makes exactly 100 claims, never one host twice, and provisions every claimed host', async () => {
    const mark = lab.mark();
    await Promise.all(Array.from({ length: HOSTS }, (_, i) => lab.registerHost(i)));
    let available = 0;
    await lab.until((e) => e.kind === 'host' && e.type === 'StateChanged' && e.data.to === 'Available' && ++available === HOSTS, mark, 120_000);

    // All at once, over HTTP: every create triggers a claim pass while others are in flight.
    const created = await Promise.all(Array.from({ length: MACHINES }, (_, i) => lab.d.api('POST', '/api/v1/machines', { name: `racer-${i}`, image: lab.kexecImage })));
    expect(created.every((r) => r.status === 201)).toBe(true);
    let provisioned = 0;
    await lab.until((e) => e.kind === 'machine' && e.type === 'PhaseChanged' && e.data.to === 'Provisioned' && ++provisioned === HOSTS, mark, 180_000);
    await lab.d.daemon.services?.engine.idle();

    const list = await lab.d.api('GET', '/api/v1/machines?limit=1000');
    const machines = (list.body as { items: MachineView[] }).items.filter((m) => m.name.startsWith('racer-'));
    expect(machines).toHaveLength(MACHINES);
    const withHost = machines.filter((m) => m.status.host !== null);
    expect(withHost).toHaveLength(HOSTS);
    const hosts = withHost.map((m) => `${m.status.host?.namespace}/${m.status.host?.name}`);
    expect(new Set(hosts).size).toBe(HOSTS);
    expect(new Set(hosts)).toEqual(new Set(Array.from({ length: HOSTS }, (_, i) => `default/${hostName(i)}`)));
    expect(withHost.every((m) => m.status.phase === 'Provisioned')).toBe(true);
    expect(machines.filter((m) => m.status.host === null).every((m) => m.status.phase === 'Pending')).toBe(true);
    // No host ever had two machines: every Claimed event names a distinct host.
    const claimed: (string | undefined)[] = [];
    for (let since = mark; ; ) {
      const page = (await lab.d.api('GET', `/api/v1/events/log?since=${since}&limit=500&kind=machine`)).body as { items: { type: string; data: { host?: string } }[]; next: number };
      if (page.items.length === 0) break;
      claimed.push(...page.items.filter((e) => e.type === 'Claimed').map((e) => e.data.host));
      since = page.next;
    }
    expect(claimed).toHaveLength(HOSTS);
    expect(new Set(claimed).size).toBe(HOSTS);
  }, 300_000);
});
