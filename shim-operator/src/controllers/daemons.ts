import type { EventView } from '../../../daemon/core/schemas/event.js';
import { DaemonClient, followEvents, type DaemonApiError } from '../daemon-client/index.js';

export interface DaemonEndpoint {
  name: string;
  url: string;
  token: string;
}

export interface DaemonLink {
  name: string;
  client: DaemonClient;
  /** False while its event stream is down: conditions say so. */
  reachable: boolean;
  lastError: DaemonApiError | undefined;
}

/**
 * Every daemon the shim talks to (one per provisioning network; never assume one), each with its
 * event stream followed from the newest event on. Events name hosts and machines, which the
 * controllers then reconcile; a stream that comes back after an outage triggers a full resync,
 * since events in a gap the daemon no longer has would otherwise be missed.
 */
export class DaemonRegistry {
  private readonly links = new Map<string, DaemonLink>();
  private readonly abort = new AbortController();
  private readonly running: Promise<void>[] = [];

  constructor(
    endpoints: DaemonEndpoint[],
    readonly defaultName: string,
    private readonly handlers: {
      onEvent(daemon: string, event: EventView): void;
      onReachability(daemon: string, reachable: boolean, error?: DaemonApiError): void;
    },
  ) {
    if (endpoints.length === 0) throw new Error('no daemon configured');
    for (const endpoint of endpoints) {
      this.links.set(endpoint.name, { name: endpoint.name, client: new DaemonClient({ url: endpoint.url, token: endpoint.token, timeoutMs: 15_000 }), reachable: false, lastError: undefined });
    }
    if (!this.links.has(defaultName)) throw new Error(`the default daemon "${defaultName}" is not configured`);
  }

  /** The daemon a host or machine names, or the default one; undefined for an unknown name. */
  get(name: string | undefined): DaemonLink | undefined {
    return this.links.get(name ?? this.defaultName);
  }

  all(): DaemonLink[] {
    return [...this.links.values()];
  }

  start(): void {
    for (const link of this.links.values()) {
      this.running.push(
        followEvents(link.client, {
          signal: this.abort.signal,
          onEvent: (event) => this.handlers.onEvent(link.name, event),
          onStatus: (status) => {
            link.reachable = status.state === 'connected';
            link.lastError = status.state === 'disconnected' ? status.error : undefined;
            this.handlers.onReachability(link.name, link.reachable, link.lastError);
          },
        }).catch(() => undefined),
      );
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.running);
  }
}
