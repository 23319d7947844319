import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostBody, kexecImage, startTestDaemon } from '../helpers/daemon.js';

const PASSWORD = 'CANARY-bmc-pw-7f3a91';
const ROTATED = 'CANARY-rotated-pw-c40e';
const BOOTSTRAP = 'CANARY-join-token-5b2d';
const canaries = [PASSWORD, ROTATED, BOOTSTRAP];

function assertClean(where: string, bytes: Buffer | string): void {
  const text = Buffer.isBuffer(bytes) ? bytes.toString('latin1') : bytes;
  for (const canary of canaries) expect(text.includes(canary), `${canary} found in ${where}`).toBe(false);
}

describe('BMC passwords and bootstrap data are write-only', () => {
  it('appear in no response, event, log line or database byte', async () => {
    const d = await startTestDaemon({ overrides: ['log.level=trace'] });
    const responses: string[] = [];
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await d.api(method, path, body);
      responses.push(`${method} ${path} ${res.status} ${res.text}`);
      return res;
    };
    await call('POST', '/api/v1/hosts', hostBody('leaky', { redfishConnection: { address: 'https://192.0.2.9', username: 'admin', password: PASSWORD } }));
    await call('PATCH', '/api/v1/hosts/default/leaky', { redfishConnection: { password: ROTATED } });
    await call('POST', '/api/v1/machines', { name: 'leaky-m', image: kexecImage, bootstrapData: `#cloud-config\ntoken: ${BOOTSTRAP}\n` });
    // Invalid bodies carrying the secret must not echo it back in the error either.
    await call('POST', '/api/v1/hosts', hostBody('bad', { redfishConnection: { address: `https://admin:${PASSWORD}@bmc`, username: 'a', password: PASSWORD } }));
    await call('POST', '/api/v1/hosts', hostBody('bad', { redfishConnection: { address: 'https://bmc', username: 'a', password: PASSWORD, extra: PASSWORD } }));
    await call('POST', '/api/v1/hosts', hostBody('leaky', { redfishConnection: { address: 'https://bmc', username: 'a', password: PASSWORD } }));
    await call('PATCH', '/api/v1/hosts/default/leaky', { redfishConnection: { password: ROTATED }, resourceVersion: 1 });
    await call('POST', '/api/v1/machines', { name: 'BAD', image: kexecImage, bootstrapData: BOOTSTRAP });
    for (const path of ['/api/v1/hosts', '/api/v1/hosts/default/leaky', '/api/v1/machines', '/api/v1/machines/default/leaky-m', '/api/v1/events/log?since=0&limit=500', '/api/v1/tokens']) {
      await call('GET', path);
    }
    expect(responses.filter((r) => / (200|201) /.test(r))).toHaveLength(9);
    assertClean('HTTP responses', responses.join('\n'));

    // The secrets are really stored (sealed) and usable by the daemon itself.
    expect(d.daemon.services?.hosts.bmcPassword('default', 'leaky')).toBe(ROTATED);
    expect(d.daemon.services?.machines.bootstrapData('default', 'leaky-m')).toContain(BOOTSTRAP);

    const walBytes = readFileSync(join(d.dataDir, 'beskar7.db-wal'));
    const dbFile = join(d.dataDir, 'beskar7.db');
    const dataDir = d.dataDir;
    expect(d.logs.lines().length).toBeGreaterThan(10);
    // The scans below see real data: the host's name is there, its secrets are not.
    expect(walBytes.includes(Buffer.from('leaky'))).toBe(true);
    expect(d.logs.text).toContain('default/leaky');
    await d.daemon.stop();
    assertClean('the log', d.logs.text);
    assertClean('the WAL while running', walBytes);
    assertClean('the database file', readFileSync(dbFile));
    if (existsSync(`${dbFile}-wal`)) assertClean('the WAL after stop', readFileSync(`${dbFile}-wal`));
    const { rmSync } = await import('node:fs');
    rmSync(dataDir, { recursive: true, force: true });
  });
});
