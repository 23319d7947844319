import { Watch } from '@kubernetes/client-node';
import { resourcePath, type KubeApi, type KubeObject, type Resource } from './kube-api.js';

export const keyOf = (object: KubeObject): string => `${object.metadata.namespace ?? ''}/${object.metadata.name}`;

export interface InformerHandlers<T extends KubeObject> {
  /** Any add, change or delete (the object as it was last seen for a delete). */
  onChange(object: T, kind: 'added' | 'modified' | 'deleted'): void;
  onError?(error: unknown): void;
}

/**
 * A cache of one kind kept current by list + watch, as client-go's reflector: it watches from the
 * list's resourceVersion, resumes from the last one it saw when a watch ends, and lists again when
 * the apiserver says that version is gone (410) or the watch fails (with backoff). After a relist,
 * objects that disappeared meanwhile are reported deleted, so no delete is ever missed.
 */
export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private stopped = false;
  private abort: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private resolveSynced: () => void = () => undefined;
  /** Resolves once the first list is in the cache. */
  readonly synced = new Promise<void>((resolve) => (this.resolveSynced = resolve));

  constructor(
    private readonly api: KubeApi,
    private readonly resource: Resource,
    private readonly handlers: InformerHandlers<T>,
    private readonly options: { namespace?: string; labelSelector?: string } = {},
  ) {}

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  start(): void {
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.abort?.abort();
  }

  private query(extra: Record<string, string>): string {
    const params = new URLSearchParams(extra);
    if (this.options.labelSelector) params.set('labelSelector', this.options.labelSelector);
    const text = params.toString();
    return text === '' ? '' : `?${text}`;
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const seen = new Set<string>();
      let continueToken = '';
      let version = '';
      do {
        const page = await this.api.list<T>(this.resource, this.options.namespace, this.query({ limit: '500', ...(continueToken ? { continue: continueToken } : {}) }));
        version = page.metadata.resourceVersion;
        continueToken = page.metadata.continue ?? '';
        for (const item of page.items) {
          const key = keyOf(item);
          seen.add(key);
          const previous = this.cache.get(key);
          this.cache.set(key, item);
          if (previous?.metadata.resourceVersion !== item.metadata.resourceVersion) this.handlers.onChange(item, previous ? 'modified' : 'added');
        }
      } while (continueToken !== '');
      for (const [key, object] of this.cache) {
        if (!seen.has(key)) {
          this.cache.delete(key);
          this.handlers.onChange(object, 'deleted');
        }
      }
      this.resourceVersion = version;
      this.resolveSynced();
      await this.watch();
    } catch (error) {
      this.retryLater(error);
    }
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const path = resourcePath(this.resource, this.options.namespace);
    // The server ends the watch after this long (randomised as client-go does): a half-open
    // connection cannot leave the cache stale for longer than that.
    const params: Record<string, string | boolean | number> = { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 + Math.floor(Math.random() * 300) };
    if (this.options.labelSelector) params.labelSelector = this.options.labelSelector;
    let expired = false;
    let failed: unknown;
    const openedAt = Date.now();
    const abort = await new Watch(this.api.config).watch(
      path,
      params,
      (phase: string, object: T & { code?: number }) => {
        if (phase === 'ERROR') {
          expired = object.code === 410;
          if (!expired) failed = new Error(`watch of ${this.resource.plural} ended with an error event (code ${object.code ?? '?'})`);
          return;
        }
        this.failures = 0;
        if (object.metadata?.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
        if (phase === 'BOOKMARK') return;
        const key = keyOf(object);
        if (phase === 'DELETED') {
          this.cache.delete(key);
          this.handlers.onChange(object, 'deleted');
        } else {
          const known = this.cache.has(key);
          this.cache.set(key, object);
          this.handlers.onChange(object, known ? 'modified' : 'added');
        }
      },
      (error: unknown) => {
        if (this.stopped) return;
        if (expired) return void this.relist();
        if (error && !(error instanceof Error && error.name === 'AbortError')) return this.retryLater(error);
        if (failed) return this.retryLater(failed);
        // A watch that ends at once again and again must not spin: back off, then list afresh.
        if (Date.now() - openedAt < 1000) return this.retryLater(new Error(`watch of ${this.resource.plural} ended at once`));
        // The apiserver ends watches after timeoutSeconds: resume from the last version seen.
        void this.watch().catch((e: unknown) => this.retryLater(e));
      },
    );
    // stop() may have come while the watch was being opened.
    if (this.stopped) abort.abort();
    else this.abort = abort;
  }

  private retryLater(error: unknown): void {
    if (this.stopped) return;
    this.handlers.onError?.(error);
    this.failures += 1;
    const delay = Math.min(30_000, 200 * 2 ** Math.min(this.failures, 8)) * (0.5 + Math.random() / 2);
    this.retryTimer = setTimeout(() => void this.relist(), delay);
    this.retryTimer.unref();
  }
}
