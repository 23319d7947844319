import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBody, kexecImage, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { seededUnit } from '../helpers/prng.js';



const WEIRD = ['', ' ', '"', "'", '\\', '\u0000', '%', '../', '$."', '{}', '[]', 'null', '-1', '1e309', 'é', '🦀', 'a'.repeat(300), 'NaN', '__proto__', 'constructor'];

function randomValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return [0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, 65536][Math.floor(next() * 7)];
    case 3:
    case 4:
      return WEIRD[Math.floor(next() * WEIRD.length)];
    case 5:
      return `52:54:00:${Math.floor(next() * 256).toString(16)}:00:01`;
    case 6:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const keys = ['name', 'namespace', 'labels', 'redfishConnection', 'address', 'password', 'image', 'mode', 'kernel', 'sha256', 'url', '__proto__', 'powerControl'];
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) out[keys[Math.floor(next() * keys.length)] as string] = randomValue(next, depth + 1);
      return out;
    }
  }
}

/** Replaces one randomly chosen leaf of a valid body, so the rest still passes validation. */
function mutate(body: unknown, next: () => number): unknown {
  if (typeof body !== 'object' || body === null) return randomValue(next);
  const copy: Record<string, unknown> = Array.isArray(body) ? ([...(body as unknown[])] as unknown as Record<string, unknown>) : { ...(body as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const key = keys[Math.floor(next() * keys.length)];
  if (key === undefined) return randomValue(next);
  copy[key] = next() < 0.6 ? mutate(copy[key], next) : randomValue(next);
  return copy;
}

// JSON text for non-strings: a generated {"__proto__": null} has no toString of its own.
const asText = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined'));

let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon({ overrides: ['log.requests=false'] });
});
afterAll(async () => d.stop());

describe('hostile input', () => {
  it('never produces a 500, across mutated bodies, paths and queries', async () => {
    const seed = Number(process.env.BESKAR7_FUZZ_SEED ?? 20261121);
    const next = seededUnit(seed);
    const statuses = new Map<number, number>();
    const templates: [string, string, unknown][] = [
      ['POST', '/api/v1/hosts', hostBody('fuzz')],
      ['POST', '/api/v1/machines', { name: 'fuzz', image: kexecImage, hostSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: ['x'] }] } }],
      ['PATCH', '/api/v1/hosts/default/fuzz-target', { labels: { a: 'b' }, redfishConnection: { address: 'https://192.0.2.1' } }],
      ['POST', '/api/v1/tokens', { name: 'fuzz' }],
    ];
    expect((await d.api('POST', '/api/v1/hosts', hostBody('fuzz-target'))).status).toBe(201);
    const queries = ['label', 'state', 'namespace', 'limit', 'continue', 'since', 'kind', 'name', 'phase'];
    for (let i = 0; i < 1500; i++) {
      let res: { status: number; text: string };
      const roll = next();
      if (roll < 0.7) {
        const [method, path, template] = templates[Math.floor(next() * templates.length)] as [string, string, unknown];
        const body = mutate(mutate(template, next), next);
        res = await d.api(method, path, next() < 0.05 ? JSON.stringify(body).slice(0, Math.floor(next() * 40)) : body);
      } else {
        const base = ['/api/v1/hosts', '/api/v1/machines', '/api/v1/events/log', '/api/v1/tokens'][Math.floor(next() * 4)] as string;
        const params = new URLSearchParams();
        for (let q = Math.floor(next() * 3); q >= 0; q--) params.append(queries[Math.floor(next() * queries.length)] as string, asText(randomValue(next)));
        const segment = encodeURIComponent(asText(randomValue(next)));
        const path = next() < 0.5 ? `${base}?${params.toString()}` : `${base}/${segment}/${encodeURIComponent(asText(randomValue(next)))}`;
        res = await d.api(next() < 0.8 ? 'GET' : 'DELETE', path);
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) {
        const failure = d.logs.lines().find((line) => line.msg === 'request failed');
        expect.fail(`seed ${seed}, request ${i}: ${res.text.slice(0, 300)}\n${JSON.stringify(failure?.err).slice(0, 1500)}`);
      }
    }
    // The run exercised both the accepting and the refusing paths.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    expect(d.logs.text).not.toContain("request failed");
  });
});
