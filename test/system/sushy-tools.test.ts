import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedfishClient } from '../../daemon/redfish/client.js';
import { RedfishError } from '../../daemon/redfish/errors.js';
import { tempDir } from '../helpers/daemon.js';
import { startSushyEmulator, type SushyEmulator } from '../helpers/sushy-tools.js';

let emulator: SushyEmulator;
let dir: string;
// The fake driver applies power changes 1–11 s after they are asked for.
const timings = { pollIntervalMs: 100, powerDeadlineMs: 30_000 };
const connection = { timeoutMs: 5000, retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 200, jitter: 0.5 } };

beforeAll(async () => {
  dir = tempDir('beskar7-sushy-');
  emulator = await startSushyEmulator(dir);
}, 60_000);
afterAll(async () => {
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const connect = (systemId: string | null, password = emulator.password) =>
  RedfishClient.connect({ address: emulator.url, systemId, insecureSkipVerify: false, caBundle: null }, { username: emulator.username, password }, { connection, timings });

describe('Redfish client against sushy-tools (fake driver)', () => {
  it('refuses to guess between two systems, naming them', async () => {
    const error = await connect(null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedfishError);
    expect((error as Error).message).toMatch(/has 2 systems \(.+, .+\); set redfishConnection\.systemId/);
  });

  it('finds a system by name through the emulator redirect to its UUID, over Basic auth', async () => {
    const client = await connect('fake');
    try {
      expect(client.usesSession).toBe(false);
      const info = await client.systemInfo();
      expect(info.uuid).toBe('27946b59-9e44-4fa7-8e91-f3527a1ef094');
      expect(info.systemPath).toContain('27946b59-9e44-4fa7-8e91-f3527a1ef094');
      expect(info.macAddresses).toEqual(['00:5c:52:31:3a:9c']);
    } finally {
      await client.close();
    }
  });

  it('powers on, sets a one-time PXE boot verified by read-back, restarts, clears it, powers off', async () => {
    const client = await connect('fake');
    try {
      await client.powerOff();
      expect(await client.powerState()).toBe('Off');
      const pxe = await client.setOneTimePxe('UEFI');
      expect(pxe.via).toBe('system');
      expect(['Once', 'Continuous']).toContain(pxe.enabled);
      await client.powerOn();
      expect(await client.powerState()).toBe('On');
      // PowerCycle is answered 501 by the emulator; restart falls back rather than failing.
      await client.restart();
      expect(await client.powerState()).toBe('On');
      await client.clearBootOverride();
      await client.powerOff({ graceful: false });
      expect(await client.powerState()).toBe('Off');
    } finally {
      await client.close();
    }
  });

  it('reports wrong credentials clearly, without the password', async () => {
    const error = await connect('fake', 'not-the-password-4711').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedfishError);
    expect((error as RedfishError).status).toBe(401);
    expect((error as Error).message).not.toContain('not-the-password-4711');
    expect((error as Error).message).toContain(emulator.url.replace('http://', ''));
  });
});
