import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dmtfMockup, haveRedfishData, profile, redfishDataDir, startBmcEmulator, sushyToolsTree } from '../bmc/index.js';
import type { BmcEmulator, BmcEmulatorOptions, BmcFaultsPatch, EmulatedBmc, ProfileName } from '../bmc/index.js';

/**
 * OpenStack Ironic's Redfish client (Debian's python3-sushy) against our BMC emulator: if
 * sushy can list, read, set a one-time PXE boot and power on through it, and the emulator
 * records what sushy did, the emulator behaves like a BMC to a client we did not write.
 */

// Debian's interpreter: pyenv's python3 on PATH does not see /usr/lib/python3/dist-packages.
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./sushy_client.py', import.meta.url));
const RUN_TIMEOUT_MS = 60_000;
const POWER_ON_DELAY_MS = 300;

const bootSchema = z.object({ target: z.string().nullable(), enabled: z.string().nullable(), mode: z.string().nullable() });
const authSchema = z.object({ kind: z.enum(['session', 'basic']), sessionUri: z.string().nullable() });
const outputSchema = z.object({
  ok: z.boolean(),
  sushyVersion: z.string(),
  step: z.string().optional(),
  error: z.object({ type: z.string(), message: z.string(), status: z.number().optional() }).optional(),
  redfishVersion: z.string().nullable().optional(),
  auth: authSchema.optional(),
  systems: z.array(z.string()).optional(),
  system: z.object({ path: z.string(), identity: z.string(), uuid: z.string().nullable() }).optional(),
  powerBefore: z.string().nullable().optional(),
  bootBefore: bootSchema.optional(),
  allowedBootSources: z.array(z.string()).optional(),
  allowedResets: z.array(z.string()).optional(),
  bootAfterSet: bootSchema.optional(),
  powerAfter: z.string().nullable().optional(),
  powerPolls: z.number().optional(),
  bootAfterPowerOn: bootSchema.optional(),
  released: z.boolean().optional(),
  tokenHeldAtEnd: z.boolean().optional(),
});
type SushyOutput = z.infer<typeof outputSchema>;

interface SushyRun {
  code: number | null;
  output: SushyOutput;
  stderr: string;
}

interface RunOptions {
  /** `true`, `false`, or a CA file. */
  verify?: string;
  system?: string;
  end?: 'release' | 'exit';
  followTasks?: boolean;
  powerDeadlineSeconds?: number;
}

/**
 * requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a Session's verify= (requests
 * issue 3829: they win over sushy's CA file), and a proxy would take loopback traffic
 * elsewhere; PYTHONPATH/PYTHONHOME from pyenv could hide Debian's dist-packages.
 */
function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  for (const name of ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'PYTHONPATH', 'PYTHONHOME', 'http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']) {
    delete env[name];
  }
  return env;
}

function runSushy(bmc: EmulatedBmc, options: RunOptions = {}): Promise<SushyRun> {
  const args = [SCRIPT, '--url', bmc.url, '--username', bmc.username, '--password', bmc.password, '--verify', options.verify ?? 'true', '--end', options.end ?? 'release'];
  if (options.system) args.push('--system', options.system);
  if (options.followTasks) args.push('--follow-tasks');
  args.push('--power-deadline', String(options.powerDeadlineSeconds ?? 20));
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], env: pythonEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // Only the child we spawned, by its handle.
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        reject(new Error(`sushy_client.py printed no JSON (exit ${code ?? signal}):\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      const output = outputSchema.safeParse(parsed);
      if (!output.success) reject(new Error(`sushy_client.py printed unexpected JSON: ${line}\n${output.error.message}`));
      else resolve({ code, output: output.data, stderr });
    });
  });
}

/** Explains a failed sushy run in the assertion message, not just "expected 1 to be 0". */
function expectOk(run: SushyRun): SushyOutput {
  expect(run.output.ok, `sushy failed at "${run.output.step ?? '?'}": ${JSON.stringify(run.output.error)}\nstderr:\n${run.stderr}`).toBe(true);
  expect(run.code).toBe(0);
  return run.output;
}

type Mockup = 'public-rackmount1' | 'public-tower' | 'sushy-tools';
const mockupDir = (mockup: Mockup): string => (mockup === 'sushy-tools' ? sushyToolsTree() : dmtfMockup(mockup));

let emulators: BmcEmulator[] = [];
let dir = '';

/** One BMC, powered off with no override: whatever is on it afterwards, sushy put there. */
async function oneBmc(mockup: Mockup, options: Partial<BmcEmulatorOptions> = {}, faults: BmcFaultsPatch = {}): Promise<{ emulator: BmcEmulator; bmc: EmulatedBmc }> {
  const preset = mockup === 'sushy-tools' ? profile('sushy-tools') : {};
  const emulator = await startBmcEmulator({
    ...preset,
    ...options,
    mockup: mockupDir(mockup),
    count: 1,
    initialPowerState: 'Off',
    faults: { ...preset.faults, powerOnDelayMs: POWER_ON_DELAY_MS, ...options.faults, ...faults },
  });
  emulators.push(emulator);
  const bmc = emulator.bmcs[0];
  if (!bmc) throw new Error('emulator started no BMC');
  bmc.system().setBoot({ target: 'None', enabled: 'Disabled', mode: 'Legacy' });
  return { emulator, bmc };
}

function caFile(emulator: BmcEmulator): string {
  if (!emulator.caPem) throw new Error('HTTPS emulator without a certificate');
  const file = join(dir, `ca-${emulators.indexOf(emulator)}.pem`);
  writeFileSync(file, emulator.caPem);
  return file;
}

const patchesOf = (bmc: EmulatedBmc) => bmc.requestLog.filter((entry) => entry.method === 'PATCH');

/**
 * What a successful run leaves on both sides: sushy saw Off, then the override it wrote, then
 * On; the emulator recorded the boot PATCH as sushy sent it (Once, whatever it stores), one
 * reset On, and a power-on that booted from Pxe in UEFI mode.
 */
function expectPxePowerOn(bmc: EmulatedBmc, output: SushyOutput, stored: 'Once' | 'Continuous'): void {
  expect(output.powerBefore).toBe('Off');
  expect(output.bootBefore).toEqual({ target: 'None', enabled: 'Disabled', mode: 'Legacy' });
  expect(output.allowedBootSources).toContain('Pxe');
  expect(output.bootAfterSet).toEqual({ target: 'Pxe', enabled: stored, mode: 'UEFI' });
  expect(output.powerAfter).toBe('On');

  const system = bmc.system();
  expect(system.powerState).toBe('On');
  const patches = bmc.stats.bootPatches;
  expect(patches.at(-1)).toMatchObject({ applied: true, boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'UEFI' } });
  expect(bmc.stats.resets.map((r) => [r.resetType, r.status])).toEqual([['On', 204]]);
  expect(system.bootHistory).toHaveLength(1);
  expect(system.bootHistory[0]).toMatchObject({ target: 'Pxe', enabled: stored, mode: 'UEFI' });
  // Once is spent by the power-on; Continuous (sushy-tools) stays until someone clears it.
  expect(system.boot).toEqual(stored === 'Once' ? { target: 'None', enabled: 'Disabled', mode: 'UEFI' } : { target: 'Pxe', enabled: 'Continuous', mode: 'UEFI' });
  expect(output.bootAfterPowerOn).toEqual({ target: system.boot.target, enabled: system.boot.enabled, mode: system.boot.mode });
}

/** Session: created, used for everything, deleted by sushy; Basic: never a session. */
function expectAuth(bmc: EmulatedBmc, output: SushyOutput, kind: 'session' | 'basic'): void {
  expect(output.auth?.kind).toBe(kind);
  const authenticated = bmc.requestLog.filter((entry) => entry.auth !== 'none');
  expect(authenticated.length).toBeGreaterThan(0);
  expect(new Set(authenticated.map((entry) => entry.auth))).toEqual(new Set([kind]));
  if (kind === 'session') {
    expect(bmc.stats.sessionsCreated).toBe(1);
    expect(bmc.stats.sessionsDeleted).toBe(1);
    expect(bmc.requestLog.at(-1)).toMatchObject({ method: 'DELETE', status: 204 });
  } else {
    expect(bmc.stats.sessionsCreated).toBe(0);
    // sushy tries a session at the standard path first, is refused, and falls back to Basic.
    expect(bmc.requestLog.filter((e) => e.method === 'POST' && /sessions$/i.test(e.path)).map((e) => e.status)).toEqual([401]);
  }
  expect(bmc.liveSessions()).toEqual([]);
}

beforeAll(() => {
  // Fail, never skip: CI installs these, and a silent skip would hide a missing peer.
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: install Debian's python3 and python3-sushy (apt-get install python3-sushy; .ci/install-test-deps.sh does it)`);
  const probe = spawnSync(PYTHON, ['-c', 'import sushy; print(sushy.__version__)'], { encoding: 'utf8', timeout: 30_000, env: pythonEnv() });
  if (probe.status !== 0) {
    throw new Error(
      `${PYTHON} cannot import sushy (${probe.error?.message ?? probe.stderr.trim().split('\n').at(-1) ?? `exit ${probe.status}`}): install the Debian package python3-sushy (apt-get install python3-sushy; .ci/install-test-deps.sh does it)`,
    );
  }
  process.stdout.write(`python3-sushy ${probe.stdout.trim()} via ${PYTHON}\n`);
  if (!haveRedfishData()) throw new Error(`Redfish mockups not found at ${redfishDataDir()}: set BESKAR7_REDFISH_DATA to the shared redfish-data folder`);
  dir = mkdtempSync(join(tmpdir(), 'beskar7-python-sushy-'));
});

afterAll(async () => {
  await Promise.all(emulators.map((emulator) => emulator.stop()));
  emulators = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('python3-sushy against the BMC emulator', () => {
  const matrix = (['public-rackmount1', 'public-tower', 'sushy-tools'] as const).flatMap((mockup) =>
    (['session', 'basic'] as const).flatMap((auth) => (['http', 'https'] as const).map((transport) => ({ mockup, auth, transport }))),
  );

  it.each(matrix)('$mockup, $auth auth, $transport: lists, reads, sets a one-time PXE boot, powers on, logs out', async ({ mockup, auth, transport }) => {
    const { emulator, bmc } = await oneBmc(mockup, { https: transport === 'https', sessionService: auth === 'session' ? 'enabled' : 'absent' });
    const run = await runSushy(bmc, { verify: transport === 'https' ? caFile(emulator) : 'true' });
    const output = expectOk(run);

    expect(output.system?.path).toBe(bmc.system().path);
    expect(output.systems).toEqual(bmc.systems.map((s) => s.path));
    // The sushy-tools capture stores Once as Continuous (quirk 6); sushy reads back what is stored.
    expectPxePowerOn(bmc, output, mockup === 'sushy-tools' ? 'Continuous' : 'Once');
    expectAuth(bmc, output, auth);
    expect(output.released).toBe(true);
    expect(output.tokenHeldAtEnd).toBe(false);
    // sushy asks for Connection: close on every request; nothing is left open behind it.
    await expect.poll(() => emulator.openConnections()).toBe(0);
    expect(bmc.stats.maxInFlight).toBe(1);
  });

  it('over HTTPS, refuses the self-signed BMC certificate when not given its CA', async () => {
    const { bmc } = await oneBmc('public-tower', { https: true });
    const run = await runSushy(bmc, { verify: 'true' });
    expect(run.code).toBe(1);
    expect(run.output).toMatchObject({ ok: false, step: 'connect', error: { type: 'ConnectionError' } });
    expect(run.output.error?.message).toMatch(/CERTIFICATE_VERIFY_FAILED/);
    expect(bmc.stats.requests).toBe(0);
  });

  it('logs out at interpreter exit too, when the Sushy object is never released', async () => {
    const { bmc } = await oneBmc('public-rackmount1', { sessionService: 'enabled' });
    const output = expectOk(await runSushy(bmc, { end: 'exit' }));
    // Still logged in when the script printed its result...
    expect(output.tokenHeldAtEnd).toBe(true);
    expect(output.released).toBeUndefined();
    // ...and Sushy.__del__ deleted the session as the interpreter shut down.
    expect(bmc.stats.sessionsDeleted).toBe(1);
    expect(bmc.liveSessions()).toEqual([]);
  });

  it('follows sushy-tools\' name → UUID redirect (307) for reads and the boot PATCH', async () => {
    const { bmc } = await oneBmc('sushy-tools');
    const uuidPath = bmc.system(0).path;
    const output = expectOk(await runSushy(bmc, { system: '/redfish/v1/Systems/fake' }));
    expect(output.system?.uuid).toBe(uuidPath.split('/').at(-1));
    expectPxePowerOn(bmc, output, 'Continuous');
    const redirected = bmc.requestLog.filter((e) => e.status === 307).map((e) => e.method);
    expect(redirected).toEqual(expect.arrayContaining(['GET', 'PATCH']));
    // The PATCH is sent again to the UUID (307 keeps method and body); the reset needs no
    // redirect, its target in Actions already names the UUID.
    expect(bmc.requestLog.filter((e) => e.method === 'PATCH').map((e) => [e.path, e.status])).toEqual([
      ['/redfish/v1/Systems/fake', 307],
      [uuidPath, 204],
    ]);
    expect(bmc.requestLog.filter((e) => e.method === 'POST' && e.path.endsWith('ComputerSystem.Reset')).map((e) => e.path)).toEqual([`${uuidPath}/Actions/ComputerSystem.Reset`]);
  });

  describe('with quirk profiles', () => {
    it('If-Match required (quirk 1): sushy sends the ETag of its last GET, first time right', async () => {
      const { bmc } = await oneBmc('public-rackmount1', {}, { requireIfMatch: true });
      const output = expectOk(await runSushy(bmc));
      expectPxePowerOn(bmc, output, 'Once');
      const patches = patchesOf(bmc);
      expect(patches.map((p) => p.status)).toEqual([200]);
      expect(patches[0]?.ifMatch).toMatch(/^"[0-9a-f]+"$/);
      expect(bmc.stats.byStatus.get(428)).toBeUndefined();
    });

    it('weak ETag refused in If-Match (quirk 2): sushy retries with the strong form', async () => {
      const { bmc } = await oneBmc('public-rackmount1', {}, { requireIfMatch: true, etagStyle: 'weak', rejectWeakIfMatch: true });
      const output = expectOk(await runSushy(bmc));
      expectPxePowerOn(bmc, output, 'Once');
      const patches = patchesOf(bmc);
      expect(patches.map((p) => p.status)).toEqual([412, 200]);
      expect(patches[0]?.ifMatch).toMatch(/^W\/"[0-9a-f]+"$/);
      expect(patches[1]?.ifMatch).toBe(patches[0]?.ifMatch?.slice(2));
    });

    it('xcc profile, the right ETag still refused (quirk 2): sushy retries without If-Match', async () => {
      const { bmc } = await oneBmc('public-rackmount1', profileOptions('xcc'));
      const output = expectOk(await runSushy(bmc));
      expectPxePowerOn(bmc, output, 'Once');
      expect(patchesOf(bmc).map((p) => [p.status, p.ifMatch === null])).toEqual([
        [412, false],
        [200, true],
      ]);
    });

    it('ami profile (If-Match required, ETag in body, reset types only via ActionInfo): sushy does not read ActionInfo and assumes every type', async () => {
      const { bmc } = await oneBmc('public-rackmount1', profileOptions('ami'));
      const run = await runSushy(bmc);
      const output = expectOk(run);
      expectPxePowerOn(bmc, output, 'Once');
      expect(output.allowedResets).toEqual(expect.arrayContaining(['On', 'PowerCycle', 'Suspend']));
      expect(run.stderr).toMatch(/Could not figure out the allowed values for the reset system action/);
      expect(bmc.requestCount('GET', /ResetActionInfo$/)).toBe(0);
    });

    it('idrac profile without tasks (Boot only via the Settings object, -gzip ETags): sushy writes the Settings object, applied at power-on', async () => {
      const { bmc } = await oneBmc('public-rackmount1', profileOptions('idrac'), { tasks: null });
      const output = expectOk(await runSushy(bmc));
      // The System shows the old override until the reset applies the pending one.
      expect(output.bootAfterSet).toEqual({ target: 'None', enabled: 'Disabled', mode: 'Legacy' });
      expect(bmc.stats.bootPatches.map((p) => [p.via, p.status, p.applied])).toEqual([['settings', 200, true]]);
      // sushy asks for identity, so iDRAC's -gzip suffix never appears and If-Match matches.
      expect(patchesOf(bmc)[0]?.ifMatch).toMatch(/^"[0-9a-f]+"$/);
      expect(bmc.system().bootHistory).toEqual([expect.objectContaining({ target: 'Pxe', enabled: 'Once', mode: 'UEFI' })]);
      expect(bmc.system().powerState).toBe('On');
      expect(bmc.system().pendingBoot).toBeNull();
      expect(output.powerAfter).toBe('On');
      expectAuth(bmc, output, 'session');
    });

    it('transient 503 with Retry-After on a GET: sushy retries it (after its own fixed 3 s)', async () => {
      const { bmc } = await oneBmc('public-rackmount1');
      bmc.failNext({ kind: 'status', status: 503, retryAfterSeconds: 1 }, { method: 'GET', path: bmc.system().path });
      const output = expectOk(await runSushy(bmc));
      expectPxePowerOn(bmc, output, 'Once');
      expect(bmc.stats.injectedErrors).toBe(1);
    });

    /*
     * Tasks (quirk 17). The emulator's tasks advance only when their URL is polled; a real BMC
     * runs its job whether anyone watches. sushy 4.3.3 never polls what its Reset and boot
     * PATCH start (no blocking=True), so against this emulator nothing happens.
     */
    it('tasks, as Ironic calls sushy: both 202s are taken as success, never polled, and nothing happens on the emulator', async () => {
      const { bmc } = await oneBmc('public-rackmount1', {}, { tasks: { on: ['reset', 'patch'] } });
      const output = expectOk(await runSushy(bmc, { powerDeadlineSeconds: 2 }));
      expect(output.bootAfterSet).toEqual({ target: 'None', enabled: 'Disabled', mode: 'Legacy' });
      expect(output.powerAfter).toBe('Off');
      expect(bmc.stats.bootPatches.map((p) => p.status)).toEqual([202]);
      expect(bmc.stats.resets.map((r) => r.status)).toEqual([202]);
      expect(bmc.requestCount('GET', /^\/redfish\/v1\/TaskService\//)).toBe(0);
      expect(bmc.system().powerState).toBe('Off');
      expect(bmc.system().bootHistory).toEqual([]);
      expect(bmc.liveSessions()).toEqual([]);
    });

    it('tasks, with sushy\'s own TaskMonitor: it polls the Task in the 202 body (not Location) once, takes 200 as done', async () => {
      const { bmc } = await oneBmc('public-rackmount1', {}, { tasks: { on: ['reset', 'patch'], location: 'monitor', runningPolls: 2 } });
      const output = expectOk(await runSushy(bmc, { followTasks: true, powerDeadlineSeconds: 2 }));
      const taskGets = bmc.requestLog.filter((e) => e.method === 'GET' && e.path.includes('/TaskService/'));
      expect(taskGets.map((e) => [e.path.replace(/JID_\d+$/, 'JID'), e.status])).toEqual([
        ['/redfish/v1/TaskService/Tasks/JID', 200],
        ['/redfish/v1/TaskService/Tasks/JID', 200],
      ]);
      // Still Running after one poll each: neither the override nor the power-on took effect.
      expect(output.powerAfter).toBe('Off');
      expect(bmc.system().bootHistory).toEqual([]);
    });

    it('tasks that complete on the first poll: sushy\'s TaskMonitor sees them through, PXE set and powered on', async () => {
      const { bmc } = await oneBmc('public-rackmount1', {}, { tasks: { on: ['reset', 'patch'], runningPolls: 0 } });
      const output = expectOk(await runSushy(bmc, { followTasks: true }));
      expect(bmc.stats.bootPatches.map((p) => p.status)).toEqual([202]);
      expect(bmc.stats.resets.map((r) => r.status)).toEqual([202]);
      expect(output.bootAfterSet).toEqual({ target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
      expect(output.powerAfter).toBe('On');
      expect(bmc.system().bootHistory).toEqual([expect.objectContaining({ target: 'Pxe', enabled: 'Once', mode: 'UEFI' })]);
      expect(bmc.liveSessions()).toEqual([]);
    });
  });
});

function profileOptions(name: ProfileName): Partial<BmcEmulatorOptions> {
  const { faults, ...rest } = profile(name);
  return { ...rest, ...(faults ? { faults } : {}) };
}
