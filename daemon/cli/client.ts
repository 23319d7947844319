import { z } from 'zod';

const errorBody = z.object({ error: z.string(), message: z.string(), details: z.array(z.object({ field: z.string(), message: z.string() })).default([]) });

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
    readonly details: { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** A small typed client of the daemon's REST API, shared by the CLI and tests. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  /** Every item of a paged list endpoint, following `continue` until it is null. */
  async listAll<T>(path: string, query: URLSearchParams, schema: z.ZodType<{ items: T[]; continue: string | null }>): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const pageQuery = new URLSearchParams(query);
      if (cursor) pageQuery.set('continue', cursor);
      const page: { items: T[]; continue: string | null } = await this.request('GET', `${path}?${pageQuery.toString()}`, schema);
      items.push(...page.items);
      cursor = page.continue;
    } while (cursor);
    return items;
  }

  /** GET of a text/plain resource (logs). */
  async text(path: string): Promise<string> {
    return this.request('GET', path, z.string(), undefined, true);
  }

  async request<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown, plainText = false): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new ApiError(0, 'Unreachable', `cannot reach the daemon at ${this.baseUrl}${cause ? ` (${cause})` : ''}; is it running? (set --url or BESKAR7_URL)`);
    }
    const text = await response.text();
    if (!response.ok) {
      let parsed: z.infer<typeof errorBody> | undefined;
      try {
        parsed = errorBody.parse(JSON.parse(text));
      } catch {
        parsed = undefined;
      }
      if (parsed) throw new ApiError(response.status, parsed.error, parsed.message, parsed.details);
      throw new ApiError(response.status, 'HTTP', `${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`);
    }
    if (plainText) return schema.parse(text);
    if (response.status === 204 || text === '') return schema.parse(undefined);
    return schema.parse(JSON.parse(text));
  }
}
