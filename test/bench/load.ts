import autocannon from 'autocannon';

export interface LoadOptions {
  title: string;
  url: string;
  connections: number;
  durationSeconds: number;
  headers: Record<string, string>;
  /** A list is sent in turn on every connection; only setupRequest makes autocannon rebuild a request per send. */
  request: autocannon.Request | autocannon.Request[];
  signal: AbortSignal;
}

export interface LoadSummary {
  title: string;
  connections: number;
  durationSeconds: number;
  responses: number;
  /** Mean of autocannon's one-second samples: what it prints as "Req/Sec Avg". */
  requestsPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Connection errors and timeouts: requests that never got an answer. */
  errors: number;
  timeouts: number;
}

function summarize(title: string, result: autocannon.Result): LoadSummary {
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  const { latency } = result;
  return {
    title,
    connections: result.connections,
    durationSeconds: result.duration,
    responses: result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'],
    requestsPerSecond: result.requests.mean,
    latencyMs: { mean: latency.mean, p50: latency.p50, p90: latency.p90, p99: latency.p99, max: latency.max },
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** One autocannon run in this process; resolves with the numbers the report needs. */
export function runLoad(options: LoadOptions): Promise<LoadSummary> {
  return new Promise((resolve, reject) => {
    // Declared before the call: autocannon calls back synchronously when it rejects the options.
    const stop = () => instance.stop();
    options.signal.addEventListener('abort', stop, { once: true });
    const instance = autocannon(
      {
        url: options.url,
        title: options.title,
        connections: options.connections,
        duration: options.durationSeconds,
        timeout: 10,
        headers: options.headers,
        requests: Array.isArray(options.request) ? options.request : [options.request],
      },
      (error, result) => {
        options.signal.removeEventListener('abort', stop);
        if (error) reject(error);
        else if (options.signal.aborted) reject(new Error(`${options.title}: aborted`));
        else resolve(summarize(options.title, result));
      },
    );
    if (options.signal.aborted) stop();
  });
}
