import type { Logger } from 'pino';
import { GROUP_VERSION, physicalHostSchema, type PhysicalHost, type PhysicalHostStatus } from '../api/index.js';
import { isDaemonApiError } from '../daemon-client/index.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import type { Informer } from '../kube/informer.js';
import { type KubeApi, type KubeObject, type Resource } from '../kube/kube-api.js';
import type { ReconcileOutcome } from '../runtime/work-queue.js';
import { setCondition } from './conditions.js';
import { writeStatusIfChanged } from './same-status.js';
import type { DaemonRegistry } from './daemons.js';
import { hostCreateOf, hostPatchOf, statusOf, type Credentials } from './host-mapping.js';

export const PHYSICAL_HOSTS: Resource = { group: 'infrastructure.cluster.x-k8s.io', version: 'v1beta1', plural: 'physicalhosts', kind: 'PhysicalHost' };
const SECRETS: Resource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
export const HOST_FINALIZER = 'physicalhost.infrastructure.cluster.x-k8s.io';
/** Even with events flowing, look again now and then: a lost event must not leave status stale for ever. */
const RESYNC_MS = 10 * 60_000;
const WHILE_DELETING_MS = 2_000;

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/** A reason to stop this reconcile and say so in a condition, rather than an unexpected error. */
class Blocked extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly retryMs: number,
  ) {
    super(message);
  }
}

/**
 * PhysicalHost ↔ daemon host. The CR is the desired state: it creates the host in its daemon
 * (credentials read from the Secret and sent write-only), keeps address, MACs, labels and
 * credentials in step, mirrors the daemon's state, power, inspection and report into status, and
 * deletes the daemon host before its finalizer lets the CR go.
 */
export class PhysicalHostController {
  /** resourceVersion of each host's credentials Secret when its password was last sent. */
  private readonly sentCredentials = new Map<string, string>();

  constructor(
    private readonly deps: {
      api: KubeApi;
      hosts: Informer<KubeObject>;
      daemons: DaemonRegistry;
      recorder: EventRecorder;
      log: Logger;
    },
  ) {}

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const cached = this.deps.hosts.get(key);
    if (!cached) {
      this.sentCredentials.delete(key);
      return;
    }
    const parsed = physicalHostSchema.safeParse(cached);
    if (!parsed.success) {
      // The CRD's schema admits it, so this is an older shim reading a newer field: say so, don't loop.
      this.deps.log.warn({ host: key, problems: parsed.error.issues.slice(0, 5) }, 'PhysicalHost does not match the schema this shim knows; skipped');
      return;
    }
    const host = parsed.data;
    const log = this.deps.log.child({ host: key });
    if (host.metadata.deletionTimestamp) return this.finalize(host, key, log);
    if (!(host.metadata.finalizers ?? []).includes(HOST_FINALIZER)) {
      // The finalizer goes on before the daemon hears of the host, so none is ever left behind.
      await this.deps.api.mergePatch(PHYSICAL_HOSTS, host.metadata.namespace ?? 'default', host.metadata.name, {
        metadata: { finalizers: [...(host.metadata.finalizers ?? []), HOST_FINALIZER], resourceVersion: host.metadata.resourceVersion },
      });
      // The watch brings the patched object back, and with it the next reconcile.
      return;
    }
    const daemon = this.deps.daemons.get(host.spec.daemonRef);
    let status: PhysicalHostStatus = { ...(host.status ?? {}) };
    try {
      if (!daemon) throw new Blocked('UnknownDaemon', `daemonRef "${host.spec.daemonRef ?? ''}" names no daemon this shim is configured with`, RESYNC_MS);
      const { credentials, secretVersion } = await this.credentialsOf(host);
      const namespace = host.metadata.namespace ?? 'default';
      let view = await daemon.client.getHost(namespace, host.metadata.name);
      if (!view) {
        view = await daemon.client.createHost(hostCreateOf(host, credentials));
        this.sentCredentials.set(key, secretVersion ?? '');
        log.info({ daemon: daemon.name }, 'host registered with the daemon');
        await this.deps.recorder.record(this.ref(host), 'Normal', 'Registered', `registered with daemon ${daemon.name} (${daemon.client.url})`);
      } else {
        const sendPassword = secretVersion !== undefined && this.sentCredentials.get(key) !== secretVersion;
        const patch = hostPatchOf(host, view, credentials, sendPassword);
        if (patch) {
          view = await daemon.client.updateHost(namespace, host.metadata.name, patch);
          this.sentCredentials.set(key, secretVersion ?? '');
          // Field names only: the patch may carry a password.
          log.info({ daemon: daemon.name, fields: Object.keys(patch) }, 'daemon host updated to match the PhysicalHost');
        }
      }
      status = { ...status, ...statusOf(view) };
      if (!view.status.lastError) delete status.lastError;
      if (!view.status.machine) delete status.machineRef;
      status.conditions = setCondition(status.conditions, { type: 'Synced', status: 'True', reason: 'Synced', message: `daemon ${daemon.name}` }, host.metadata.generation);
      status.conditions = setCondition(
        status.conditions,
        status.ready
          ? { type: 'Ready', status: 'True', reason: view.status.state, message: '' }
          : { type: 'Ready', status: 'False', reason: view.status.state, message: view.status.lastError ?? `the host is ${view.status.state}` },
        host.metadata.generation,
      );
      await this.writeStatus(host, status);
      return { requeueAfterMs: RESYNC_MS };
    } catch (error) {
      const blocked = this.blockedBy(error, daemon?.name);
      if (!blocked) throw error;
      status.conditions = setCondition(status.conditions, { type: 'Synced', status: 'False', reason: blocked.reason, message: blocked.message }, host.metadata.generation);
      if (blocked.reason === 'DaemonUnreachable') status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'Unknown', reason: 'DaemonUnreachable', message: blocked.message }, host.metadata.generation);
      await this.writeStatus(host, status);
      await this.deps.recorder.record(this.ref(host), 'Warning', blocked.reason, blocked.message);
      log.warn({ reason: blocked.reason, err: blocked.message }, 'PhysicalHost not in sync with its daemon');
      return { requeueAfterMs: blocked.retryMs };
    }
  }

  private async finalize(host: PhysicalHost, key: string, log: Logger): Promise<ReconcileOutcome> {
    if (!(host.metadata.finalizers ?? []).includes(HOST_FINALIZER)) return;
    const daemon = this.deps.daemons.get(host.spec.daemonRef);
    if (daemon) {
      // The daemon powers the host off and then forgets it; the CR goes only after that.
      const gone = (await daemon.client.deleteHost(host.metadata.namespace ?? 'default', host.metadata.name)) === undefined;
      if (!gone) return { requeueAfterMs: WHILE_DELETING_MS };
    }
    await this.deps.api.mergePatch(PHYSICAL_HOSTS, host.metadata.namespace ?? 'default', host.metadata.name, {
      metadata: { finalizers: (host.metadata.finalizers ?? []).filter((f) => f !== HOST_FINALIZER), resourceVersion: host.metadata.resourceVersion },
    });
    this.sentCredentials.delete(key);
    log.info('daemon host deleted; finalizer removed');
    return;
  }

  private async credentialsOf(host: PhysicalHost): Promise<{ credentials: Credentials | undefined; secretVersion: string | undefined }> {
    const secretName = host.spec.redfishConnection?.credentialsSecretRef;
    if (!secretName) return { credentials: undefined, secretVersion: undefined };
    const namespace = host.metadata.namespace ?? 'default';
    const secret = await this.deps.api.getOrUndefined<Secret>(SECRETS, namespace, secretName);
    if (!secret) throw new Blocked('CredentialsSecretNotFound', `Secret ${namespace}/${secretName} not found`, 30_000);
    const decode = (k: string) => (secret.data?.[k] === undefined ? undefined : Buffer.from(secret.data[k], 'base64').toString('utf8'));
    const username = decode('username');
    const password = decode('password');
    if (!username || password === undefined) throw new Blocked('CredentialsInvalid', `Secret ${namespace}/${secretName} needs the keys "username" and "password"`, 30_000);
    return { credentials: { username, password }, secretVersion: secret.metadata.resourceVersion };
  }

  private blockedBy(error: unknown, daemon: string | undefined): Blocked | undefined {
    if (error instanceof Blocked) return error;
    if (isDaemonApiError(error)) {
      // The token never appears in these messages (the client leaves it out).
      if (error.retryable) return new Blocked('DaemonUnreachable', `daemon ${daemon ?? ''}: ${error.message}`, 10_000);
      return new Blocked('DaemonRejected', `daemon ${daemon ?? ''} refused the host: ${error.message}`, 60_000);
    }
    return undefined;
  }

  private async writeStatus(host: PhysicalHost, status: PhysicalHostStatus): Promise<void> {
    status.observedGeneration = host.metadata.generation;
    await writeStatusIfChanged(this.deps.api, PHYSICAL_HOSTS, host, status);
  }

  private ref(host: PhysicalHost) {
    return { apiVersion: GROUP_VERSION, kind: 'PhysicalHost', metadata: host.metadata };
  }
}
