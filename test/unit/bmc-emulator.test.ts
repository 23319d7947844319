import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmtfMockup, profile, redfishDataDir, startBmcEmulator, sushyToolsTree } from '../bmc/index.js';
import type { BmcEmulator, DmtfMockup, EmulatedBmc } from '../bmc/index.js';
import { loadMockupTree } from '../bmc/tree.js';

// ---------------------------------------------------------------- a deliberately dumb HTTP client

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: unknown;
}

interface Call {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as is, not JSON-encoded. */
  raw?: string;
  /** Default: Basic with the BMC's credentials. */
  auth?: 'basic' | 'none' | { token: string } | { user: string; password: string };
  ca?: string;
  insecure?: boolean;
  agent?: HttpAgent;
}

/** Only what a client knows about a BMC: where it is and the credentials. */
type Target = Pick<EmulatedBmc, 'url' | 'username' | 'password'>;

function call(bmc: Target, path: string, options: Call = {}): Promise<Reply> {
  const url = new URL(path, bmc.url);
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const auth = options.auth ?? 'basic';
  if (auth === 'basic') headers.authorization = `Basic ${Buffer.from(`${bmc.username}:${bmc.password}`).toString('base64')}`;
  else if (auth !== 'none' && 'token' in auth) headers['x-auth-token'] = auth.token;
  else if (auth !== 'none') headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
        headers,
        agent: options.agent ?? false,
        timeout: 10_000,
        ...(url.protocol === 'https:' ? { ...(options.ca ? { ca: options.ca } : {}), rejectUnauthorized: !options.insecure } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text === '' ? null : JSON.parse(text);
          } catch {
            body = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Walks a JSON value: at(body, 'Boot', 'BootSourceOverrideTarget'). */
function at(value: unknown, ...keys: (string | number)[]): unknown {
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

const firstMessageId = (reply: Reply): unknown => at(reply.body, 'error', '@Message.ExtendedInfo', 0, 'MessageId');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const tcpServers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;

const reset = (bmc: EmulatedBmc, type: string, system = bmc.system()): Promise<Reply> =>
  call(bmc, `${system.path}/Actions/ComputerSystem.Reset`, { body: { ResetType: type } });
const patchBoot = (bmc: EmulatedBmc, boot: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Reply> =>
  call(bmc, bmc.system().path, { method: 'PATCH', body: { Boot: boot }, headers });

const RACK = dmtfMockup('public-rackmount1');
const RACK_SYSTEM = '/redfish/v1/Systems/437XR1138R2';

// ---------------------------------------------------------------- serving mockups

describe('BMC emulator: serving mockup trees', () => {
  const mockups: DmtfMockup[] = ['public-rackmount1', 'public-bladed', 'public-bladed-partitions', 'public-tower', 'public-localstorage', 'public-liquid-cooled-server', 'public-oem-examples'];
  let emulator: BmcEmulator;

  beforeAll(async () => {
    emulator = await startBmcEmulator({ mockup: RACK, bmcs: [...mockups.map((m) => ({ mockup: dmtfMockup(m) })), { mockup: sushyToolsTree() }] });
  });
  afterAll(() => emulator.stop());

  it.each(mockups.map((m, i) => [m, i] as const))('%s: root with and without slash, systems, $metadata', async (mockup, index) => {
    const bmc = emulator.bmcs[index]!;
    const bare = await call(bmc, '/redfish/v1', { auth: 'none' });
    const slash = await call(bmc, '/redfish/v1/', { auth: 'none' });
    expect(bare.status).toBe(200);
    expect(slash.text).toBe(bare.text);
    expect(at(bare.body, '@odata.type')).toMatch(/^#ServiceRoot\./);
    expect(bare.headers.etag).toMatch(/^"[0-9a-f]+"$/);
    expect((await call(bmc, '/redfish', { auth: 'none' })).body).toEqual({ v1: '/redfish/v1/' });

    const tree = await loadMockupTree(dmtfMockup(mockup));
    const metadata = await call(bmc, '/redfish/v1/$metadata', { auth: 'none' });
    if (tree.metadataXml) {
      expect(metadata.status).toBe(200);
      expect(metadata.headers['content-type']).toMatch(/xml/);
      expect(metadata.text).toContain('<edmx:Edmx');
    } else {
      expect(metadata.status).toBe(404);
    }

    const systems = await call(bmc, '/redfish/v1/Systems/');
    if (tree.systemPaths.length === 0) {
      expect(systems.status).toBe(404);
      return;
    }
    expect(systems.status).toBe(200);
    expect(at(systems.body, 'Members@odata.count')).toBe(tree.systemPaths.length);
    for (const system of bmc.systems) {
      const reply = await call(bmc, `${system.path}/`);
      expect(reply.status).toBe(200);
      expect(at(reply.body, 'Id')).toBe(system.id);
      expect(at(reply.body, 'PowerState')).toBe(system.powerState);
      expect(at(reply.body, 'Actions', '#ComputerSystem.Reset', 'target')).toBe(`${system.path}/Actions/ComputerSystem.Reset`);
    }
  });

  it('serves every resource of the largest mockup (public-tower) exactly as stored', async () => {
    const bmc = emulator.bmcs[mockups.indexOf('public-tower')]!;
    const tree = await loadMockupTree(dmtfMockup('public-tower'));
    expect(tree.resources.size).toBeGreaterThan(500);
    const systems = new Set(tree.systemPaths);
    const sessions = '/redfish/v1/SessionService/Sessions';
    for (const [path, body] of tree.resources) {
      const reply = await call(bmc, path);
      // Sessions are live state: the mockup's example session does not exist on an emulated BMC.
      expect(reply.status, path).toBe(path.startsWith(`${sessions}/`) ? 404 : 200);
      // Systems are rendered from state, the root from the session mode; the rest is verbatim.
      if (!systems.has(path) && !path.startsWith(sessions) && path !== '/redfish/v1') expect(reply.body, path).toEqual(body);
    }
  });

  it('serves the sushy-tools capture (two systems, no SessionService, no $metadata)', async () => {
    const bmc = emulator.bmcs[mockups.length]!;
    expect(bmc.systems.map((s) => s.name)).toEqual(['fake', 'fake2']);
    expect(bmc.system('27946b59-9e44-4fa7-8e91-f3527a1ef094').powerState).toBe('Off');
    const root = await call(bmc, '/redfish/v1/', { auth: 'none' });
    expect(at(root.body, 'SessionService')).toBeUndefined();
    expect(at(root.body, 'Links', 'Sessions')).toBeUndefined();
    expect((await call(bmc, '/redfish/v1/SessionService')).status).toBe(404);
    expect((await call(bmc, '/redfish/v1/Systems/48295eb1-4a1d-4a9b-9a2b-7c1c1e0d2f11/EthernetInterfaces/00:5c:52:31:3a:9d')).status).toBe(200);
  });

  it('answers unknown resources, wrong methods and unimplemented actions the Redfish way', async () => {
    const bmc = emulator.bmcs[0]!;
    const missing = await call(bmc, '/redfish/v1/Systems/nope');
    expect(missing.status).toBe(404);
    expect(firstMessageId(missing)).toBe('Base.1.22.ResourceNotFound');
    const wrong = await call(bmc, '/redfish/v1/Chassis', { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toContain('GET');
    expect((await call(bmc, `${RACK_SYSTEM}/Oem/Contoso/Actions/Contoso.Reset`, { body: {} })).status).toBe(501);
    expect((await call(bmc, '/nothing', { auth: 'none' })).status).toBe(404);
  });

  it('keeps writes per BMC (copy-on-write over the shared tree)', async () => {
    const [a, b] = [emulator.bmcs[0]!, await startBmcEmulator({ mockup: RACK })];
    try {
      const other = b.bmcs[0]!;
      const before = await call(a, '/redfish/v1/Managers/BMC');
      const patched = await call(a, '/redfish/v1/Managers/BMC', { method: 'PATCH', body: { DateTime: '2030-01-01T00:00:00Z' } });
      expect(patched.status).toBe(200);
      expect(at(patched.body, 'DateTime')).toBe('2030-01-01T00:00:00Z');
      expect(patched.headers.etag).not.toBe(before.headers.etag);
      expect(at((await call(other, '/redfish/v1/Managers/BMC')).body, 'DateTime')).toBe('2015-03-13T04:14:33+06:00');
      expect(JSON.parse(readFileSync(join(RACK, 'Managers/BMC/index.json'), 'utf8'))).toMatchObject({ DateTime: '2015-03-13T04:14:33+06:00' });
      const unknown = await call(a, '/redfish/v1/Managers/BMC', { method: 'PATCH', body: { Bogus: 1 } });
      expect(unknown.status).toBe(400);
      expect(firstMessageId(unknown)).toBe('Base.1.22.PropertyUnknown');
      const system = await call(a, RACK_SYSTEM, { method: 'PATCH', body: { AssetTag: 'rack-7', SKU: 'x' } });
      expect(system.status).toBe(400);
      expect(firstMessageId(system)).toBe('Base.1.22.PropertyNotWritable');
      expect(at((await call(a, RACK_SYSTEM, { method: 'PATCH', body: { AssetTag: 'rack-7' } })).body, 'AssetTag')).toBe('rack-7');
    } finally {
      await b.stop();
    }
  });

  it('matches the sushy-tools capture status for status (sushy-tools profile)', async () => {
    const sushy = await startBmcEmulator({ ...profile('sushy-tools'), mockup: sushyToolsTree() });
    try {
      const bmc = sushy.bmcs[0]!;
      interface Exchange {
        note: string;
        request: { method: string; path: string; body: unknown; auth: string | null };
        response: { status: number; headers: Record<string, string>; body: unknown };
      }
      const transcript = JSON.parse(readFileSync(join(redfishDataDir(), 'sushy-tools-capture', 'transcript.json'), 'utf8')) as Exchange[];
      // Not emulated: the fake driver's 5xx for sub-resources it lacks, and its own validation quirks
      // (501 for any unknown ResetType, 500 without one, 204 for a target outside AllowableValues, 400 for Enabled alone).
      const skipped = new Set(['invalid ResetType', 'missing ResetType', 'target not in AllowableValues', 'Enabled only, no target/mode']);
      let compared = 0;
      for (const exchange of transcript) {
        if (skipped.has(exchange.note) || (exchange.request.method === 'GET' && exchange.response.status >= 500)) continue;
        const auth = exchange.request.auth === null ? 'none' : exchange.note === 'bad credentials' ? { user: 'admin', password: 'wrong' } : 'basic';
        const reply = await call(bmc, exchange.request.path, {
          method: exchange.request.method,
          auth,
          ...(exchange.request.body === null ? {} : { body: exchange.request.body }),
        });
        expect(reply.status, `${exchange.request.method} ${exchange.request.path} (${exchange.note})`).toBe(exchange.response.status);
        if (exchange.response.headers.Location) expect(reply.headers.location).toBe(exchange.response.headers.Location);
        if (exchange.response.status === 200 && typeof exchange.response.body === 'object') {
          expect(at(reply.body, '@odata.id')).toBe(at(exchange.response.body, '@odata.id'));
        }
        compared++;
      }
      expect(compared).toBeGreaterThan(50);
      expect(bmc.system().boot.enabled).toBe('Continuous');
    } finally {
      await sushy.stop();
    }
  });
});

// ---------------------------------------------------------------- power and boot

describe('BMC emulator: ComputerSystem behaviour', () => {
  let emulator: BmcEmulator;
  let next = 0;
  const fresh = (): EmulatedBmc => emulator.bmcs[next++]!;

  beforeAll(async () => {
    emulator = await startBmcEmulator({ mockup: RACK, count: 24 });
  });
  afterAll(() => emulator.stop());

  it('moves through PoweringOff/PoweringOn with the configured delays', async () => {
    const bmc = fresh();
    bmc.setFaults({ powerOffDelayMs: 300, powerOnDelayMs: 300 });
    const power = async (): Promise<unknown> => at((await call(bmc, RACK_SYSTEM)).body, 'PowerState');
    expect(await power()).toBe('On');
    expect((await reset(bmc, 'ForceOff')).status).toBe(204);
    expect(await power()).toBe('PoweringOff');
    await until(async () => (await power()) === 'Off');
    const started = Date.now();
    expect((await reset(bmc, 'On')).status).toBe(204);
    expect(await power()).toBe('PoweringOn');
    await until(async () => (await power()) === 'On');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(bmc.system().bootHistory).toHaveLength(1);
    expect(bmc.stats.resets.map((r) => [r.resetType, r.status])).toEqual([
      ['ForceOff', 204],
      ['On', 204],
    ]);
  });

  it('restarts through Off and boots once per restart; On while on and Off while off change nothing', async () => {
    const bmc = fresh();
    bmc.setFaults({ powerOffDelayMs: 50, powerOnDelayMs: 50 });
    await reset(bmc, 'On');
    expect(bmc.system().bootHistory).toHaveLength(0);
    await reset(bmc, 'ForceRestart');
    expect(bmc.system().powerState).toBe('PoweringOff');
    await until(() => bmc.system().powerState === 'PoweringOn');
    await until(() => bmc.system().powerState === 'On');
    await reset(bmc, 'PushPowerButton');
    await until(() => bmc.system().powerState === 'Off');
    await reset(bmc, 'GracefulShutdown');
    expect(bmc.system().powerState).toBe('Off');
    await reset(bmc, 'GracefulRestart');
    await until(() => bmc.system().powerState === 'On');
    await reset(bmc, 'Nmi');
    expect(bmc.system().powerState).toBe('On');
    expect(bmc.system().bootHistory).toHaveLength(2);
  });

  it('consumes a Once override at the next power-on, so the client can see it was used', async () => {
    const bmc = fresh();
    bmc.system().setPowerState('Off');
    bmc.system().setBoot({ target: 'Hdd', enabled: 'Disabled' });
    bmc.setFaults({ powerOnDelayMs: 300 });
    const patched = await patchBoot(bmc, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'UEFI' });
    expect(patched.status).toBe(200);
    expect(at(patched.body, 'Boot')).toMatchObject({ BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' });
    expect(bmc.stats.bootPatches).toHaveLength(1);
    expect(bmc.stats.bootPatches[0]).toMatchObject({ via: 'system', status: 200, applied: true, boot: { BootSourceOverrideTarget: 'Pxe' } });

    await reset(bmc, 'On');
    // Still visible while the machine powers on: the firmware reads it at boot.
    expect(at((await call(bmc, RACK_SYSTEM)).body, 'Boot', 'BootSourceOverrideEnabled')).toBe('Once');
    await until(() => bmc.system().powerState === 'On');
    const after = await call(bmc, RACK_SYSTEM);
    expect(at(after.body, 'Boot')).toMatchObject({ BootSourceOverrideTarget: 'None', BootSourceOverrideEnabled: 'Disabled', BootSourceOverrideMode: 'UEFI' });
    expect(bmc.system().bootHistory).toEqual([expect.objectContaining({ target: 'Pxe', enabled: 'Once', mode: 'UEFI' })]);

    await reset(bmc, 'ForceRestart');
    await until(() => bmc.system().bootHistory.length === 2);
    expect(bmc.system().bootHistory[1]).toMatchObject({ target: null, enabled: 'Disabled' });
  });

  it('keeps a Continuous override across boots', async () => {
    const bmc = fresh();
    await patchBoot(bmc, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Continuous' });
    await reset(bmc, 'ForceRestart');
    await reset(bmc, 'ForceRestart');
    expect(bmc.system().bootHistory.map((b) => b.target)).toEqual(['Pxe', 'Pxe']);
    expect(bmc.system().boot).toMatchObject({ target: 'Pxe', enabled: 'Continuous' });
  });

  it('validates Reset against ResetType@Redfish.AllowableValues and the body', async () => {
    const bmc = fresh();
    const cycle = await reset(bmc, 'PowerCycle');
    expect(cycle.status).toBe(400);
    expect(firstMessageId(cycle)).toBe('Base.1.22.ActionParameterValueNotInList');
    expect(at(cycle.body, 'error', '@Message.ExtendedInfo', 0, 'MessageArgs')).toEqual(['PowerCycle', 'ResetType', 'ComputerSystem.Reset']);
    expect((await reset(bmc, 'Bogus')).status).toBe(400);
    const missing = await call(bmc, `${RACK_SYSTEM}/Actions/ComputerSystem.Reset`, { body: {} });
    expect(firstMessageId(missing)).toBe('Base.1.22.ActionParameterMissing');
    const malformed = await call(bmc, `${RACK_SYSTEM}/Actions/ComputerSystem.Reset`, { raw: '{"ResetType":', method: 'POST' });
    expect(firstMessageId(malformed)).toBe('Base.1.22.MalformedJSON');
    expect((await call(bmc, `${RACK_SYSTEM}/Actions/ComputerSystem.Reset`)).status).toBe(405);
    expect(bmc.stats.resets.map((r) => r.status)).toEqual([400, 400, 400, 400]);
    expect(bmc.system().powerState).toBe('On');
  });

  it('can replace the advertised reset types and publish them only behind @Redfish.ActionInfo', async () => {
    const bmc = fresh();
    bmc.setFaults({ resetTypes: ['On', 'ForceOff', 'PowerCycle'], resetTypesViaActionInfo: true });
    const system = await call(bmc, RACK_SYSTEM);
    const action = at(system.body, 'Actions', '#ComputerSystem.Reset');
    expect(action).toEqual({ target: `${RACK_SYSTEM}/Actions/ComputerSystem.Reset`, '@Redfish.ActionInfo': `${RACK_SYSTEM}/ResetActionInfo` });
    const info = await call(bmc, `${RACK_SYSTEM}/ResetActionInfo`);
    expect(at(info.body, 'Parameters', 0, 'AllowableValues')).toEqual(['On', 'ForceOff', 'PowerCycle']);
    expect((await reset(bmc, 'PowerCycle')).status).toBe(204);
    expect((await reset(bmc, 'GracefulShutdown')).status).toBe(400);
  });

  it('validates Boot PATCHes against the AllowableValues in the resource', async () => {
    const bmc = fresh();
    const target = await patchBoot(bmc, { BootSourceOverrideTarget: 'Floppy', BootSourceOverrideEnabled: 'Once' });
    expect(target.status).toBe(400);
    expect(firstMessageId(target)).toBe('Base.1.22.PropertyValueNotInList');
    expect(at(target.body, 'error', '@Message.ExtendedInfo', 0, 'RelatedProperties')).toEqual(['#/Boot/BootSourceOverrideTarget']);
    expect((await patchBoot(bmc, { BootSourceOverrideEnabled: 'Sometimes' })).status).toBe(400);
    expect((await patchBoot(bmc, { BootSourceOverrideMode: 'Bios' })).status).toBe(400);
    const unknown = await patchBoot(bmc, { BootSourceOverrideTarget: 'Pxe', Colour: 'red' });
    expect(firstMessageId(unknown)).toBe('Base.1.22.PropertyUnknown');
    const typed = await patchBoot(bmc, { BootSourceOverrideTarget: 7 });
    expect(firstMessageId(typed)).toBe('Base.1.22.PropertyValueTypeError');
    expect(bmc.system().boot).toMatchObject({ target: 'Pxe', enabled: 'Once' });
    expect(bmc.stats.bootPatches.every((p) => p.status === 400 && !p.applied)).toBe(true);

    bmc.setFaults({ bootTargets: ['Pxe', 'UefiHttp'], bootEnabledValues: ['Disabled', 'Continuous'] });
    const advertised = await call(bmc, RACK_SYSTEM);
    expect(at(advertised.body, 'Boot', 'BootSourceOverrideEnabled@Redfish.AllowableValues')).toEqual(['Disabled', 'Continuous']);
    expect((await patchBoot(bmc, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' })).status).toBe(400);
    expect((await patchBoot(bmc, { BootSourceOverrideTarget: 'UefiHttp', BootSourceOverrideEnabled: 'Continuous' })).status).toBe(200);
  });

  it('lets tests arrange state directly and count requests by method and path', async () => {
    const bmc = fresh();
    bmc.system().setPowerState('Off');
    bmc.system(0).setBoot({ target: 'Cd', enabled: 'Continuous' });
    expect(at((await call(bmc, RACK_SYSTEM)).body, 'Boot', 'BootSourceOverrideTarget')).toBe('Cd');
    await call(bmc, `${RACK_SYSTEM}/`);
    await reset(bmc, 'On');
    expect(bmc.requestCount('GET', RACK_SYSTEM)).toBe(2);
    expect(bmc.requestCount('POST')).toBe(1);
    expect(bmc.requestCount(undefined, /ComputerSystem\.Reset$/)).toBe(1);
    expect(bmc.stats.byStatus.get(200)).toBe(2);
    expect(bmc.requestLog.map((e) => [e.method, e.status, e.auth])).toEqual([
      ['GET', 200, 'basic'],
      ['GET', 200, 'basic'],
      ['POST', 204, 'basic'],
    ]);
    bmc.resetStats();
    expect(bmc.stats.requests).toBe(0);
    expect(bmc.requestLog).toHaveLength(0);
    expect(() => bmc.system('nope')).toThrow(/has no system nope/);
  });

  it('observes how many requests a BMC answers at once', async () => {
    const bmc = fresh();
    bmc.setFaults({ latencyMs: 100 });
    await Promise.all(Array.from({ length: 5 }, () => call(bmc, RACK_SYSTEM)));
    expect(bmc.stats.maxInFlight).toBe(5);
    expect(bmc.stats.inFlight).toBe(0);
    bmc.resetStats();
    for (let i = 0; i < 3; i++) await call(bmc, RACK_SYSTEM);
    expect(bmc.stats.maxInFlight).toBe(1);
    expect(emulator.totals().maxInFlight).toBeGreaterThanOrEqual(5);
  });
});

// ---------------------------------------------------------------- auth

describe('BMC emulator: authentication and sessions', () => {
  let emulator: BmcEmulator;

  beforeAll(async () => {
    emulator = await startBmcEmulator({
      mockup: RACK,
      bmcs: [
        {},
        { sessionLimit: 2 },
        { sessionTimeoutMs: 400 },
        { sessionService: 'links-only' },
        { sessionService: 'absent' },
        { basicAuth: false, username: 'root', password: 'calvin' },
        { mockup: sushyToolsTree(), sessionService: 'enabled' },
      ],
    });
  });
  afterAll(() => emulator.stop());

  const login = (bmc: EmulatedBmc, path = '/redfish/v1/SessionService/Sessions', password = bmc.password): Promise<Reply> =>
    call(bmc, path, { auth: 'none', body: { UserName: bmc.username, Password: password } });

  it('creates, uses and deletes a session; the token dies with it', async () => {
    const bmc = emulator.bmcs[0]!;
    const created = await login(bmc);
    expect(created.status).toBe(201);
    const token = String(created.headers['x-auth-token']);
    const location = String(created.headers.location);
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(location).toMatch(/^\/redfish\/v1\/SessionService\/Sessions\/[0-9a-f]{16}$/);
    expect(at(created.body, '@odata.id')).toBe(location);
    expect(bmc.liveSessions()).toEqual([expect.objectContaining({ token, username: 'admin' })]);

    expect((await call(bmc, RACK_SYSTEM, { auth: { token } })).status).toBe(200);
    const collection = await call(bmc, '/redfish/v1/SessionService/Sessions', { auth: { token } });
    expect(at(collection.body, 'Members')).toEqual([{ '@odata.id': location }]);
    expect((await call(bmc, location, { auth: { token } })).status).toBe(200);
    expect((await call(bmc, location, { method: 'DELETE', auth: { token } })).status).toBe(204);
    expect(bmc.liveSessions()).toEqual([]);
    const dead = await call(bmc, RACK_SYSTEM, { auth: { token } });
    expect(dead.status).toBe(401);
    expect(firstMessageId(dead)).toBe('Base.1.22.NoValidSession');
    expect(bmc.stats).toMatchObject({ sessionsCreated: 1, sessionsDeleted: 1 });
    expect(bmc.requestLog.find((e) => e.method === 'POST')?.body).toContain('"Password":"<redacted>"');
  });

  it('refuses wrong credentials with 401 and a Redfish error body', async () => {
    const bmc = emulator.bmcs[0]!;
    const wrongLogin = await login(bmc, undefined, 'nope');
    expect(wrongLogin.status).toBe(401);
    expect(at(wrongLogin.body, 'error', 'message')).toMatch(/incorrect user name or password/);
    const wrongBasic = await call(bmc, RACK_SYSTEM, { auth: { user: 'admin', password: 'nope' } });
    expect(wrongBasic.status).toBe(401);
    expect(wrongBasic.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect((await call(bmc, RACK_SYSTEM, { auth: 'none' })).status).toBe(401);
    expect((await call(bmc, '/redfish/v1/SessionService/Sessions', { auth: 'none', body: { UserName: 'admin' } })).status).toBe(400);
    expect(bmc.stats.loginFailures).toBe(1);
  });

  it('answers 503 SessionLimitExceeded when sessions run out', async () => {
    const bmc = emulator.bmcs[1]!;
    const a = await login(bmc);
    await login(bmc);
    const third = await login(bmc);
    expect(third.status).toBe(503);
    expect(firstMessageId(third)).toBe('Base.1.22.SessionLimitExceeded');
    await call(bmc, String(a.headers.location), { method: 'DELETE' });
    expect((await login(bmc)).status).toBe(201);
    expect(bmc.liveSessions()).toHaveLength(2);
    bmc.expireSessions();
    expect(bmc.liveSessions()).toHaveLength(0);
  });

  it('expires idle sessions', async () => {
    const bmc = emulator.bmcs[2]!;
    const token = String((await login(bmc)).headers['x-auth-token']);
    await sleep(250);
    expect((await call(bmc, RACK_SYSTEM, { auth: { token } })).status).toBe(200);
    await sleep(250);
    // Use refreshed the idle timer.
    expect((await call(bmc, RACK_SYSTEM, { auth: { token } })).status).toBe(200);
    await sleep(500);
    expect((await call(bmc, RACK_SYSTEM, { auth: { token } })).status).toBe(401);
    expect(bmc.liveSessions()).toEqual([]);
  });

  it('can expose sessions only through Links.Sessions (iDRAC 7/8)', async () => {
    const bmc = emulator.bmcs[3]!;
    const root = await call(bmc, '/redfish/v1/', { auth: 'none' });
    expect(at(root.body, 'SessionService')).toBeUndefined();
    expect(at(root.body, 'Links', 'Sessions')).toEqual({ '@odata.id': '/redfish/v1/Sessions' });
    expect((await call(bmc, '/redfish/v1/SessionService')).status).toBe(404);
    expect((await login(bmc)).status).toBe(401);
    const created = await login(bmc, '/redfish/v1/Sessions');
    expect(created.status).toBe(201);
    expect(created.headers.location).toMatch(/^\/redfish\/v1\/Sessions\//);
  });

  it('can have no SessionService at all (sushy-tools), Basic only', async () => {
    const bmc = emulator.bmcs[4]!;
    const root = await call(bmc, '/redfish/v1/', { auth: 'none' });
    expect(at(root.body, 'SessionService')).toBeUndefined();
    expect(at(root.body, 'Links', 'Sessions')).toBeUndefined();
    expect((await call(bmc, '/redfish/v1/SessionService/Sessions', { body: { UserName: 'admin', Password: 'password' } })).status).toBe(404);
    expect((await call(bmc, RACK_SYSTEM)).status).toBe(200);
  });

  it('can refuse Basic so only sessions work', async () => {
    const bmc = emulator.bmcs[5]!;
    expect((await call(bmc, RACK_SYSTEM)).status).toBe(401);
    const token = String((await login(bmc)).headers['x-auth-token']);
    expect((await call(bmc, RACK_SYSTEM, { auth: { token } })).status).toBe(200);
  });

  it('synthesises a SessionService for a mockup without one when asked', async () => {
    const bmc = emulator.bmcs[6]!;
    const service = await call(bmc, '/redfish/v1/SessionService');
    expect(service.status).toBe(200);
    expect(at(service.body, 'Sessions')).toEqual({ '@odata.id': '/redfish/v1/SessionService/Sessions' });
    expect((await login(bmc)).status).toBe(201);
  });
});

// ---------------------------------------------------------------- ETag

describe('BMC emulator: ETag and If-Match', () => {
  let emulator: BmcEmulator;
  let next = 0;
  const fresh = (): EmulatedBmc => emulator.bmcs[next++]!;

  beforeAll(async () => {
    emulator = await startBmcEmulator({ mockup: RACK, count: 8 });
  });
  afterAll(() => emulator.stop());

  const pxe = { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' };

  it('requires If-Match when configured: 428 without, 412 wrong, 200 right, and the ETag moves on', async () => {
    const bmc = fresh();
    bmc.setFaults({ requireIfMatch: true });
    const etag = String((await call(bmc, RACK_SYSTEM)).headers.etag);
    expect(etag).toMatch(/^"[0-9a-f]{12}"$/);
    const missing = await patchBoot(bmc, pxe);
    expect(missing.status).toBe(428);
    expect(firstMessageId(missing)).toBe('Base.1.22.PreconditionRequired');
    const wrong = await patchBoot(bmc, pxe, { 'if-match': '"0000"' });
    expect(wrong.status).toBe(412);
    expect(firstMessageId(wrong)).toBe('Base.1.22.PreconditionFailed');
    const right = await patchBoot(bmc, pxe, { 'if-match': etag });
    expect(right.status).toBe(200);
    expect(right.headers.etag).not.toBe(etag);
    expect((await patchBoot(bmc, pxe, { 'if-match': etag })).status).toBe(412);
    expect((await patchBoot(bmc, pxe, { 'if-match': '*' })).status).toBe(200);
    expect(bmc.requestLog.filter((e) => e.method === 'PATCH').map((e) => e.ifMatch)).toEqual([null, '"0000"', etag, etag, '*']);
  });

  it('keeps the ETag stable while only the power state changes', async () => {
    const bmc = fresh();
    const before = (await call(bmc, RACK_SYSTEM)).headers.etag;
    await reset(bmc, 'ForceOff');
    expect((await call(bmc, RACK_SYSTEM)).headers.etag).toBe(before);
  });

  it('sends weak ETags and can refuse them back', async () => {
    const bmc = fresh();
    bmc.setFaults({ etagStyle: 'weak', rejectWeakIfMatch: true, etagInBody: true });
    const reply = await call(bmc, RACK_SYSTEM);
    const etag = String(reply.headers.etag);
    expect(etag).toMatch(/^W\/"[0-9a-f]+"$/);
    expect(at(reply.body, '@odata.etag')).toBe(etag);
    expect((await patchBoot(bmc, pxe, { 'if-match': etag })).status).toBe(412);
    expect((await patchBoot(bmc, pxe, { 'if-match': etag.slice(2) })).status).toBe(200);
  });

  it('adds the iDRAC -gzip suffix unless identity is asked for, and never accepts it back', async () => {
    const bmc = fresh();
    bmc.setFaults({ etagStyle: 'gzip', etagInBody: true });
    const gz = await call(bmc, RACK_SYSTEM, { headers: { 'accept-encoding': 'gzip, deflate' } });
    const etag = String(gz.headers.etag);
    expect(etag).toMatch(/^"[0-9a-f]+-gzip"$/);
    expect(at(gz.body, '@odata.etag')).toBe(etag.replace('-gzip', ''));
    const identity = await call(bmc, RACK_SYSTEM, { headers: { 'accept-encoding': 'identity' } });
    expect(identity.headers.etag).toBe(etag.replace('-gzip', ''));
    expect((await patchBoot(bmc, pxe, { 'if-match': etag })).status).toBe(412);
    expect((await patchBoot(bmc, pxe, { 'if-match': String(identity.headers.etag) })).status).toBe(200);
  });

  it('can refuse even the right ETag (newer XCC) while accepting no If-Match', async () => {
    const bmc = fresh();
    bmc.setFaults({ rejectAllIfMatch: true });
    const etag = String((await call(bmc, RACK_SYSTEM)).headers.etag);
    expect((await patchBoot(bmc, pxe, { 'if-match': etag })).status).toBe(412);
    expect((await patchBoot(bmc, pxe)).status).toBe(200);
  });

  it('guards generic resources the same way', async () => {
    const bmc = fresh();
    bmc.setFaults({ requireIfMatch: true });
    const manager = await call(bmc, '/redfish/v1/Managers/BMC');
    expect((await call(bmc, '/redfish/v1/Managers/BMC', { method: 'PATCH', body: { DateTime: 'x' } })).status).toBe(428);
    expect((await call(bmc, '/redfish/v1/Managers/BMC', { method: 'PATCH', body: { DateTime: 'x' }, headers: { 'if-match': String(manager.headers.etag) } })).status).toBe(200);
  });
});

// ---------------------------------------------------------------- faults

describe('BMC emulator: fault injection', () => {
  let emulator: BmcEmulator;
  let sushy: BmcEmulator;
  let next = 0;
  const fresh = (): EmulatedBmc => emulator.bmcs[next++]!;

  beforeAll(async () => {
    emulator = await startBmcEmulator({ mockup: RACK, count: 40, seed: 7 });
    sushy = await startBmcEmulator({ mockup: sushyToolsTree() });
  });
  afterAll(async () => {
    await emulator.stop();
    await sushy.stop();
  });

  it('injects 503 with Retry-After and 500 as an HTML page', async () => {
    const bmc = fresh();
    bmc.setFaults({ serverErrorProbability: 1, serverErrorStatus: 503, retryAfterSeconds: 3 });
    const unavailable = await call(bmc, RACK_SYSTEM);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('3');
    expect(firstMessageId(unavailable)).toBe('Base.1.22.ServiceTemporarilyUnavailable');
    bmc.setFaults({ serverErrorStatus: 500, serverErrorMethods: ['POST'] });
    expect((await call(bmc, RACK_SYSTEM)).status).toBe(200);
    const broken = await reset(bmc, 'ForceOff');
    expect(broken.status).toBe(500);
    expect(broken.headers['content-type']).toMatch(/^text\/html/);
    expect(broken.text).toContain('<h1>500');
    expect(bmc.system().powerState).toBe('On');
    expect(bmc.stats.injectedErrors).toBe(2);
    bmc.resetFaults();
    expect((await call(bmc, RACK_SYSTEM)).status).toBe(200);
  });

  it('draws probabilistic faults from a seeded PRNG: same seed, same sequence', async () => {
    const sequence = async (seed: number): Promise<number[]> => {
      const e = await startBmcEmulator({ mockup: RACK, count: 2, seed, faults: { serverErrorProbability: 0.5 } });
      try {
        const statuses: number[] = [];
        // Traffic to another BMC must not shift this one's dice.
        for (let i = 0; i < 20; i++) {
          statuses.push((await call(e.bmcs[0]!, RACK_SYSTEM)).status);
          if (seed === 1) await call(e.bmcs[1]!, RACK_SYSTEM);
        }
        return statuses;
      } finally {
        await e.stop();
      }
    };
    const first = await sequence(1);
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await sequence(1)).toEqual(first);
    expect(await sequence(2)).not.toEqual(first);
  });

  it('adds fixed or ranged latency', async () => {
    const bmc = fresh();
    bmc.setFaults({ latencyMs: 120 });
    let started = Date.now();
    await call(bmc, RACK_SYSTEM);
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
    bmc.setFaults({ latencyMs: [20, 40] });
    started = Date.now();
    await call(bmc, RACK_SYSTEM);
    expect(Date.now() - started).toBeGreaterThanOrEqual(19);
    expect(bmc.requestLog.at(-1)?.durationMs).toBeGreaterThanOrEqual(19);
  });

  it('drops connections without an answer, before or after the request took effect', async () => {
    const bmc = fresh();
    bmc.setFaults({ dropProbability: 1 });
    await expect(call(bmc, RACK_SYSTEM)).rejects.toThrow(/socket hang up|ECONNRESET/);
    await expect(reset(bmc, 'ForceOff')).rejects.toThrow();
    expect(bmc.system().powerState).toBe('On');
    bmc.setFaults({ dropAfterHandling: true });
    await expect(reset(bmc, 'ForceOff')).rejects.toThrow();
    expect(bmc.system().powerState).toBe('Off');
    expect(bmc.stats.droppedConnections).toBe(3);
    expect(bmc.requestLog.map((e) => e.status)).toEqual(['dropped', 'dropped', 'dropped']);
  });

  it('resets reused keep-alive connections, and can close after every answer', async () => {
    const bmc = fresh();
    bmc.setFaults({ staleKeepAliveProbability: 1 });
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await call(bmc, RACK_SYSTEM, { agent })).status).toBe(200);
      await expect(call(bmc, RACK_SYSTEM, { agent })).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect((await call(bmc, RACK_SYSTEM, { agent })).status).toBe(200);
    } finally {
      agent.destroy();
    }
    bmc.setFaults({ staleKeepAliveProbability: 0, closeConnections: true });
    expect((await call(bmc, RACK_SYSTEM)).headers.connection).toBe('close');
  });

  it('scripts exact failures with failNext', async () => {
    const bmc = fresh();
    bmc.failNext({ kind: 'status', status: 503, retryAfterSeconds: 1 }, { times: 2, method: 'GET', path: RACK_SYSTEM });
    bmc.failNext({ kind: 'drop' }, { method: 'POST' });
    expect((await call(bmc, '/redfish/v1/Chassis')).status).toBe(200);
    expect((await call(bmc, RACK_SYSTEM)).status).toBe(503);
    expect((await call(bmc, `${RACK_SYSTEM}/`)).headers['retry-after']).toBe('1');
    expect((await call(bmc, RACK_SYSTEM)).status).toBe(200);
    await expect(reset(bmc, 'ForceOff')).rejects.toThrow();
    expect((await reset(bmc, 'ForceOff')).status).toBe(204);
    bmc.failNext({ kind: 'status', status: 500, body: 'empty' });
    const empty = await call(bmc, RACK_SYSTEM);
    expect([empty.status, empty.text]).toEqual([500, '']);
    bmc.failNext({ kind: 'delay', ms: 80 });
    const started = Date.now();
    expect((await call(bmc, RACK_SYSTEM)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('answers Reset with 202 and a task that runs N polls, deferring the effect until it completes', async () => {
    const bmc = fresh();
    bmc.setFaults({ tasks: { on: ['reset'], runningPolls: 2, notFoundPolls: 1, retryAfterSeconds: 2 } });
    const accepted = await reset(bmc, 'ForceOff');
    expect(accepted.status).toBe(202);
    expect(accepted.headers['retry-after']).toBe('2');
    const location = String(accepted.headers.location);
    expect(location).toMatch(/^\/redfish\/v1\/TaskService\/Tasks\/JID_\d+$/);
    expect(at(accepted.body, 'TaskState')).toBe('Running');
    // iDRAC10: the task URL is not there yet.
    expect((await call(bmc, location)).status).toBe(404);
    expect(at((await call(bmc, location)).body, 'TaskState')).toBe('Running');
    expect(at((await call(bmc, location)).body, 'TaskState')).toBe('Running');
    expect(bmc.system().powerState).toBe('On');
    const done = await call(bmc, location);
    expect(at(done.body, 'TaskState')).toBe('Completed');
    expect(at(done.body, 'PercentComplete')).toBe(100);
    expect(bmc.system().powerState).toBe('Off');
    expect(at((await call(bmc, location)).body, 'TaskState')).toBe('Completed');
  });

  it('can answer PATCH with a DMTF task monitor (202 until done, then 204) or fail the task', async () => {
    const bmc = fresh();
    bmc.setFaults({ tasks: { on: ['patch'], runningPolls: 1, location: 'monitor', retryAfterSeconds: null } });
    const accepted = await patchBoot(bmc, { BootSourceOverrideTarget: 'Hdd', BootSourceOverrideEnabled: 'Continuous' });
    expect(accepted.status).toBe(202);
    const monitor = String(accepted.headers.location);
    expect(monitor).toMatch(/TaskMonitors\/JID_/);
    expect((await call(bmc, monitor)).status).toBe(202);
    expect(bmc.system().boot.target).toBe('Pxe');
    expect((await call(bmc, monitor)).status).toBe(204);
    expect(bmc.system().boot).toMatchObject({ target: 'Hdd', enabled: 'Continuous' });

    bmc.setFaults({ tasks: { on: ['patch'], runningPolls: 0, location: 'monitor', fail: true } });
    const failing = String((await patchBoot(bmc, { BootSourceOverrideTarget: 'Cd' })).headers.location);
    expect((await call(bmc, failing)).status).toBe(500);
    expect(bmc.system().boot.target).toBe('Hdd');
  });

  it('can accept a boot override and silently not apply it (quirk 4)', async () => {
    const bmc = fresh();
    bmc.system().setBoot({ target: 'Hdd', enabled: 'Disabled' });
    bmc.setFaults({ bootOverrideIgnored: true, patchStatus: 204 });
    expect((await patchBoot(bmc, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' })).status).toBe(204);
    expect(at((await call(bmc, RACK_SYSTEM)).body, 'Boot')).toMatchObject({ BootSourceOverrideTarget: 'Hdd', BootSourceOverrideEnabled: 'Disabled' });
    expect(bmc.stats.bootPatches[0]).toMatchObject({ status: 204, applied: false });
  });

  it('can make Boot read-only on the System and writable on its @Redfish.Settings object (quirk 5)', async () => {
    const bmc = fresh();
    bmc.system().setPowerState('Off');
    bmc.system().setBoot({ target: 'Hdd', enabled: 'Disabled' });
    bmc.setFaults({ bootOnSettingsObject: 'onReset', requireIfMatch: true });
    const system = await call(bmc, RACK_SYSTEM);
    const settingsPath = String(at(system.body, '@Redfish.Settings', 'SettingsObject', '@odata.id'));
    expect(settingsPath).toBe(`${RACK_SYSTEM}/Settings`);
    const refused = await patchBoot(bmc, { BootSourceOverrideTarget: 'Pxe' }, { 'if-match': String(system.headers.etag) });
    expect(refused.status).toBe(400);
    expect(firstMessageId(refused)).toBe('Base.1.22.PropertyNotWritable');
    const settings = await call(bmc, settingsPath);
    expect(at(settings.body, 'Boot', 'BootSourceOverrideTarget@Redfish.AllowableValues')).toContain('Pxe');
    const written = await call(bmc, settingsPath, {
      method: 'PATCH',
      body: { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } },
      headers: { 'if-match': String(settings.headers.etag) },
    });
    expect(written.status).toBe(200);
    expect(at(written.body, 'Boot', 'BootSourceOverrideTarget')).toBe('Pxe');
    expect(bmc.system().pendingBoot).toEqual({ target: 'Pxe', enabled: 'Once' });
    expect(at((await call(bmc, RACK_SYSTEM)).body, 'Boot', 'BootSourceOverrideTarget')).toBe('Hdd');
    await reset(bmc, 'On');
    expect(bmc.system().bootHistory.at(-1)).toMatchObject({ target: 'Pxe', enabled: 'Once' });
    expect(bmc.system().pendingBoot).toBeNull();
    expect(bmc.stats.bootPatches.map((p) => [p.via, p.status])).toEqual([
      ['system', 400],
      ['settings', 200],
    ]);
  });

  it('can reject BootSourceOverrideMode writes, or reset Mode unless sent with Target+Enabled (quirk 3)', async () => {
    const bmc = fresh();
    bmc.setFaults({ bootModeWriteRejected: true });
    const rejected = await patchBoot(bmc, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'UEFI' });
    expect(rejected.status).toBe(400);
    expect(at(rejected.body, 'error', '@Message.ExtendedInfo', 0, 'RelatedProperties')).toEqual(['#/Boot/BootSourceOverrideMode']);
    expect((await patchBoot(bmc, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' })).status).toBe(200);

    const supermicro = fresh();
    supermicro.setFaults({ bootModeResetUnlessFull: true });
    await patchBoot(supermicro, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' });
    expect(supermicro.system().boot.mode).toBe('Legacy');
    await patchBoot(supermicro, { BootSourceOverrideMode: 'UEFI' });
    expect(supermicro.system().boot.mode).toBe('Legacy');
    await patchBoot(supermicro, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'UEFI' });
    expect(supermicro.system().boot.mode).toBe('UEFI');
  });

  it('can store Once as Continuous, which then survives boots (quirk 6, sushy-tools)', async () => {
    const bmc = fresh();
    bmc.setFaults({ onceReadsAsContinuous: true });
    await patchBoot(bmc, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' });
    expect(at((await call(bmc, RACK_SYSTEM)).body, 'Boot', 'BootSourceOverrideEnabled')).toBe('Continuous');
    await reset(bmc, 'ForceRestart');
    expect(bmc.system().boot).toMatchObject({ target: 'Pxe', enabled: 'Continuous' });
  });

  it('can answer PowerCycle with 501 like sushy-tools (quirk 8)', async () => {
    const bmc = fresh();
    bmc.setFaults({ powerCycleNotImplemented: true, resetTypes: ['On', 'ForceOff', 'PowerCycle'] });
    const reply = await reset(bmc, 'PowerCycle');
    expect(reply.status).toBe(501);
    expect(at(reply.body, 'error', 'message')).toBe('Power state PowerCycle is not supported');
  });

  it('refuses a Reset that follows the previous one too soon, and 500s while transitioning (quirk 9)', async () => {
    const bmc = fresh();
    bmc.setFaults({ resetCooldownMs: 500 });
    expect((await reset(bmc, 'ForceOff')).status).toBe(204);
    const soon = await reset(bmc, 'On');
    expect(soon.status).toBe(400);
    expect(firstMessageId(soon)).toBe('iLO.2.15.InvalidOperationForSystemState');
    await sleep(520);
    expect((await reset(bmc, 'On')).status).toBe(204);

    const busy = fresh();
    busy.setFaults({ busyWhileTransitioning: true, powerOffDelayMs: 300 });
    await reset(busy, 'ForceOff');
    expect((await reset(busy, 'On')).status).toBe(500);
    await until(() => busy.system().powerState === 'Off');
    expect((await reset(busy, 'On')).status).toBe(204);
  });

  it.each([
    ['extended-info-object', 'application/json', (r: Reply) => expect(at(r.body, 'error', '@Message.ExtendedInfo', 'MessageId')).toBe('Base.1.22.ResourceNotFound')],
    ['empty', undefined, (r: Reply) => expect(r.text).toBe('')],
    ['html', 'text/html', (r: Reply) => expect(r.text).toMatch(/^<!DOCTYPE html>/)],
    ['text-as-json', 'application/json', (r: Reply) => expect(r.text).toMatch(/^The requested resource of type Systems named 'nope' was not found\.$/)],
  ] as const)('shapes error bodies as %s (quirk 14)', async (style, type, check) => {
    const bmc = fresh();
    bmc.setFaults({ errorBodyStyle: style });
    const reply = await call(bmc, '/redfish/v1/Systems/nope');
    expect(reply.status).toBe(404);
    if (type) expect(reply.headers['content-type']).toContain(type);
    else expect(reply.headers['content-type']).toBeUndefined();
    check(reply);
  });

  it('can send lower-case links with trailing slashes, and follows them (quirk 15)', async () => {
    const bmc = fresh();
    bmc.setFaults({ lowercaseLinks: true, tasks: { on: ['reset'], runningPolls: 0 } });
    const collection = await call(bmc, '/redfish/v1/Systems');
    const link = String(at(collection.body, 'Members', 0, '@odata.id'));
    expect(link).toBe('/redfish/v1/systems/437xr1138r2/');
    const system = await call(bmc, link);
    expect(system.status).toBe(200);
    const target = String(at(system.body, 'Actions', '#ComputerSystem.Reset', 'target'));
    expect(target).toBe('/redfish/v1/systems/437xr1138r2/actions/computersystem.reset/');
    const accepted = await call(bmc, target, { body: { ResetType: 'ForceOff' } });
    expect(accepted.headers.location).toMatch(/^\/redfish\/v1\/taskservice\/tasks\/jid_\d+\/$/);
    expect((await call(bmc, String(accepted.headers.location))).status).toBe(200);
    expect(bmc.system().powerState).toBe('Off');
  });

  it('redirects a system name to its UUID with 307, as sushy-tools does (quirk 16)', async () => {
    const bmc = sushy.bmcs[0]!;
    bmc.setFaults({ redirectSystemName: true });
    const reply = await call(bmc, '/redfish/v1/Systems/fake');
    expect(reply.status).toBe(307);
    expect(reply.headers.location).toBe('/redfish/v1/Systems/27946b59-9e44-4fa7-8e91-f3527a1ef094');
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
    const action = await call(bmc, '/redfish/v1/Systems/fake2/Actions/ComputerSystem.Reset', { body: { ResetType: 'ForceOff' } });
    expect(action.headers.location).toBe('/redfish/v1/Systems/48295eb1-4a1d-4a9b-9a2b-7c1c1e0d2f11/Actions/ComputerSystem.Reset');
    expect((await call(bmc, '/redfish/v1/Systems/27946b59-9e44-4fa7-8e91-f3527a1ef094')).status).toBe(200);
  });

  it('answers 406 to Accept-Encoding: identity when configured (quirk 13)', async () => {
    const bmc = fresh();
    bmc.setFaults({ rejectIdentityEncoding: true });
    expect((await call(bmc, RACK_SYSTEM, { headers: { 'accept-encoding': 'identity' } })).status).toBe(406);
    expect((await call(bmc, RACK_SYSTEM)).status).toBe(200);
  });

  it('applies vendor profiles as plain option bundles', async () => {
    const idrac = await startBmcEmulator({ ...profile('idrac'), mockup: RACK });
    try {
      const bmc = idrac.bmcs[0]!;
      expect(bmc.config.sessionLimit).toBe(8);
      expect(bmc.faults).toMatchObject({ etagStyle: 'gzip', bootOnSettingsObject: 'onReset', tasks: { on: ['patch'], notFoundPolls: 1, runningPolls: 2, location: 'task' } });
      expect(String((await call(bmc, RACK_SYSTEM)).headers.etag)).toMatch(/-gzip"$/);
    } finally {
      await idrac.stop();
    }
  });
});

// ---------------------------------------------------------------- TLS

describe('BMC emulator: HTTPS', () => {
  let emulator: BmcEmulator;

  beforeAll(async () => {
    emulator = await startBmcEmulator({ mockup: RACK, https: true, bmcs: [{}, { https: false }] });
  });
  afterAll(() => emulator.stop());

  it('serves TLS with a generated self-signed certificate the client can trust as a CA', async () => {
    const bmc = emulator.bmcs[0]!;
    expect(bmc.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const trusted = await call(bmc, RACK_SYSTEM, { ca: emulator.caPem ?? '' });
    expect(trusted.status).toBe(200);
    await expect(call(bmc, RACK_SYSTEM)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect((await call(bmc, RACK_SYSTEM, { insecure: true })).status).toBe(200);
  });

  it('mixes HTTP and HTTPS BMCs in one emulator', async () => {
    const plain = emulator.bmcs[1]!;
    expect(plain.url).toMatch(/^http:\/\//);
    expect((await call(plain, RACK_SYSTEM)).status).toBe(200);
  });
});

// ---------------------------------------------------------------- scale and lifecycle

describe('BMC emulator: scale and lifecycle', () => {
  it('starts 1,000 BMCs quickly, keeps them independent, and stops without leaking sockets', async () => {
    const serversBefore = tcpServers();
    const memoryBefore = process.memoryUsage();
    const emulator = await startBmcEmulator({ mockup: RACK, count: 1000 });
    const memoryAfter = process.memoryUsage();
    let stopped = false;
    try {
      expect(emulator.bmcs).toHaveLength(1000);
      expect(new Set(emulator.bmcs.map((b) => b.port)).size).toBe(1000);
      expect(tcpServers() - serversBefore).toBe(1000);
      expect(emulator.startupMs).toBeLessThan(5000);

      const sample = emulator.bmcs.filter((_, i) => i % 10 === 0);
      await Promise.all(sample.map((bmc) => reset(bmc, 'ForceOff')));
      const replies = await Promise.all(emulator.bmcs.slice(0, 200).map((bmc) => call(bmc, RACK_SYSTEM)));
      expect(replies.map((r) => [r.status, at(r.body, 'PowerState')])).toEqual(replies.map((_, i) => [200, i % 10 === 0 ? 'Off' : 'On']));
      expect(emulator.totals().requests).toBe(300);

      const agent = new HttpAgent({ keepAlive: true });
      await call(emulator.bmcs[999]!, RACK_SYSTEM, { agent });
      expect(emulator.openConnections()).toBeGreaterThanOrEqual(1);
      const port = emulator.bmcs[999]!.port;
      const started = performance.now();
      await emulator.stop();
      stopped = true;
      const stopMs = performance.now() - started;
      agent.destroy();
      expect(emulator.openConnections()).toBe(0);
      expect(tcpServers()).toBe(serversBefore);
      await expect(
        new Promise((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket.destroy()));
          socket.on('error', reject);
        }),
      ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      console.info(
        `1,000 BMCs: started in ${emulator.startupMs} ms, stopped in ${Math.round(stopMs)} ms; ` +
          `heap +${Math.round((memoryAfter.heapUsed - memoryBefore.heapUsed) / 1e6)} MB, rss +${Math.round((memoryAfter.rss - memoryBefore.rss) / 1e6)} MB`,
      );
    } finally {
      if (!stopped) await emulator.stop();
    }
  });

  it('stop() cuts requests that are waiting on injected latency, and is idempotent', async () => {
    const emulator = await startBmcEmulator({ mockup: RACK, faults: { latencyMs: 10_000 } });
    const pending = call(emulator.bmcs[0]!, RACK_SYSTEM).then(
      () => 'answered',
      (error: Error) => error.message,
    );
    await until(() => emulator.bmcs[0]!.stats.inFlight === 1);
    const started = Date.now();
    await Promise.all([emulator.stop(), emulator.stop()]);
    expect(await pending).toMatch(/socket hang up|ECONNRESET/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('binds consecutive ports from portBase and refuses a taken one', async () => {
    // Ports freed a moment ago can be taken by any other process before we bind them again:
    // that is the machine, not the emulator, so such an attempt is retried with fresh ports.
    let emulator: Awaited<ReturnType<typeof startBmcEmulator>> | undefined;
    let base = 0;
    for (let attempt = 0; !emulator; attempt++) {
      const first = await startBmcEmulator({ mockup: RACK, count: 3 });
      base = first.bmcs[0]!.port;
      await first.stop();
      try {
        emulator = await startBmcEmulator({ mockup: RACK, count: 3, portBase: base });
      } catch (error) {
        if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt >= 9) throw error;
      }
    }
    try {
      expect(emulator.bmcs.map((b) => b.port)).toEqual([base, base + 1, base + 2]);
      await expect(startBmcEmulator({ mockup: RACK, count: 1, portBase: base + 1 })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await emulator.stop();
    }
    await expect(startBmcEmulator({ mockup: '/nonexistent' })).rejects.toThrow(/not a Redfish mockup/);
  });

  it('runs standalone from the CLI and prints the BMC URLs', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/bmc/cli.ts', '--mockup', RACK, '--count', '2', '--json', '--faults', '{"etagStyle":"weak"}'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
      });
      const printed = JSON.parse(line) as { bmcs: { url: string; systems: string[] }[]; username: string; password: string };
      expect(printed.bmcs).toHaveLength(2);
      expect(printed.bmcs[0]?.systems).toEqual([RACK_SYSTEM]);
      const url = printed.bmcs[1]?.url ?? '';
      const reply = await call({ url, username: printed.username, password: printed.password }, RACK_SYSTEM);
      expect(reply.headers.etag).toMatch(/^W\//);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
