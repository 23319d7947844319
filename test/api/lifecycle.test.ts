import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveRedfishData } from '../bmc/data.js';
import { hostName, startLab, type Lab } from '../helpers/lab.js';
import { hardwareProfile, simMac } from '../helpers/ramdisk-sim.js';

// The whole lifecycle over real HTTP: emulated Redfish BMCs, and behind each a simulated machine
// whose "firmware" fetches its iPXE script and whose "ramdisk" makes the contract's calls.
// Each case works on its own hosts, kept apart from the others by a label its machines select.

const small = (i: number) => (i === 2 ? hardwareProfile({ cores: 2, memoryGB: 4 }) : hardwareProfile({ cores: 8, memoryGB: 32, disks: [{ sizeGB: 200, type: 'NVMe' }] }));
const select = (group: string) => ({ hostSelector: { matchLabels: { group } } });

describe.skipIf(!haveRedfishData())('host lifecycle against emulated BMCs and a simulated ramdisk', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ hosts: 12, hardware: small });
  }, 60_000);
  afterAll(async () => lab.stop());

  it('enrolls, claims, inspects, validates, provisions by kexec and serves bootstrap data', async () => {
    const mark = lab.mark();
    await lab.registerHost(0, { labels: { group: 'success' } });
    await lab.untilHostState(hostName(0), 'Available', mark);
    const enrolled = await lab.host(hostName(0));
    expect(enrolled.status.system?.manufacturer).toBeTruthy();

    await lab.createMachine('m-success', { ...select('success'), bootstrapData: '#cloud-config\nhostname: m-success\n', image: { ...lab.kexecImage } });
    await lab.untilMachinePhase('m-success', 'Provisioned', mark);
    const host = await lab.host(hostName(0));
    expect(host.status).toMatchObject({ state: 'Provisioned', inspectionPhase: 'Complete', netbootMode: 'provision', machine: { namespace: 'default', name: 'm-success' } });
    expect(host.status.inspectionReport).toMatchObject({ cpus: { cores: 8 }, memory: { totalGB: 32 }, bootMACAddress: simMac(0) });
    const machine = await lab.machine('m-success');
    expect(machine.status).toMatchObject({ phase: 'Provisioned', providerID: `beskar7://default/${hostName(0)}` });
    expect(machine.status.addresses.length).toBeGreaterThan(0);

    // The states it went through, in order, each an event.
    const log = await lab.d.api('GET', `/api/v1/events/log?since=${mark}&limit=500&kind=host&name=${hostName(0)}`);
    const states = (log.body as { items: { type: string; data: { to?: string } }[] }).items.filter((e) => e.type === 'StateChanged').map((e) => e.data.to);
    expect(states).toEqual(['Available', 'Claimed', 'Inspecting', 'Inspected', 'Provisioning', 'Provisioned']);

    // The ramdisk was told to kexec with the OS's own token and a NoCloud seed, and the OS can fetch its data.
    const outcome = lab.rack.outcomes(simMac(0)).at(-1);
    expect(outcome?.kind).toBe('kexec');
    const cmdline = outcome?.kind === 'kexec' ? outcome.cmdline : '';
    expect(cmdline).toContain('console=ttyS0');
    const advertised = /ds=nocloud;s=(\S+)/.exec(cmdline)?.[1] ?? '';
    expect(advertised).toMatch(/^http:\/\/[^/]+\/api\/v1\/nocloud\/default\/node-000\/[A-Za-z0-9_-]{43}\/$/);
    // The seed names the daemon's advertised address; this test reaches it on loopback.
    const seed = `${lab.d.url}${new URL(advertised).pathname}`;
    const userData = await fetch(`${seed}user-data`);
    expect(userData.status).toBe(200);
    expect(await userData.text()).toBe('#cloud-config\nhostname: m-success\n');
    const metaData = await (await fetch(`${seed}meta-data`)).text();
    expect(metaData).toContain('local-hostname: m-success');
    expect(metaData).toMatch(/^provider-id: beskar7:\/\/default\/node-\d{3}$/m);
    // The token in that URL never reaches the log.
    const osToken = /beskar7\.token=(\S+)/.exec(cmdline)?.[1] ?? 'missing';
    expect(lab.d.logs.text).not.toContain(osToken);

    // A later network boot of a kexec host boots the target again.
    const again = lab.mark();
    const rebooted = await lab.machines[0]?.boot();
    expect(rebooted?.kind).toBe('kexec');
    await lab.until((e) => e.name === hostName(0) && e.type === 'Booted', again);
    expect((await lab.host(hostName(0))).status.state).toBe('Provisioned');
  });

  it('releases a host that fails validation and provisions the next one', async () => {
    const mark = lab.mark();
    // Host 2 is small (2 cores); host 3 is big. Neither was inspected, so host 2 (older) is tried first.
    await lab.registerHost(2, { labels: { group: 'validate' } });
    await lab.registerHost(3, { labels: { group: 'validate' } });
    await lab.untilHostState(hostName(2), 'Available', mark);
    await lab.untilHostState(hostName(3), 'Available', mark);
    await lab.createMachine('m-validate', { ...select('validate'), hardwareRequirements: { minCPUCores: 4, minMemoryGB: 16 } });
    const failed = await lab.until((e) => e.kind === 'machine' && e.name === 'm-validate' && e.type === 'ValidationFailed', mark);
    expect(failed.message).toContain(hostName(2));
    expect(failed.message).toContain('needs 4 CPU cores, has 2');
    await lab.untilMachinePhase('m-validate', 'Provisioned', mark);
    expect((await lab.machine('m-validate')).status.host).toEqual({ namespace: 'default', name: hostName(3) });
    // The small host is back in the pool, powered off, with what it learnt kept for matching.
    await lab.untilHostState(hostName(2), 'Available', failed.id);
    const small = await lab.host(hostName(2));
    expect(small.status).toMatchObject({ state: 'Available', machine: null, netbootMode: null, inspectionReport: { cpus: { cores: 2 } } });
    expect(lab.emulator.bmcs[2]?.system().powerState).toBe('Off');
    // A machine that wants the big one skips the small host without booting it: its stored report says no.
    const boots = lab.rack.bootCount(simMac(2));
    const second = lab.mark();
    await lab.createMachine('m-validate-2', { ...select('validate'), hardwareRequirements: { minCPUCores: 4 } });
    await lab.d.daemon.services?.engine.settled();
    expect((await lab.machine('m-validate-2')).status.phase).toBe('Pending');
    expect(lab.rack.bootCount(simMac(2))).toBe(boots);
    void second;
  });

  it('fails the machine on a checksum mismatch, never booting the artefact, and returns the host', async () => {
    const mark = lab.mark();
    await lab.registerHost(5, { labels: { group: 'checksum' } });
    await lab.untilHostState(hostName(5), 'Available', mark);
    const bad = { ...lab.kexecImage, kernel: { url: lab.kexecImage.kernel.url, sha256: '0'.repeat(64) } };
    await lab.createMachine('m-checksum', { ...select('checksum'), image: bad });
    const failedAt = await lab.untilMachinePhase('m-checksum', 'Failed', mark);
    const machine = await lab.machine('m-checksum');
    expect(machine.status).toMatchObject({ phase: 'Failed', failureReason: 'ChecksumMismatch' });
    const outcome = await lab.rack.untilOutcome(simMac(5), (o) => o.kind !== 'local');
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'ChecksumMismatch' });
    await lab.untilHostState(hostName(5), 'Available', failedAt.id);
    await lab.until((e) => e.kind === 'machine' && e.name === 'm-checksum' && e.type === 'Released', failedAt.id);
    expect((await lab.machine('m-checksum')).status).toMatchObject({ phase: 'Failed', host: null, failureReason: 'ChecksumMismatch' });
    // Deleting the failed machine is immediate: it holds no host.
    expect((await lab.d.api('DELETE', '/api/v1/machines/default/m-checksum')).status).toBe(204);
  });

  it('survives a BMC outage mid-flight: Error with a retry time, then carries on', async () => {
    const mark = lab.mark();
    await lab.registerHost(6, { labels: { group: 'outage' } });
    await lab.untilHostState(hostName(6), 'Available', mark);
    const bmc = lab.emulator.bmcs[6];
    if (!bmc) throw new Error('bmc missing');
    bmc.setFaults({ dropProbability: 1 });
    await lab.createMachine('m-outage', select('outage'));
    const failed = await lab.until((e) => e.name === hostName(6) && e.type === 'StepFailed', mark);
    const host = await lab.host(hostName(6));
    expect(host.status.state).toBe('Error');
    expect(host.status.lastError).toBeTruthy();
    expect(host.status.retryAt).not.toBeNull();
    bmc.resetFaults();
    await lab.untilMachinePhase('m-outage', 'Provisioned', failed.id);
    expect((await lab.host(hostName(6))).status).toMatchObject({ state: 'Provisioned', lastError: null });
  });

  it('releases a claimed host whose BMC keeps failing, and the machine takes another', async () => {
    const mark = lab.mark();
    await lab.registerHost(1, { labels: { group: 'deadbmc' } });
    await lab.untilHostState(hostName(1), 'Available', mark);
    await lab.registerHost(4, { labels: { group: 'deadbmc' } });
    await lab.untilHostState(hostName(4), 'Available', mark);
    lab.emulator.bmcs[1]?.setFaults({ dropProbability: 1 });
    await lab.createMachine('m-deadbmc', select('deadbmc'));
    const released = await lab.until((e) => e.kind === 'machine' && e.name === 'm-deadbmc' && e.type === 'Released', mark);
    expect(released.message).toContain('BMC failed 5 times');
    await lab.untilMachinePhase('m-deadbmc', 'Provisioned', released.id);
    expect((await lab.machine('m-deadbmc')).status.host).toEqual({ namespace: 'default', name: hostName(4) });
    expect((await lab.host(hostName(1))).status).toMatchObject({ state: 'Error', machine: null });
    lab.emulator.bmcs[1]?.resetFaults();
  });

  it('deprovisions with a wipe, clears the run, and provisions the same host again (disk mode)', async () => {
    const mark = lab.mark();
    await lab.registerHost(7, { labels: { group: 'again' } });
    await lab.untilHostState(hostName(7), 'Available', mark);
    await lab.createMachine('m-disk', { ...select('again'), image: lab.diskImage, deprovision: { wipe: { method: 'metadata' } } });
    await lab.untilMachinePhase('m-disk', 'Provisioned', mark);
    const provisioned = await lab.host(hostName(7));
    // Installed on disk: later boots use the local disk.
    await lab.d.untilEvent((e) => e.id > mark && e.name === hostName(7) && e.type === 'NetbootDisarmed');
    const script = await fetch(`${lab.d.url}/ipxe/${simMac(7)}`);
    expect(await script.text()).toContain('sanboot');
    expect(provisioned.status.machine).toEqual({ namespace: 'default', name: 'm-disk' });

    const release = lab.mark();
    const deleted = await lab.d.api('DELETE', '/api/v1/machines/default/m-disk');
    expect(deleted.status).toBe(202);
    expect((deleted.body as { status: { phase: string } }).status.phase).toBe('Deleting');
    const wiped = await lab.until((e) => e.name === hostName(7) && e.type === 'Wiped', release);
    expect(wiped.message).toContain('metadata');
    await lab.until((e) => e.kind === 'machine' && e.name === 'm-disk' && e.type === 'Deleted', release);
    const clean = await lab.host(hostName(7));
    expect(clean.status).toMatchObject({ state: 'Available', machine: null, netbootMode: null, lastError: null });
    expect(lab.rack.outcomes(simMac(7)).at(-1)).toMatchObject({ kind: 'wiped' });

    // Once shipped hosts could never be provisioned twice; this one is, by a new machine.
    const second = lab.mark();
    await lab.createMachine('m-disk-2', { ...select('again'), image: lab.diskImage });
    await lab.untilMachinePhase('m-disk-2', 'Provisioned', second);
    expect((await lab.machine('m-disk-2')).status.host).toEqual({ namespace: 'default', name: hostName(7) });
  });

  it('inspects on request, keeps the report, and powers the host off again', async () => {
    const mark = lab.mark();
    await lab.registerHost(8, { labels: { group: 'inspect' } });
    await lab.untilHostState(hostName(8), 'Available', mark);
    const res = await lab.d.api('POST', `/api/v1/hosts/default/${hostName(8)}/inspect`);
    expect(res.status).toBe(202);
    const inspected = await lab.untilHostState(hostName(8), 'Inspected', mark);
    await lab.untilHostState(hostName(8), 'Available', inspected.id);
    const host = await lab.host(hostName(8));
    expect(host.status).toMatchObject({ state: 'Available', inspectionPhase: 'Complete', inspectionReport: { cpus: { cores: 8 } } });
    // Told to power off, or (if the daemon had already ended the boot) refused: either way the ramdisk stops.
    expect(lab.rack.outcomes(simMac(8)).at(-1)?.kind).toMatch(/poweroff|unauthorized/);
    // The ramdisk log was kept.
    const logs = await lab.d.api('GET', `/api/v1/hosts/default/${hostName(8)}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.text).toContain('report accepted');
  });

  it('answers every bad boot token with the same 401: wrong, other host, revoked, replayed', async () => {
    const mark = lab.mark();
    await lab.registerHost(9, { labels: { group: 'tokens' } });
    await lab.registerHost(10, { labels: { group: 'tokens' } });
    await lab.untilHostState(hostName(9), 'Available', mark);
    await lab.untilHostState(hostName(10), 'Available', mark);
    const report = { bootMACAddress: simMac(9), cpus: { count: 1, cores: 4, threads: 8, model: 'x', architecture: 'x86_64', mhz: 1 }, memory: { totalBytes: 1, totalGB: 0 }, disks: [], nics: [], system: {} };
    const post = (name: string, token: string, body: unknown = report) =>
      fetch(`${lab.d.url}/api/v1/inspection/default/${name}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // Arm host 9 by hand and render its script to get a live token (what iPXE would do).
    lab.d.daemon.services?.hosts.setNetbootMode('default', hostName(9), 'inspect', () => undefined);
    const script = await (await fetch(`${lab.d.url}/ipxe/${simMac(9)}`)).text();
    const token = /beskar7\.token=(\S+)/.exec(script)?.[1] ?? '';
    expect(token).not.toBe('');
    const answers = [await post(hostName(9), 'not-a-token'), await post(hostName(10), token), await post(hostName(9), `${token}x`)];
    lab.d.daemon.services?.hosts.setNetbootMode('default', hostName(9), null, (id) => lab.d.daemon.services?.bootTokens.revoke(id));
    answers.push(await post(hostName(9), token));
    const bodies = await Promise.all(answers.map(async (r) => `${r.status} ${await r.text()}`));
    expect(new Set(bodies).size).toBe(1);
    expect(bodies[0]).toMatch(/^401 /);
    // An invalid report from someone without a token still gets 401, not a schema lesson.
    expect((await post(hostName(9), 'nope', { junk: true })).status).toBe(401);
    // A report over 1 MiB is refused before anything else.
    const huge = await post(hostName(9), token, { ...report, cpus: { ...report.cpus, model: 'x'.repeat(1_100_000) } });
    expect(huge.status).toBe(413);
  });

  it('binds a boot to its first reporter, refuses foreign MACs, and keeps OS tokens out of the ramdisk API', async () => {
    const mac = '52:54:00:ff:00:01';
    const mark = lab.mark();
    expect((await lab.d.api('POST', '/api/v1/hosts', { name: 'bind-01', labels: { group: 'bind' }, powerControl: 'manual', bootMACAddresses: [mac] })).status).toBe(201);
    await lab.untilHostState('bind-01', 'Available', mark);
    await lab.createMachine('m-bind', select('bind'));
    await lab.until((e) => e.name === 'bind-01' && e.type === 'BootRequested', mark);
    const render = async () => /beskar7\.token=(\S+)/.exec(await (await fetch(`${lab.d.url}/ipxe/${mac}`)).text())?.[1] ?? '';
    const [mine, stranger] = [await render(), await render()];
    const call = (method: string, path: string, token: string, body?: unknown) =>
      fetch(`${lab.d.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const report = (bootMAC: string) => ({
      bootMACAddress: bootMAC,
      cpus: { count: 1, cores: 4, threads: 8, model: 'x', architecture: 'x86_64', mhz: 1 },
      memory: { totalBytes: 1, totalGB: 0 },
      disks: [],
      nics: [],
      system: {},
    });
    // A report from a NIC that is not the host's is refused.
    const foreign = await call('POST', '/api/v1/inspection/default/bind-01', mine, report('52:54:00:ff:00:99'));
    expect(foreign.status).toBe(409);
    expect((await call('POST', '/api/v1/inspection/default/bind-01', mine, report(mac))).status).toBe(202);
    // The first reporter owns the boot: the other render's token is dead now.
    expect((await call('GET', '/api/v1/ramdisk/default/bind-01/next', stranger)).status).toBe(401);
    await lab.untilHostState('bind-01', 'Provisioning', mark);
    const next = await call('GET', '/api/v1/ramdisk/default/bind-01/next', mine);
    expect(next.status).toBe(200);
    expect(((await next.json()) as { action: string }).action).toBe('kexec');
    // An installed OS's token cannot act as a ramdisk.
    const hostId = lab.d.daemon.services?.planner.target(mac)?.hostId ?? -1;
    const os = lab.d.daemon.services?.bootTokens.issue(hostId, 'os') ?? '';
    expect((await call('POST', '/api/v1/inspection/default/bind-01', os, report(mac))).status).toBe(401);
    expect((await call('GET', '/api/v1/ramdisk/default/bind-01/next', os)).status).toBe(401);
    expect((await call('POST', '/api/v1/ramdisk/default/bind-01/progress', os, { phase: 'failed', reason: 'KexecFailed' })).status).toBe(401);
    // …but it may ask for its bootstrap data.
    expect((await call('GET', '/api/v1/ramdisk/default/bind-01/user-data', os)).status).toBe(200);
    expect((await call('GET', '/api/v1/ramdisk/default/bind-01/user-data', stranger)).status).toBe(401);
  });

  it('drives a host without a BMC through the operator: manual power, then the same run', async () => {
    const mark = lab.mark();
    const res = await lab.d.api('POST', '/api/v1/hosts', { name: 'manual-01', labels: { group: 'manual' }, powerControl: 'manual', bootMACAddresses: [simMac(11)] });
    expect(res.status).toBe(201);
    await lab.untilHostState('manual-01', 'Available', mark);
    await lab.createMachine('m-manual', select('manual'));
    // The daemon cannot power it: it says what a person must do, and waits for the boot.
    const asked = await lab.until((e) => e.name === 'manual-01' && e.type === 'BootRequested', mark);
    expect(asked.message).toContain('operator:');
    // The person presses the power button: the machine network-boots.
    const outcome = await lab.machines[11]?.boot();
    expect(outcome?.kind).toBe('kexec');
    await lab.untilMachinePhase('m-manual', 'Provisioned', mark);
  });

  it('exports lifecycle metrics that follow the events', async () => {
    const metrics = await (await fetch(`${lab.d.url}/metrics`)).text();
    expect(metrics).toMatch(/^beskar7_inspection_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^beskar7_provisioning_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^beskar7_machine_failures_total\{reason="ChecksumMismatch"\} 1/m);
    expect(metrics).toMatch(/^beskar7_lifecycle_step_failures_total [1-9]/m);
    expect(metrics).toMatch(/^beskar7_lifecycle_queue\{status="running"\} \d/m);
  });
});

describe.skipIf(!haveRedfishData())('inspection on enrollment', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ hosts: 2, overrides: ['lifecycle.inspectOnEnroll=true'] });
  }, 60_000);
  afterAll(async () => lab.stop());

  it('inspects each host once it is enrolled, so claims can match on known hardware', async () => {
    const mark = lab.mark();
    await lab.registerHost(0);
    const inspected = await lab.untilHostState(hostName(0), 'Inspected', mark);
    await lab.untilHostState(hostName(0), 'Available', inspected.id);
    const host = await lab.host(hostName(0));
    expect(host.status).toMatchObject({ state: 'Available', inspectionPhase: 'Complete', inspectionReport: { cpus: { cores: 4 } }, netbootMode: null });
    expect(lab.emulator.bmcs[0]?.system().powerState).toBe('Off');
    const log = await lab.d.api('GET', `/api/v1/events/log?since=${mark}&limit=500&kind=host&name=${hostName(0)}`);
    const states = (log.body as { items: { type: string; data: { to?: string } }[] }).items.filter((e) => e.type === 'StateChanged').map((e) => e.data.to);
    expect(states).toEqual(['Inspecting', 'Inspected', 'Deprovisioning', 'Available']);
  });
});

// Its own lab: a short inspection timeout must not race the other cases on a slow machine.
describe.skipIf(!haveRedfishData())('inspection timeout', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ hosts: 6, overrides: ['lifecycle.inspectionTimeoutSeconds=2'] });
  }, 60_000);
  afterAll(async () => lab.stop());

  it('times out an inspection whose ramdisk never reports: phase Timeout, powered off, host reusable', async () => {
    const mark = lab.mark();
    const hung = lab.machines[4];
    if (!hung) throw new Error('machine missing');
    hung.faults.neverReport = true;
    await lab.registerHost(4, { labels: { group: 'timeout' } });
    await lab.untilHostState(hostName(4), 'Available', mark);
    await lab.createMachine('m-timeout', select('timeout'));
    const timedOut = await lab.until((e) => e.name === hostName(4) && e.type === 'InspectionTimeout', mark);
    await lab.untilHostState(hostName(4), 'Available', timedOut.id);
    const host = await lab.host(hostName(4));
    expect(host.status).toMatchObject({ state: 'Available', inspectionPhase: 'Timeout', machine: null, netbootMode: null });
    expect(lab.emulator.bmcs[4]?.system().powerState).toBe('Off');
    // The machine does not try the host that timed out again; it waits for another.
    expect((await lab.machine('m-timeout')).status).toMatchObject({ phase: 'Pending', host: null });
    // The host is reusable: with the ramdisk fixed, another machine provisions it.
    hung.faults.neverReport = false;
    const again = lab.mark();
    await lab.createMachine('m-timeout-2', select('timeout'));
    await lab.untilMachinePhase('m-timeout-2', 'Provisioned', again);
    const metrics = await (await fetch(`${lab.d.url}/metrics`)).text();
    expect(metrics).toMatch(/^beskar7_inspection_failures_total\{reason="Timeout"\} 1/m);
  });

});
