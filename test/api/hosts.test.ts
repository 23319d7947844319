import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBody, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

type Json = Record<string, unknown>;
let d: TestDaemon;

beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => d.stop());

const fields = (body: unknown): string[] => ((body as { details: { field: string }[] }).details ?? []).map((x) => x.field);

describe('POST /api/v1/hosts', () => {
  it('registers a host, normalises MACs, and never returns the password', async () => {
    const res = await d.api('POST', '/api/v1/hosts', hostBody('server-01', { bootMACAddresses: ['52-54-00-AA-BB-01'] }));
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/api/v1/hosts/default/server-01');
    expect(res.body).toMatchObject({
      namespace: 'default',
      name: 'server-01',
      labels: { 'topology.kubernetes.io/zone': 'zone-a' },
      redfishConnection: { address: 'https://192.0.2.10', username: 'admin', systemId: null, insecureSkipVerify: false, caBundle: null, hasPassword: true },
      powerControl: 'redfish',
      bootMACAddresses: ['52:54:00:aa:bb:01'],
      status: { state: 'Enrolling', powerState: 'Unknown', inspectionPhase: null, system: null, machine: null, lastError: null },
      resourceVersion: 1,
    });
    expect(res.text).not.toContain('hunter2');
    expect(res.text).not.toContain('password"');
  });

  it('answers 409 for a taken name and for a MAC that belongs to another host', async () => {
    expect((await d.api('POST', '/api/v1/hosts', hostBody('server-01'))).status).toBe(409);
    const mac = await d.api('POST', '/api/v1/hosts', hostBody('server-02', { bootMACAddresses: ['52:54:00:aa:bb:01'] }));
    expect(mac.status).toBe(409);
    expect((mac.body as Json).message).toBe('boot MAC 52:54:00:aa:bb:01 belongs to host default/server-01');
    expect((await d.api('GET', '/api/v1/hosts/default/server-02')).status).toBe(404);
  });

  it('answers 400 naming each offending field, and stores nothing', async () => {
    const cases: [unknown, string][] = [
      [hostBody('Bad_Name'), 'body.name'],
      [hostBody('ok', { namespace: '-x' }), 'body.namespace'],
      [hostBody('ok', { bootMACAddresses: ['not-a-mac'] }), 'body.bootMACAddresses.0'],
      [hostBody('ok', { bootMACAddresses: ['52:54:00:00:00:01', '52:54:00:00:00:01'] }), 'body.bootMACAddresses'],
      [hostBody('ok', { labels: { 'bad key!': 'x' } }), 'body.labels.bad key!'],
      [hostBody('ok', { powerControl: 'ipmi' }), 'body.powerControl'],
      [hostBody('ok', { redfishConnection: { address: 'ftp://x', username: 'u', password: 'p' } }), 'body.redfishConnection.address'],
      [hostBody('ok', { redfishConnection: { address: 'https://u:p@bmc', username: 'u', password: 'p' } }), 'body.redfishConnection.address'],
      [hostBody('ok', { redfishConnection: { address: 'https://bmc/redfish/v1', username: 'u', password: 'p' } }), 'body.redfishConnection.address'],
      [hostBody('ok', { redfishConnection: { address: 'https://bmc', username: 'u' } }), 'body.redfishConnection.password'],
      [hostBody('ok', { redfishConnection: { address: 'https://bmc', username: 'u', password: 'p', caBundle: 'nope' } }), 'body.redfishConnection.caBundle'],
      [hostBody('ok', { redfishConnection: undefined }), 'body.redfishConnection'],
      [hostBody('ok', { redfishConnection: undefined, powerControl: 'wol' }), 'body.bootMACAddresses'],
      [hostBody('ok', { surprise: 1 }), 'body.surprise'],
      [{ name: 42 }, 'body.name'],
    ];
    for (const [body, field] of cases) {
      const res = await d.api('POST', '/api/v1/hosts', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.body as Json).error).toBe('BadRequest');
      expect(fields(res.body), JSON.stringify(res.body)).toContain(field);
    }
    const list = await d.api('GET', '/api/v1/hosts?namespace=default');
    expect((list.body as { items: Json[] }).items.map((h) => h.name)).toEqual(['server-01']);
  });

  it('accepts hosts without a BMC: manual power, and wake-on-LAN with a MAC', async () => {
    const manual = await d.api('POST', '/api/v1/hosts', { name: 'lab-manual', powerControl: 'manual' });
    expect(manual.status).toBe(201);
    expect(manual.body).toMatchObject({ redfishConnection: null, powerControl: 'manual' });
    const wol = await d.api('POST', '/api/v1/hosts', { name: 'lab-wol', powerControl: 'wol', bootMACAddresses: ['aa:bb:cc:dd:ee:01'] });
    expect(wol.status).toBe(201);
  });

  it('rejects malformed JSON, a missing body, the wrong media type and an oversized body', async () => {
    const bad = await d.api('POST', '/api/v1/hosts', '{"name": ', { 'content-type': 'application/json' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'BadRequest' });
    const missing = await fetch(`${d.url}/api/v1/hosts`, { method: 'POST', headers: { authorization: `Bearer ${d.token}` } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'BadRequest', details: [{ field: 'body' }] });
    const text = await d.api('POST', '/api/v1/hosts', 'name=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ error: 'UnsupportedMediaType' });
    const huge = await d.api('POST', '/api/v1/hosts', hostBody('huge', { labels: { a: 'x'.repeat(2 * 1024 * 1024) } }));
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ error: 'PayloadTooLarge' });
    expect((huge.body as Json).message).toContain('1048576');
  });
});

describe('GET /api/v1/hosts', () => {
  beforeAll(async () => {
    for (let i = 0; i < 7; i++) {
      const zone = i % 2 === 0 ? 'zone-b' : 'zone-c';
      const res = await d.api('POST', '/api/v1/hosts', hostBody(`rack-${i}`, { namespace: 'rack', labels: { 'topology.kubernetes.io/zone': zone, role: i < 3 ? 'cp' : 'worker' } }));
      expect(res.status).toBe(201);
    }
  });

  it('pages with limit and continue until continue is null', async () => {
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await d.api('GET', `/api/v1/hosts?namespace=rack&limit=3${cursor ? `&continue=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = res.body as { items: Json[]; continue: string | null };
      names.push(...page.items.map((h) => String(h.name)));
      cursor = page.continue;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(names).toEqual(['rack-0', 'rack-1', 'rack-2', 'rack-3', 'rack-4', 'rack-5', 'rack-6']);
  });

  it('filters by label (repeatable, AND), state and namespace', async () => {
    const zone = await d.api('GET', `/api/v1/hosts?label=${encodeURIComponent('topology.kubernetes.io/zone=zone-b')}&label=role=cp`);
    expect((zone.body as { items: Json[] }).items.map((h) => h.name)).toEqual(['rack-0', 'rack-2']);
    const enrolling = await d.api('GET', '/api/v1/hosts?state=Enrolling&namespace=rack');
    expect((enrolling.body as { items: Json[] }).items).toHaveLength(7);
    const none = await d.api('GET', '/api/v1/hosts?state=Provisioned');
    expect((none.body as { items: Json[] }).items).toHaveLength(0);
  });

  it('rejects bad query parameters with 400', async () => {
    for (const query of ['state=Happy', 'limit=0', 'limit=abc', 'continue=x', 'label=noequals', 'namespace=UPPER', 'colour=red']) {
      const res = await d.api('GET', `/api/v1/hosts?${query}`);
      expect(res.status, query).toBe(400);
      expect(fields(res.body)[0], query).toMatch(/^query\./);
    }
  });

  it('reads one host, 404 for an unknown one, 400 for an invalid name', async () => {
    expect((await d.api('GET', '/api/v1/hosts/rack/rack-3')).body).toMatchObject({ name: 'rack-3', namespace: 'rack' });
    const missing = await d.api('GET', '/api/v1/hosts/rack/rack-99');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'NotFound', message: 'host rack/rack-99 not found', details: [] });
    expect((await d.api('GET', '/api/v1/hosts/rack/Not_Valid')).status).toBe(400);
  });
});

describe('PATCH /api/v1/hosts/{namespace}/{name}', () => {
  it('merges labels (null removes), changes BMC settings and bumps the version', async () => {
    await d.api('POST', '/api/v1/hosts', hostBody('patch-me', { labels: { keep: 'yes', drop: 'me' } }));
    const res = await d.api('PATCH', '/api/v1/hosts/default/patch-me', {
      labels: { drop: null, added: 'new' },
      redfishConnection: { address: 'https://[2001:db8::5]:8443', insecureSkipVerify: true, password: 'new-secret-pw' },
      bootMACAddresses: ['52:54:00:00:99:01'],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      labels: { keep: 'yes', added: 'new' },
      redfishConnection: { address: 'https://[2001:db8::5]:8443', insecureSkipVerify: true, username: 'admin', hasPassword: true },
      bootMACAddresses: ['52:54:00:00:99:01'],
      resourceVersion: 2,
    });
    expect(Object.keys((res.body as { labels: Json }).labels)).not.toContain('drop');
    expect(d.daemon.services?.hosts.bmcPassword('default', 'patch-me')).toBe('new-secret-pw');
  });

  it('never lets the stored password follow the host to a new BMC address', async () => {
    const moved = await d.api('PATCH', '/api/v1/hosts/default/patch-me', { redfishConnection: { address: 'https://203.0.113.66' } });
    expect(moved.status).toBe(409);
    expect(fields(moved.body)).toEqual(['redfishConnection.password']);
    expect((await d.api('GET', '/api/v1/hosts/default/patch-me')).body).toMatchObject({ redfishConnection: { address: 'https://[2001:db8::5]:8443' } });
  });

  it('accepts application/merge-patch+json', async () => {
    const res = await d.api('PATCH', '/api/v1/hosts/default/patch-me', { labels: { merge: 'patch' } }, { 'content-type': 'application/merge-patch+json' });
    expect(res.status).toBe(200);
    expect((res.body as { labels: Json }).labels.merge).toBe('patch');
  });

  it('answers 409 on a stale resourceVersion and on an impossible power control', async () => {
    const stale = await d.api('PATCH', '/api/v1/hosts/default/patch-me', { labels: { x: 'y' }, resourceVersion: 1 });
    expect(stale.status).toBe(409);
    expect(fields(stale.body)).toEqual(['resourceVersion']);
    const manual = await d.api('PATCH', '/api/v1/hosts/default/lab-manual', { powerControl: 'redfish' });
    expect(manual.status).toBe(409);
    const wol = await d.api('PATCH', '/api/v1/hosts/default/lab-wol', { bootMACAddresses: [] });
    expect(wol.status).toBe(409);
  });

  it('refuses identity changes and unknown fields with 400, unknown hosts with 404', async () => {
    const rename = await d.api('PATCH', '/api/v1/hosts/default/patch-me', { name: 'other' });
    expect(rename.status).toBe(400);
    expect(fields(rename.body)).toEqual(['body.name']);
    expect((await d.api('PATCH', '/api/v1/hosts/default/nobody', { labels: {} })).status).toBe(404);
  });

  it('gives a BMC to a host that had none only with address, username and password together', async () => {
    const partial = await d.api('PATCH', '/api/v1/hosts/default/lab-manual', { redfishConnection: { address: 'https://192.0.2.50' } });
    expect(partial.status).toBe(409);
    const full = await d.api('PATCH', '/api/v1/hosts/default/lab-manual', {
      redfishConnection: { address: 'https://192.0.2.50', username: 'root', password: 'calvin' },
      powerControl: 'redfish',
    });
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({ powerControl: 'redfish', redfishConnection: { address: 'https://192.0.2.50', hasPassword: true } });
  });
});

describe('DELETE /api/v1/hosts/{namespace}/{name}', () => {
  it('deletes, then 404; the freed MAC can be registered again', async () => {
    await d.api('POST', '/api/v1/hosts', hostBody('doomed', { bootMACAddresses: ['52:54:00:de:ad:01'] }));
    const deleted = d.untilEvent((e) => e.name === 'doomed' && e.type === 'Deleted');
    const res = await d.api('DELETE', '/api/v1/hosts/default/doomed');
    expect(res.status).toBe(202);
    expect((res.body as { status: { state: string } }).status.state).toBe('Deleting');
    // Asking again while it is under way is not an error.
    expect([202, 404]).toContain((await d.api('DELETE', '/api/v1/hosts/default/doomed')).status);
    await deleted;
    expect((await d.api('DELETE', '/api/v1/hosts/default/doomed')).status).toBe(404);
    expect((await d.api('GET', '/api/v1/hosts/default/doomed')).status).toBe(404);
    expect((await d.api('POST', '/api/v1/hosts', hostBody('reborn', { bootMACAddresses: ['52:54:00:de:ad:01'] }))).status).toBe(201);
  });
});
