import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmtfMockup, haveRedfishData } from '../bmc/data.js';
import { startBmcEmulator } from '../bmc/index.js';
import type { BmcEmulator } from '../bmc/types.js';
import { freePort } from '../helpers/free-port.js';
import { hardwareProfile, simMac, SimulatedMachine, SimulatedRack, startArtifactServer } from '../helpers/ramdisk-sim.js';
import { spawnDaemon, stopDaemon, type DaemonProcess } from '../helpers/process.js';
import { createHash } from 'node:crypto';

// kill -9 of the daemon process the moment a host enters each state, then a restart on the same
// data: every host must still end where its story ends. The BMCs and the simulated machines live
// in this process and keep running across the daemon's death, as real hardware would.

interface StreamEvent {
  id: number;
  kind: string;
  name: string;
  type: string;
  data: Record<string, unknown>;
}

const STATES = ['Enrolling', 'Available', 'Claimed', 'Inspecting', 'Inspected', 'Provisioning', 'Provisioned', 'Deprovisioning'] as const;

describe.skipIf(!haveRedfishData())('kill -9 at every lifecycle state', () => {
  let dataDir: string;
  let port: number;
  let daemon: DaemonProcess;
  let token = '';
  let emulator: BmcEmulator;
  let rack: SimulatedRack;
  let artifacts: Awaited<ReturnType<typeof startArtifactServer>>;
  const started: DaemonProcess[] = [];
  const kernel = Buffer.from('kernel '.repeat(1000));
  const initrd = Buffer.from('initrd '.repeat(1000));
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  const start = async () => {
    daemon = await spawnDaemon(dataDir, ['--port', String(port), '--set', 'lifecycle.ramdiskPollSeconds=1', '--set', 'lifecycle.retryBaseSeconds=0.2', '--set', 'lifecycle.retryMaxSeconds=2']);
    started.push(daemon);
    token ||= daemon.token;
  };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${daemon.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const parsed: unknown = await res.json().catch(() => null);
    return { status: res.status, body: parsed };
  };

  /** Follows the event stream from `since` until `match`; resolves with that event. Reconnects are the caller's job. */
  const waitFor = async (since: number, match: (e: StreamEvent) => boolean, timeoutMs = 60_000): Promise<StreamEvent> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await fetch(`${daemon.url}/api/v1/events?since=${since}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('event stream ended');
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const event = JSON.parse(data.slice(6)) as StreamEvent;
          if (match(event)) return event;
        }
      }
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'beskar7-crash-lifecycle-'));
    port = await freePort();
    rack = new SimulatedRack({ haltDelayMs: 200 });
    emulator = await startBmcEmulator({ mockup: dmtfMockup('public-rackmount1'), count: STATES.length + 2, initialPowerState: 'Off', onBoot: rack.onBoot });
    rack.attach(emulator);
    artifacts = await startArtifactServer({ vmlinuz: kernel, 'initrd.img': initrd });
    await start();
    [...STATES, 'Error', 'Deleting'].forEach((_, i) => {
      rack.add(new SimulatedMachine({ mac: simMac(i), daemonUrl: daemon.url, hardware: hardwareProfile(), waitScale: 0.02, giveUpSeconds: 600, api: 'daemon' }), { bmc: i });
    });
  }, 60_000);

  afterAll(async () => {
    await rack.stop();
    for (const d of started) await stopDaemon(d);
    await emulator.stop();
    await artifacts.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const [i, state] of STATES.entries()) {
    it(`resumes a host killed as it entered ${state}`, async () => {
      const name = `crash-${i}`;
      const bmc = emulator.bmcs[i];
      if (!bmc) throw new Error('bmc missing');
      const since = ((await api('GET', '/api/v1/events/log?since=0&limit=1')).body as { next: number }).next;
      const latest = async () => {
        let next = since;
        for (;;) {
          const page = (await api('GET', `/api/v1/events/log?since=${next}&limit=500`)).body as { next: number; items: unknown[] };
          if (page.items.length === 0) return next;
          next = page.next;
        }
      };
      // Available is the end of the way back here (after deprovisioning), not the one after enrollment.
      const entered = (e: StreamEvent) =>
        e.kind === 'host' &&
        e.name === name &&
        ((e.type === 'StateChanged' && e.data.to === state && (state !== 'Available' || e.data.from === 'Deprovisioning')) || (state === 'Enrolling' && e.type === 'Registered'));
      const watch = waitFor(since, entered);
      await api('POST', '/api/v1/hosts', { name, labels: { crash: String(i) }, redfishConnection: { address: bmc.url, username: bmc.username, password: bmc.password }, bootMACAddresses: [simMac(i)] });
      const deprovisioning = state === 'Deprovisioning' || state === 'Available';
      const machine = { name: `crash-m-${i}`, hostSelector: { matchLabels: { crash: String(i) } }, image: { mode: 'kexec', kernel: { url: artifacts.url('vmlinuz'), sha256: sha(kernel) }, initrd: { url: artifacts.url('initrd.img'), sha256: sha(initrd) } } };
      if (state !== 'Available') await api('POST', '/api/v1/machines', machine);
      if (deprovisioning) {
        // Provision first, then delete the machine; the kill lands during the way back.
        if (state === 'Available') await api('POST', '/api/v1/machines', machine);
        await waitFor(since, (e) => e.kind === 'machine' && e.name === machine.name && e.type === 'PhaseChanged' && e.data.to === 'Provisioned');
        await api('DELETE', `/api/v1/machines/default/${machine.name}`);
      }
      const seen = await watch.catch(async () => waitFor(since, entered));
      // The kill: no shutdown, no flush, whatever was in flight.
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      await start();

      const after = await latest();
      if (deprovisioning) {
        await waitFor(seen.id, (e) => e.kind === 'machine' && e.name === machine.name && e.type === 'Deleted');
        const host = (await api('GET', `/api/v1/hosts/default/${name}`)).body as { status: { state: string; machine: unknown; netbootMode: unknown } };
        if (host.status.state !== 'Available') await waitFor(after, (e) => e.name === name && e.type === 'StateChanged' && e.data.to === 'Available');
        const final = (await api('GET', `/api/v1/hosts/default/${name}`)).body as { status: { state: string; machine: unknown; netbootMode: unknown } };
        expect(final.status).toMatchObject({ state: 'Available', machine: null, netbootMode: null });
      } else {
        const current = (await api('GET', `/api/v1/machines/default/${machine.name}`)).body as { status: { phase: string } };
        if (current.status.phase !== 'Provisioned') await waitFor(after, (e) => e.kind === 'machine' && e.name === machine.name && e.type === 'PhaseChanged' && e.data.to === 'Provisioned');
        const host = (await api('GET', `/api/v1/hosts/default/${name}`)).body as { status: { state: string } };
        expect(host.status.state).toBe('Provisioned');
      }
    }, 120_000);
  }

  it('resumes a host killed as it entered Error, keeping its retry', async () => {
    const i = STATES.length;
    const name = `crash-${i}`;
    const bmc = emulator.bmcs[i];
    if (!bmc) throw new Error('bmc missing');
    const since = ((await api('GET', '/api/v1/events/log?since=0&limit=1')).body as { next: number }).next;
    await api('POST', '/api/v1/hosts', { name, labels: { crash: String(i) }, redfishConnection: { address: bmc.url, username: bmc.username, password: bmc.password }, bootMACAddresses: [simMac(i)] });
    await waitFor(since, (e) => e.name === name && e.type === 'StateChanged' && e.data.to === 'Available');
    bmc.setFaults({ dropProbability: 1 });
    const machine = { name: `crash-m-${i}`, hostSelector: { matchLabels: { crash: String(i) } }, image: { mode: 'kexec', kernel: { url: artifacts.url('vmlinuz'), sha256: sha(kernel) }, initrd: { url: artifacts.url('initrd.img'), sha256: sha(initrd) } } };
    await api('POST', '/api/v1/machines', machine);
    const failed = await waitFor(since, (e) => e.name === name && e.type === 'StateChanged' && e.data.to === 'Error');
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await start();
    const host = (await api('GET', `/api/v1/hosts/default/${name}`)).body as { status: { state: string; lastError: string | null; retryAt: string | null } };
    // The error and its retry time came through the crash; the BMC comes back and the run goes on.
    expect(host.status.lastError).not.toBeNull();
    bmc.resetFaults();
    await waitFor(failed.id, (e) => e.kind === 'machine' && e.name === machine.name && e.type === 'PhaseChanged' && e.data.to === 'Provisioned');
  }, 120_000);

  it('finishes deleting a host killed as it entered Deleting', async () => {
    const i = STATES.length + 1;
    const name = `crash-${i}`;
    const bmc = emulator.bmcs[i];
    if (!bmc) throw new Error('bmc missing');
    const since = ((await api('GET', '/api/v1/events/log?since=0&limit=1')).body as { next: number }).next;
    await api('POST', '/api/v1/hosts', { name, redfishConnection: { address: bmc.url, username: bmc.username, password: bmc.password }, bootMACAddresses: [simMac(i)] });
    await waitFor(since, (e) => e.name === name && e.type === 'StateChanged' && e.data.to === 'Available');
    bmc.setFaults({ latencyMs: 300 });
    expect((await api('DELETE', `/api/v1/hosts/default/${name}`)).status).toBe(202);
    const deleting = await waitFor(since, (e) => e.name === name && e.type === 'StateChanged' && e.data.to === 'Deleting');
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await start();
    bmc.resetFaults();
    await waitFor(deleting.id, (e) => e.name === name && e.type === 'Deleted');
    expect((await api('GET', `/api/v1/hosts/default/${name}`)).status).toBe(404);
  }, 120_000);
});
