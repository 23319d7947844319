import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

type Json = Record<string, unknown>;
let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => d.stop());

const get = (path: string, authorization?: string) =>
  fetch(`${d.url}${path}`, { headers: authorization === undefined ? {} : { authorization } }).then(async (r) => ({ status: r.status, body: (await r.json()) as Json, headers: r.headers }));

describe('API tokens and authentication', () => {
  it('prints one admin token at first start and stores only its hash', async () => {
    expect(d.token).toMatch(/^b7_[a-f0-9]{16}_/);
    expect(d.announced).toContain('shown only this once');
    const secret = d.token.slice('b7_'.length + 17);
    const { apiTokens } = await import('../../db/schema.js');
    const rows = d.daemon.services?.store.db.select().from(apiTokens).all() ?? [];
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows.map((r) => ({ ...r, secretHash: r.secretHash.toString('latin1') })))).not.toContain(secret);
    expect(d.logs.text).not.toContain(secret);
  });

  it('answers every kind of bad credential with the same 401', async () => {
    const [, id] = d.token.split('_');
    const attempts = [
      undefined,
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      'Bearer nonsense',
      `Bearer b7_${id}_${'A'.repeat(43)}`,
      `Bearer b7_${'0'.repeat(16)}_${d.token.slice('b7_'.length + 17)}`,
    ];
    const bodies = new Set<string>();
    for (const authorization of attempts) {
      const res = await get('/api/v1/hosts', authorization);
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="beskar7"');
      bodies.add(JSON.stringify(res.body));
    }
    expect(bodies.size).toBe(1);
    // Unknown API paths are guarded too: strangers learn nothing about what exists.
    expect((await get('/api/v1/nothing-here')).status).toBe(401);
    expect((await get('/api/v1/nothing-here', `Bearer ${d.token}`)).status).toBe(404);
  });

  it('creates, lists and revokes tokens; a revoked token stops working at once', async () => {
    const created = await d.api('POST', '/api/v1/tokens', { name: 'ci robot' });
    expect(created.status).toBe(201);
    const { token, id } = created.body as { token: string; id: string };
    expect((await get('/api/v1/hosts', `Bearer ${token}`)).status).toBe(200);
    const list = await d.api('GET', '/api/v1/tokens');
    const items = (list.body as { items: Json[] }).items;
    expect(items.map((t) => t.name)).toEqual(['admin', 'ci robot']);
    expect(JSON.stringify(list.body)).not.toContain(token.slice('b7_'.length + 17));
    expect(items.find((t) => t.name === 'ci robot')?.lastUsedAt).not.toBeNull();
    const revoked = await d.api('DELETE', `/api/v1/tokens/${id}`);
    expect(revoked.status).toBe(200);
    expect((revoked.body as Json).revokedAt).not.toBeNull();
    expect((await get('/api/v1/hosts', `Bearer ${token}`)).status).toBe(401);
    expect((await d.api('DELETE', '/api/v1/tokens/0123456789abcdef')).status).toBe(404);
    expect((await d.api('DELETE', '/api/v1/tokens/nope')).status).toBe(400);
    expect((await d.api('POST', '/api/v1/tokens', { name: '' })).status).toBe(400);
  });

  it('serves health and metrics without a token by default, and guards them when configured', async () => {
    expect((await get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await get('/readyz')).body).toEqual({ status: 'ready' });
    const guarded = await startTestDaemon({ overrides: ['http.publicHealth=false', 'http.publicMetrics=false'] });
    try {
      expect((await fetch(`${guarded.url}/healthz`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${guarded.token}` } })).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });

  it('does not mint a second admin token on restart', async () => {
    // A second daemon on the same data dir (a restart): it gets a port of its own.
    const again = await startTestDaemon({ dataDir: d.dataDir });
    try {
      expect(again.token).toBe('');
      expect(again.announced).toBe('');
    } finally {
      await again.daemon.stop();
    }
  });
});
