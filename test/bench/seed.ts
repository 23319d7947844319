import { MAC_SERIES, hostBody, macFor, seededHostName } from './host-fixtures.js';

export interface SeedOptions {
  baseUrl: string;
  token: string;
  count: number;
  concurrency: number;
  signal: AbortSignal;
}

export interface SeedResult {
  hosts: number;
  concurrency: number;
  seconds: number;
  perSecond: number;
}

/** Registers hosts 0..count-1 through the REST API, as an operator's script would; any non-201 stops the run. */
export async function seedHosts(options: SeedOptions): Promise<SeedResult> {
  const { baseUrl, token, count, concurrency, signal } = options;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  let next = 0;
  let failed = false;

  // The signal is checked between requests rather than handed to fetch: undici keeps one
  // abort listener per request on a shared signal, which trips the leak warning at 10,000.
  const send = async (index: number): Promise<void> => {
    signal.throwIfAborted();
    const response = await fetch(`${baseUrl}/api/v1/hosts`, {
      method: 'POST',
      headers,
      body: hostBody(seededHostName(index), macFor(MAC_SERIES.seeded, index), index),
    });
    // Read the body either way so the keep-alive connection is reused.
    const text = await response.text();
    if (response.status !== 201) throw new Error(`seeding host ${index}: HTTP ${response.status}: ${text.slice(0, 500)}`);
  };

  const worker = async (): Promise<void> => {
    try {
      while (next < count && !failed) await send(next++);
    } catch (error) {
      // The other workers stop at their next turn instead of hammering a failing daemon.
      failed = true;
      throw error;
    }
  };

  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { hosts: count, concurrency, seconds, perSecond: count / seconds };
}
