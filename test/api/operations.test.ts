import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBody, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => d.stop());

describe('operations endpoints', () => {
  it('exposes Prometheus metrics with request, host and event series', async () => {
    await d.api('POST', '/api/v1/hosts', hostBody('metric-host'));
    await d.api('GET', '/api/v1/hosts/default/metric-host');
    const res = await fetch(`${d.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/beskar7_http_requests_total\{method="GET",route="\/api\/v1\/hosts\/:namespace\/:name",status="200"\} 1/);
    expect(text).toMatch(/beskar7_hosts\{state="Enrolling"\} 1/);
    expect(text).toMatch(/beskar7_events_total\{kind="host",type="Registered"\} 1/);
    expect(text).toContain('beskar7_process_resident_memory_bytes');
  });

  it('serves an OpenAPI 3.1 document generated from the validation schemas, and a docs page', async () => {
    const doc = (await (await fetch(`${d.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; required: string[] } }> }; security: unknown[] }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const path of ['/api/v1/hosts', '/api/v1/hosts/{namespace}/{name}', '/api/v1/machines', '/api/v1/machines/{namespace}/{name}', '/api/v1/tokens', '/api/v1/events', '/healthz', '/readyz', '/metrics']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const register = doc.paths['/api/v1/hosts']?.post;
    const schema = register?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(schema?.properties ?? {})).toEqual(['namespace', 'name', 'labels', 'redfishConnection', 'powerControl', 'bootMACAddresses']);
    expect(schema?.required).toContain('name');
    expect(register?.security).toEqual([{ bearer: [] }]);
    const page = await fetch(`${d.url}/docs`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('/api/v1/hosts/{namespace}/{name}');
    expect(html).not.toMatch(/<script src=/);
  });

  it('answers unknown routes and methods with JSON 404s', async () => {
    const res = await fetch(`${d.url}/nothing`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'NotFound', message: 'no route GET /nothing', details: [] });
    expect((await d.api('PUT', '/api/v1/hosts/default/metric-host', {})).status).toBe(404);
  });

  it('reports not ready while shutting down', async () => {
    const other = await startTestDaemon();
    expect(other.daemon.notReadyReason()).toBeNull();
    // The closing event fires before the listener drains: readiness must already say no.
    let readyDuringShutdown: number | undefined;
    const unsubscribe = other.daemon.bus.on('closing', () => {
      readyDuringShutdown = other.daemon.notReadyReason() === 'shutting down' ? 503 : 200;
    });
    await other.daemon.stop();
    unsubscribe();
    expect(readyDuringShutdown).toBe(503);
    expect(other.daemon.notReadyReason()).toBe('shutting down');
  });
});
