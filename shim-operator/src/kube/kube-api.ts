import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A non-2xx answer of the apiserver, with its Status reason (Conflict, NotFound, AlreadyExists, …). */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (error: unknown): boolean => error instanceof KubeApiError && error.code === 404;
export const isConflict = (error: unknown): boolean => error instanceof KubeApiError && error.code === 409;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  creationTimestamp?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** Where a kind lives: /api/v1 or /apis/<group>/<version>, and its plural. */
export interface Resource {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const resourcePath = (resource: Resource, namespace?: string, name?: string, subresource?: string): string =>
  [
    resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`,
    namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`,
    `/${resource.plural}`,
    name === undefined ? '' : `/${encodeURIComponent(name)}`,
    subresource === undefined ? '' : `/${subresource}`,
  ].join('');

/**
 * The apiserver over HTTPS with the kubeconfig's credentials (client certificate, token, or the
 * in-cluster service account). Only JSON in and out; every object the controllers act on is then
 * checked by its zod schema, so this layer stays untyped on purpose.
 */
export class KubeApi {
  readonly server: URL;
  /** Counts requests by verb, for the benchmark's "requests per machine". */
  readonly requests = new Map<string, number>();

  constructor(readonly config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json', timeoutMs = 30_000): Promise<T> {
    this.requests.set(method, (this.requests.get(method) ?? 0) + 1);
    const options: https.RequestOptions = { method, headers: { accept: 'application/json' }, timeout: timeoutMs };
    await this.config.applyToHTTPSOptions(options);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (payload) options.headers = { ...options.headers, 'content-type': contentType, 'content-length': payload.length };
    const url = new URL(path, this.server);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = transport.request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300) return resolve(parsed as T);
          const apiStatus = (parsed ?? {}) as { reason?: string; message?: string };
          reject(new KubeApiError(status, apiStatus.reason ?? 'Unknown', `${method} ${url.pathname}: ${status} ${apiStatus.message ?? text.slice(0, 300)}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  get<T extends KubeObject>(resource: Resource, namespace: string, name: string): Promise<T> {
    return this.request('GET', resourcePath(resource, namespace, name));
  }

  async getOrUndefined<T extends KubeObject>(resource: Resource, namespace: string, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(resource, namespace, name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  list<T extends KubeObject>(resource: Resource, namespace?: string, query = ''): Promise<{ metadata: { resourceVersion: string; continue?: string }; items: T[] }> {
    return this.request('GET', `${resourcePath(resource, namespace)}${query}`);
  }

  /** namespace undefined: a cluster-scoped kind (a CustomResourceDefinition, say). */
  create<T extends KubeObject>(resource: Resource, namespace: string | undefined, body: T): Promise<T> {
    return this.request('POST', resourcePath(resource, namespace), body);
  }

  /** Optimistic: fails with 409 when body.metadata.resourceVersion is stale. */
  replace<T extends KubeObject>(resource: Resource, body: T): Promise<T> {
    return this.request('PUT', resourcePath(resource, body.metadata.namespace, body.metadata.name), body);
  }

  replaceStatus<T extends KubeObject>(resource: Resource, body: T): Promise<T> {
    return this.request('PUT', resourcePath(resource, body.metadata.namespace, body.metadata.name, 'status'), body);
  }

  mergePatch<T extends KubeObject>(resource: Resource, namespace: string, name: string, patch: unknown, subresource?: string): Promise<T> {
    return this.request('PATCH', resourcePath(resource, namespace, name, subresource), patch, 'application/merge-patch+json');
  }

  delete(resource: Resource, namespace: string, name: string): Promise<unknown> {
    return this.request('DELETE', resourcePath(resource, namespace, name));
  }
}
