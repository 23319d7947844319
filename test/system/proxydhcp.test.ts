import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBody, tempDir } from '../helpers/daemon.js';
import { createSegment, inNs, NsCommandError, requireNetnsTools, spawnInNs, type Segment } from '../helpers/netns.js';
import { CLI, assertBuilt } from '../helpers/process.js';
import type { ClientProfile } from '../helpers/pxe-clients.js';

interface Reply {
  from: string;
  xid: number;
  type: number;
  serverId: string | null;
  yiaddr: string;
  siaddr: string;
  file: string;
  vendorClass: string | null;
  option43: number[];
  guidEchoed: boolean;
  length: number;
}

const SERVER = '10.77.0.1';
const SITE = '10.77.0.2';
const MACS: Record<ClientProfile, string> = {
  bios: '52:54:00:77:00:01',
  'efi-x64': '52:54:00:77:00:02',
  arm64: '52:54:00:77:00:03',
  http: '52:54:00:77:00:04',
  ipxe: '52:54:00:77:00:05',
  plain: '52:54:00:77:00:06',
};
const IDLE_MAC = '52:54:00:77:00:07';

let segment: Segment;
let dataDir: string;
const children: ChildProcess[] = [];
let token = '';
const daemonLog: string[] = [];

function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const timer = setTimeout(() => reject(new Error(`${what} not ready in ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
    const watch = (stream: NodeJS.ReadableStream | null) =>
      stream &&
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (pattern.test(line)) {
          clearTimeout(timer);
          resolve(line);
        }
      });
    watch(child.stdout);
    watch(child.stderr);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before ready:\n${lines.join('\n')}`));
    });
  });
}

/** REST calls from inside the segment, where the daemon listens. */
function api(method: string, path: string, body?: unknown): { status: number; body: string } {
  const out = inNs(segment.server, [
    'curl', '-sS', '--max-time', '20', '-w', '\n%{http_code}', '-X', method,
    '-H', `authorization: Bearer ${token}`, '-H', 'content-type: application/json',
    ...(body === undefined ? [] : ['--data', JSON.stringify(body)]),
    `http://${SERVER}:8082${path}`,
  ]);
  const cut = out.lastIndexOf('\n');
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
}

/** Runs the scripted PXE client in the client namespace; returns every reply it saw. */
function pxeClient(plan: { sends: object[]; localPort?: number; waitFor: { xid: number; server: string }[] }): { replies: Reply[]; missing: string[] } {
  let out: string;
  try {
    out = inNs(segment.client, [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'pxe-client.ts'), JSON.stringify({ localPort: 68, timeoutMs: 15_000, ...plan })], { timeoutMs: 30_000 });
  } catch (error) {
    // A timeout exits non-zero; what the client saw until then is still in its output.
    if (!(error instanceof NsCommandError)) throw error;
    out = error.stdout;
  }
  const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Reply & { done?: boolean; missing?: string[] });
  const done = lines.find((l) => l.done);
  return { replies: lines.filter((l) => !l.done), missing: done?.missing ?? ['(client printed no summary)'] };
}

beforeAll(async () => {
  requireNetnsTools();
  assertBuilt();
  segment = createSegment();
  dataDir = tempDir('beskar7-netns-');
  // The site's own DHCP server, handing out addresses as it would without Beskar7.
  const conf = join(dataDir, 'udhcpd.conf');
  writeFileSync(conf, `start 10.77.0.100\nend 10.77.0.150\ninterface eth0\nlease_file ${join(dataDir, 'udhcpd.leases')}\nopt subnet 255.255.255.0\nopt lease 600\n`);
  writeFileSync(join(dataDir, 'udhcpd.leases'), '');
  const site = spawnInNs(segment.dhcp, ['busybox', 'udhcpd', '-f', conf]);
  children.push(site);
  const daemon = spawnInNs(segment.server, [
    process.execPath, CLI, 'daemon', '--data-dir', dataDir, '--host', '0.0.0.0', '--port', '8082',
    '--set', `boot.advertiseAddress=${SERVER}`, '--set', 'tftp.root=/usr/lib/ipxe',
  ]);
  children.push(daemon);
  daemon.stdout?.setEncoding('utf8').on('data', (chunk: string) => daemonLog.push(chunk));
  let stderr = '';
  daemon.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await waitForLine(daemon, /"beskar7 daemon ready"/, 'daemon');
  token = /b7_[a-f0-9]{16}_[A-Za-z0-9_-]{43}/.exec(stderr)?.[0] ?? '';
  expect(token).not.toBe('');
  for (const [profile, mac] of Object.entries(MACS)) {
    expect(api('POST', '/api/v1/hosts', hostBody(`nb-${profile}`, { bootMACAddresses: [mac] })).status).toBe(201);
  }
  expect(api('POST', '/api/v1/hosts', hostBody('nb-idle', { bootMACAddresses: [IDLE_MAC] })).status).toBe(201);
  // Stand in for the lifecycle engine: arm every host but the idle one for an inspection boot.
  const db = new Database(join(dataDir, 'beskar7.db'));
  db.prepare("UPDATE hosts SET netboot_mode = 'inspect' WHERE name LIKE 'nb-%' AND name != 'nb-idle'").run();
  db.close();
}, 120_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  segment?.destroy();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('proxyDHCP beside a real DHCP server, in network namespaces', () => {
  it('reports which boot servers run and where', () => {
    const log = daemonLog.join('');
    expect(log).toMatch(/"server":"proxyDHCP".*"msg":"proxyDHCP running"/);
    expect(log).toContain(`advertising ${SERVER} (boot.advertiseAddress)`);
    expect(log).toMatch(/"server":"TFTP".*"msg":"TFTP running"/);
  });

  it.each<[ClientProfile, string, string]>([
    ['bios', 'undionly.kpxe', 'PXEClient'],
    ['efi-x64', 'snponly.efi', 'PXEClient'],
    ['arm64', 'arm64/snponly.efi', 'PXEClient'],
    ['http', `http://${SERVER}:8082/ipxe-bin/snponly.efi`, 'HTTPClient'],
    ['ipxe', `http://${SERVER}:8082/ipxe/${MACS.ipxe}`, 'PXEClient'],
  ])('answers a %s DISCOVER with the right boot file, beside the site offer', (profile, file, vendorClass) => {
    const xid = 0x7700 + Object.keys(MACS).indexOf(profile);
    const { replies, missing } = pxeClient({ sends: [{ profile, mac: MACS[profile], xid }], waitFor: [{ xid, server: SERVER }, { xid, server: SITE }] });
    expect(missing).toEqual([]);
    const proxy = replies.find((r) => r.serverId === SERVER);
    const site = replies.find((r) => r.serverId === SITE);
    expect(proxy).toMatchObject({ from: `${SERVER}:67`, type: 2, yiaddr: '0.0.0.0', siaddr: SERVER, file, vendorClass, guidEchoed: true });
    expect(proxy?.length).toBeGreaterThanOrEqual(300);
    if (profile !== 'http') expect(proxy?.option43).toEqual([6, 1, 8, 255]);
    // The site's server still leases the address: the proxy never does.
    expect(site?.yiaddr).toMatch(/^10\.77\.0\.1[0-5]\d$/);
  });

  it('never answers a non-PXE client or a host not armed to boot', () => {
    // Sent first, on the same socket: once the later PXE offer arrives, the daemon has
    // already handled (and ignored) the earlier requests.
    const { replies, missing } = pxeClient({
      sends: [
        { profile: 'plain', mac: MACS.plain, xid: 0x5001 },
        { profile: 'bios', mac: IDLE_MAC, xid: 0x5002 },
        { profile: 'bios', mac: '52:54:00:77:99:99', xid: 0x5003 },
        { profile: 'bios', mac: MACS.bios, xid: 0x5004 },
      ],
      waitFor: [{ xid: 0x5004, server: SERVER }, { xid: 0x5001, server: SITE }],
    });
    expect(missing).toEqual([]);
    const fromProxy = replies.filter((r) => r.serverId === SERVER).map((r) => r.xid);
    expect(fromProxy).toEqual([0x5004]);
  });

  it('leaves a real DHCP client (busybox udhcpc) to the site server', () => {
    // udhcpc reports on stderr; the lease line is what matters.
    const out = inNs(segment.client, ['sh', '-c', 'busybox udhcpc -i eth0 -f -q -n -t 5 -T 2 -s /bin/true 2>&1'], { timeoutMs: 60_000 });
    expect(out).toMatch(new RegExp(`lease of 10\\.77\\.0\\.1[0-5]\\d obtained from ${SITE.replaceAll('.', '\\.')},`));
    // The offer it chose came from the site server; the daemon never offered it anything.
    expect(out).toMatch(/select for 10\.77\.0\.1[0-5]\d, server 10\.77\.0\.2\n/);
    expect(out).not.toMatch(/server 10\.77\.0\.1\b/);
    expect(out).not.toMatch(/from 10\.77\.0\.1\b/);
  });

  it('acks a PXE REQUEST on port 4011 by unicast, then serves TFTP and the iPXE script', () => {
    inNs(segment.client, ['ip', 'addr', 'add', '10.77.0.200/24', 'dev', 'eth0']);
    const { replies, missing } = pxeClient({
      localPort: 4011,
      sends: [{ profile: 'efi-x64', mac: MACS['efi-x64'], xid: 0x4011, type: 'request', to: SERVER, port: 4011, ciaddr: '10.77.0.200' }],
      waitFor: [{ xid: 0x4011, server: SERVER }],
    });
    expect(missing).toEqual([]);
    expect(replies[0]).toMatchObject({ from: `${SERVER}:4011`, type: 5, file: 'snponly.efi' });

    const target = join(dataDir, 'fetched.kpxe');
    execFileSync('ip', ['netns', 'exec', segment.client, 'tftp', SERVER, '-m', 'binary', '-c', 'get', 'undionly.kpxe', target], { timeout: 60_000 });
    expect(readFileSync(target).equals(readFileSync('/usr/lib/ipxe/undionly.kpxe'))).toBe(true);

    const scriptText = inNs(segment.client, ['curl', '-s', `http://${SERVER}:8082/ipxe/${MACS.ipxe}`]);
    expect(scriptText).toContain(`beskar7.api=http://${SERVER}:8082 beskar7.host=default/nb-ipxe`);
    expect(scriptText).toMatch(/beskar7\.token=[A-Za-z0-9_-]{43} beskar7\.mode=inspect/);
  });

  it('counts what it answered and what it ignored', () => {
    const metrics = api('GET', '/metrics').body;
    expect(metrics).toMatch(/beskar7_dhcp_replies_total\{type="offer",flavour="bios",ipxe="false"\} [1-9]/);
    expect(metrics).toMatch(/beskar7_dhcp_replies_total\{type="ack",flavour="efi-x64",ipxe="false"\} 1/);
    expect(metrics).toMatch(/beskar7_dhcp_ignored_total\{reason="not-pxe"\} [1-9]/);
    expect(metrics).toMatch(/beskar7_dhcp_ignored_total\{reason="not-booting"\} [1-9]/);
    expect(metrics).toMatch(/beskar7_dhcp_ignored_total\{reason="unknown-mac"\} [1-9]/);
    expect(metrics).toMatch(/beskar7_tftp_transfers_total\{result="ok"\} 1/);
  });
});
