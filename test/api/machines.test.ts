import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineCreateSchema } from '../../daemon/core/schemas/machine.js';
import { kexecImage, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

type Json = Record<string, unknown>;
let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => d.stop());

const fields = (body: unknown): string[] => (body as { details: { field: string }[] }).details.map((x) => x.field);

describe('machines', () => {
  it('creates a kexec machine; bootstrap data is write-only', async () => {
    const res = await d.api('POST', '/api/v1/machines', {
      name: 'worker-01',
      hardwareRequirements: { minCPUCores: 4, minMemoryGB: 16, minDiskGB: 100 },
      hostSelector: { matchLabels: { 'topology.kubernetes.io/zone': 'a' } },
      image: { ...kexecImage, kernel: { url: 'http://images.example/vmlinuz', sha256: 'A'.repeat(64) } },
      bootstrapData: '#cloud-config\njoin-token: abcdef.0123456789abcdef\n',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/api/v1/machines/default/worker-01');
    expect(res.body).toMatchObject({
      namespace: 'default',
      name: 'worker-01',
      hardwareRequirements: { minCPUCores: 4, minMemoryGB: 16, minDiskGB: 100 },
      image: { mode: 'kexec', kernel: { sha256: 'a'.repeat(64) }, cmdline: 'console=ttyS0' },
      hasBootstrapData: true,
      configurationURL: null,
      status: { phase: 'Pending', host: null, providerID: null, addresses: [], failureReason: null, failureMessage: null },
    });
    expect(res.text).not.toContain('join-token');
    expect(d.daemon.services?.machines.bootstrapData('default', 'worker-01')).toContain('join-token: abcdef');
  });

  it('creates tarball-kexec and disk machines', async () => {
    const tarball = await d.api('POST', '/api/v1/machines', { name: 'kairos', image: { mode: 'kexec', tarball: { url: 'https://x.example/k.tar.gz', sha256: 'c'.repeat(64) } } });
    expect(tarball.status).toBe(201);
    const disk = await d.api('POST', '/api/v1/machines', {
      name: 'disk-01',
      image: { mode: 'disk', url: 'https://x.example/os.raw.zst', sha256: 'd'.repeat(64), format: 'zstd', rootDeviceHints: { deviceName: '/dev/sda' } },
      configurationURL: 'https://config.example/disk-01.ign',
    });
    expect(disk.status).toBe(201);
    expect(disk.body).toMatchObject({ hasBootstrapData: false, configurationURL: 'https://config.example/disk-01.ign' });
  });

  it('answers 400 naming the field for bad images, selectors and requirements', async () => {
    const cases: [Json, string][] = [
      [{ name: 'm1', image: { mode: 'kexec' } }, 'body.image.kernel'],
      [{ name: 'm1', image: { ...kexecImage, tarball: { url: 'http://x/t.tgz', sha256: 'e'.repeat(64) } } }, 'body.image.tarball'],
      [{ name: 'm1', image: { ...kexecImage, kernel: { url: 'http://x/k', sha256: 'short' } } }, 'body.image.kernel.sha256'],
      [{ name: 'm1', image: { mode: 'pxe' } }, 'body.image.mode'],
      [{ name: 'm1', image: { mode: 'disk', url: 'file:///etc/passwd', sha256: 'f'.repeat(64) } }, 'body.image.url'],
      [{ name: 'm1', image: kexecImage, hardwareRequirements: { minCPUCores: 0 } }, 'body.hardwareRequirements.minCPUCores'],
      [{ name: 'm1', image: kexecImage, hardwareRequirements: { minRAM: 4 } }, 'body.hardwareRequirements.minRAM'],
      [{ name: 'm1', image: kexecImage, hostSelector: { matchExpressions: [{ key: 'zone', operator: 'In' }] } }, 'body.hostSelector.matchExpressions.0.values'],
      [{ name: 'm1', image: kexecImage, bootstrapData: 'x', configurationURL: 'http://x/c' }, 'body.configurationURL'],
    ];
    for (const [body, field] of cases) {
      const res = await d.api('POST', '/api/v1/machines', body);
      expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(fields(res.body), JSON.stringify(res.body)).toContain(field);
    }
    // Over the HTTP body limit the request never reaches validation; the schema has its own cap too.
    const oversized = await d.api('POST', '/api/v1/machines', { name: 'm1', image: kexecImage, bootstrapData: 'x'.repeat(1024 * 1024 + 1) });
    expect(oversized.status).toBe(413);
    const direct = machineCreateSchema.safeParse({ name: 'm1', image: kexecImage, bootstrapData: 'é'.repeat(600 * 1024) });
    expect(direct.success).toBe(false);
    expect(direct.error?.issues[0]?.path).toEqual(['bootstrapData']);
    expect((await d.api('GET', '/api/v1/machines/default/m1')).status).toBe(404);
  });

  it('lists with filters and pages, reads one, 409 on a taken name, deletes', async () => {
    expect((await d.api('POST', '/api/v1/machines', { name: 'worker-01', image: kexecImage })).status).toBe(409);
    const list = await d.api('GET', '/api/v1/machines?limit=2');
    const page = list.body as { items: Json[]; continue: string | null };
    expect(page.items.map((m) => m.name)).toEqual(['worker-01', 'kairos']);
    expect(page.continue).not.toBeNull();
    const rest = await d.api('GET', `/api/v1/machines?limit=2&continue=${page.continue}`);
    expect((rest.body as { items: Json[] }).items.map((m) => m.name)).toEqual(['disk-01']);
    expect((await d.api('GET', '/api/v1/machines?phase=Pending')).body).toMatchObject({ items: [{}, {}, {}] });
    expect((await d.api('GET', '/api/v1/machines?phase=Sleeping')).status).toBe(400);
    expect((await d.api('GET', '/api/v1/machines/default/kairos')).body).toMatchObject({ name: 'kairos', hasBootstrapData: false });
    expect((await d.api('DELETE', '/api/v1/machines/default/kairos')).status).toBe(204);
    expect((await d.api('DELETE', '/api/v1/machines/default/kairos')).status).toBe(404);
    expect((await d.api('GET', '/api/v1/machines/default/kairos')).status).toBe(404);
  });
});
