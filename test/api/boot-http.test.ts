import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootTokens } from '../../daemon/core/boot/boot-tokens.js';
import { hostBody, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const MAC = '52:54:00:b0:07:01';
let d: TestDaemon;

beforeAll(async () => {
  d = await startTestDaemon({ overrides: ['boot.advertiseAddress=127.0.0.1'] });
  expect((await d.api('POST', '/api/v1/hosts', hostBody('pxe-01', { bootMACAddresses: [MAC] }))).status).toBe(201);
  expect((await d.api('POST', '/api/v1/hosts', hostBody('pxe-02', { bootMACAddresses: ['52:54:00:b0:07:02'] }))).status).toBe(201);
});
afterAll(async () => d.stop());

const script = async (path: string) => {
  const res = await fetch(`${d.url}${path}`);
  return { status: res.status, text: await res.text(), headers: res.headers };
};
const tokenIn = (text: string) => /beskar7\.token=(\S+)/.exec(text)?.[1];
const services = () => {
  const s = d.daemon.services;
  if (!s) throw new Error('daemon not started');
  return s;
};

describe('HTTP boot path', () => {
  it('chains from /boot.ipxe to the per-host script by MAC, without a token', async () => {
    const res = await script('/boot.ipxe');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text.startsWith('#!ipxe\n')).toBe(true);
    expect(res.text).toContain(`chain --autofree http://127.0.0.1:${d.daemon.address.port}/ipxe/\${net0/mac}`);
  });

  it('gives a host that is not armed a local-boot script, and an unknown MAC one too', async () => {
    const local = await script(`/ipxe/${MAC}`);
    expect(local.status).toBe(200);
    expect(local.text).toContain('default/pxe-01 boots from its local disk');
    expect(local.text).toContain('sanboot --no-describe --drive 0x80');
    expect(tokenIn(local.text)).toBeUndefined();
    const unknown = await script('/ipxe/52-54-00-FF-FF-FF');
    expect(unknown.text).toContain('unknown MAC 52:54:00:ff:ff:ff');
    expect((await script('/ipxe/not-a-mac')).status).toBe(400);
  });

  it('gives an armed host the inspector with a fresh token for this boot only', async () => {
    services().hosts.setNetbootMode('default', 'pxe-01', 'inspect', (id) => services().bootTokens.revoke(id));
    const first = await script(`/ipxe/${MAC.toUpperCase()}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const base = `http://127.0.0.1:${d.daemon.address.port}`;
    expect(first.text).toContain(`kernel --name vmlinuz ${base}/boot-assets/inspector/vmlinuz initrd=initrd.img beskar7.api=${base} beskar7.host=default/pxe-01`);
    expect(first.text).toContain('beskar7.mode=inspect BOOTIF=01-52-54-00-b0-07-01 console=tty0 console=ttyS0,115200');
    expect(first.text).toContain(`initrd --name initrd.img ${base}/boot-assets/inspector/initramfs.gz`);
    const token = tokenIn(first.text) ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const tokens = services().bootTokens;
    expect(tokens.verify('default', 'pxe-01', token)).toMatchObject({ mode: 'inspect' });
    // Scoped: not valid for another host, nor with a changed character.
    expect(tokens.verify('default', 'pxe-02', token)).toBeNull();
    expect(tokens.verify('default', 'pxe-01', `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    // Fetching the script again issues a new token; a stranger's fetch does not end the real
    // machine's token at once, but only the newest three of one boot stay valid.
    const second = tokenIn((await script(`/ipxe/${MAC}`)).text) ?? '';
    expect(second).not.toBe(token);
    expect(tokens.verify('default', 'pxe-01', token)).not.toBeNull();
    await script(`/ipxe/${MAC}`);
    await script(`/ipxe/${MAC}`);
    expect(tokens.verify('default', 'pxe-01', token)).toBeNull();
    expect(tokens.verify('default', 'pxe-01', second)).not.toBeNull();
    // Disarming ends the boot and its token.
    services().hosts.setNetbootMode('default', 'pxe-01', null, (id) => services().bootTokens.revoke(id));
    expect(tokens.verify('default', 'pxe-01', second)).toBeNull();
    expect((await d.api('GET', '/api/v1/hosts/default/pxe-01')).body).toMatchObject({ status: { netbootMode: null } });
  });

  it('keeps tokens only as hashes, out of events and logs', async () => {
    services().hosts.setNetbootMode('default', 'pxe-02', 'wipe', (id) => services().bootTokens.revoke(id));
    const token = tokenIn((await script('/ipxe/52:54:00:b0:07:02')).text) ?? '';
    expect(token).not.toBe('');
    const { bootTokens } = await import('../../db/schema.js');
    const rows = services().store.db.select().from(bootTokens).all();
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows.map((r) => ({ ...r, secretHash: r.secretHash.toString('latin1') })))).not.toContain(token);
    const events = await d.api('GET', '/api/v1/events/log?since=0&limit=500&name=pxe-02');
    expect(events.text).toContain('BootScriptServed');
    expect(events.text).not.toContain(token);
    expect(d.logs.text).not.toContain(token);
  });

  it('expires tokens after their lifetime', () => {
    let now = 1_000_000;
    const tokens = new BootTokens(services().store.sqlite, 600_000, () => now);
    const host = services().planner.target('52:54:00:b0:07:02');
    if (!host) throw new Error('host missing');
    const token = tokens.issue(host.hostId, 'wipe');
    expect(tokens.verify('default', 'pxe-02', token)).not.toBeNull();
    now += 600_001;
    expect(tokens.verify('default', 'pxe-02', token)).toBeNull();
  });

  it('keeps a boot that keeps talking alive, and lets an idle one expire', () => {
    let now = 2_000_000;
    const tokens = new BootTokens(services().store.sqlite, 600_000, () => now);
    const host = services().planner.target('52:54:00:b0:07:02');
    if (!host) throw new Error('host missing');
    const token = tokens.issue(host.hostId, 'provision');
    // Used every 8 minutes for 40 minutes: a long image download with progress reports.
    for (let i = 0; i < 5; i++) {
      now += 480_000;
      const verified = tokens.verify('default', 'pxe-02', token);
      expect(verified).not.toBeNull();
      if (verified) tokens.keepAlive(verified);
    }
    now += 600_001;
    expect(tokens.verify('default', 'pxe-02', token)).toBeNull();
    // The installed OS's token keeps its fixed life however often it is used.
    const os = tokens.issue(host.hostId, 'os', 900_000);
    now += 800_000;
    const verifiedOs = tokens.verify('default', 'pxe-02', os);
    expect(verifiedOs?.mode).toBe('os');
    if (verifiedOs) tokens.keepAlive(verifiedOs);
    // A mode the caller does not allow is a failure like any other.
    expect(tokens.verify('default', 'pxe-02', os, ['provision'])).toBeNull();
    now += 100_001;
    expect(tokens.verify('default', 'pxe-02', os)).toBeNull();
  });

  it('serves boot assets with Content-Length and byte ranges, and nothing outside the directory', async () => {
    const dir = join(d.dataDir, 'assets', 'inspector');
    mkdirSync(dir, { recursive: true });
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
    writeFileSync(join(dir, 'vmlinuz'), bytes);
    const full = await fetch(`${d.url}/boot-assets/inspector/vmlinuz`);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-length')).toBe('4096');
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await full.arrayBuffer()).equals(bytes)).toBe(true);
    const part = await fetch(`${d.url}/boot-assets/inspector/vmlinuz`, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/4096');
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
    for (const path of ['/boot-assets/../beskar7.db', '/boot-assets/%2e%2e/beskar7.db', '/boot-assets/..%2fbeskar7.db', '/boot-assets/']) {
      const res = await fetch(`${d.url}${path}`);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
    }
  });

  it('counts rendered scripts by kind', async () => {
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/beskar7_ipxe_scripts_total\{kind="ramdisk"\} [1-9]/);
    expect(metrics).toMatch(/beskar7_ipxe_scripts_total\{kind="chain"\} 1/);
  });
});
