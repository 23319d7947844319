#!/usr/bin/env node
import { createServer } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../daemon/log/logger.js';
import { loadShimConfig } from './config/settings.js';
import { defaultIdentity, ShimManager } from './manager.js';

// The shim's process: settings from the environment, the kubeconfig from the pod's service
// account (or KUBECONFIG / ~/.kube/config outside a cluster), health endpoints for the kubelet,
// and leader election before any controller writes. A replica that loses the lease exits, so
// Kubernetes restarts it as a clean candidate.

async function main(): Promise<void> {
  const config = loadShimConfig();
  const log = createLogger(config.logLevel).child({ service: 'beskar7-shim' });
  const kube = new KubeConfig();
  kube.loadFromDefault();
  const manager = new ShimManager(
    kube,
    {
      daemons: config.daemons,
      defaultDaemon: config.defaultDaemon,
      leaseNamespace: config.leaseNamespace,
      leaseName: config.leaseName,
      identity: config.identity ?? defaultIdentity(),
      workers: config.workers,
    },
    log,
  );
  // liveness: the process answers; readiness: it leads, or stands by as a healthy candidate.
  const health = createServer((req, res) => {
    const ok = req.url === '/healthz' || req.url === '/readyz';
    res.writeHead(ok ? 200 : 404, { 'content-type': 'text/plain' }).end(ok ? `ok ${manager.isLeader ? 'leader' : 'standby'}\n` : 'not found\n');
  });
  health.listen(config.healthPort);
  log.info({ daemons: config.daemons.map((d) => ({ name: d.name, url: d.url })), defaultDaemon: config.defaultDaemon, healthPort: config.healthPort }, 'beskar7 shim starting');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: giving up the lease');
    void manager.stop().finally(() => {
      health.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  manager.start();
  await manager.stoppedLeading;
  if (!stopping) {
    log.error('lost the leader lease; exiting so that this replica restarts as a candidate');
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`beskar7-shim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
