import { existsSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { MessageType } from '../../bootserver/dhcp/types.js';
import { ProxyDhcpServer } from '../../bootserver/proxydhcp/server.js';
import { TftpServer } from '../../bootserver/tftp/index.js';
import type { Config } from '../config/schema.js';
import type { BootPlanner } from '../core/boot/boot-planner.js';
import type { DaemonMetrics } from '../metrics/registry.js';
import type { AdvertiseResult } from './advertise.js';

export interface BootServerStatus {
  server: 'proxyDHCP' | 'TFTP';
  running: boolean;
  /** Where it listens, or why it does not run. */
  detail: string;
}

function whyNotBound(error: unknown, ports: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES') return `binding ${ports} needs root or CAP_NET_BIND_SERVICE (the systemd unit grants it)`;
  if (code === 'EADDRINUSE') return `${ports} is in use by another program that did not allow address reuse`;
  if (code === 'EADDRNOTAVAIL') return `the address for ${ports} is not on this machine`;
  return `cannot bind ${ports}: ${(error as Error).message}`;
}

/**
 * Starts the UDP boot servers when configured and possible, and says clearly which run and
 * why any does not: a daemon without privileges still serves its REST API and HTTP boot.
 */
export class BootServers {
  private dhcp?: ProxyDhcpServer;
  private tftp?: TftpServer;
  readonly status: BootServerStatus[] = [];

  constructor(
    private readonly config: Config,
    private readonly planner: BootPlanner,
    private readonly metrics: DaemonMetrics,
    private readonly logger: Logger,
  ) {}

  async start(advertise: AdvertiseResult, httpBaseUrl: string | null): Promise<void> {
    await this.startDhcp(advertise, httpBaseUrl);
    await this.startTftp();
    for (const { server, running, detail } of this.status) {
      if (running) this.logger.info({ server, listen: detail }, `${server} running`);
      else this.logger.warn({ server, reason: detail }, `${server} not running: ${detail}`);
    }
  }

  private async startDhcp(advertise: AdvertiseResult, httpBaseUrl: string | null): Promise<void> {
    const { dhcp, boot } = this.config;
    if (!dhcp.enabled) return void this.status.push({ server: 'proxyDHCP', running: false, detail: 'disabled by dhcp.enabled' });
    if (!advertise.ok) return void this.status.push({ server: 'proxyDHCP', running: false, detail: advertise.reason });
    if (!httpBaseUrl) return void this.status.push({ server: 'proxyDHCP', running: false, detail: 'no HTTP base URL for iPXE clients' });
    const { metrics, logger } = this;
    const server = new ProxyDhcpServer({
      listenAddress: dhcp.listenAddress,
      port: dhcp.port,
      pxePort: dhcp.pxePort,
      serverAddress: advertise.address,
      httpBaseUrl,
      biosBootFile: boot.biosBootFile,
      efiBootFile: boot.efiBootFile,
      arm64BootFile: boot.arm64BootFile,
      policy: this.planner,
      observer: {
        onReceived: ({ listener }) => metrics.dhcpReceived.inc({ listener }),
        onReply: ({ mac, messageType, flavour, ipxe, to }) => {
          metrics.dhcpReplies.inc({ type: messageType === MessageType.Offer ? 'offer' : 'ack', flavour, ipxe: String(ipxe) });
          logger.info({ mac, flavour, ipxe, to }, messageType === MessageType.Offer ? 'proxyDHCP offer sent' : 'proxyDHCP ack sent');
        },
        onIgnored: ({ reason, mac, from }) => {
          metrics.dhcpIgnored.inc({ reason });
          if (mac && (reason === 'unknown-mac' || reason === 'unsupported-arch')) logger.debug({ mac, reason, from }, 'proxyDHCP ignored a PXE client');
        },
        onSendError: ({ error, to }) => {
          metrics.dhcpSendErrors.inc();
          logger.warn({ err: error, to }, 'proxyDHCP could not send');
        },
      },
    });
    try {
      await server.start();
      this.dhcp = server;
      this.status.push({ server: 'proxyDHCP', running: true, detail: `${server.addresses().join(', ')}; advertising ${advertise.address} (${advertise.source})` });
    } catch (error) {
      this.status.push({ server: 'proxyDHCP', running: false, detail: whyNotBound(error, `UDP ${dhcp.port} and ${dhcp.pxePort}`) });
    }
  }

  private async startTftp(): Promise<void> {
    const { tftp } = this.config;
    if (!tftp.enabled) return void this.status.push({ server: 'TFTP', running: false, detail: 'disabled by tftp.enabled' });
    if (!existsSync(tftp.root) || !statSync(tftp.root).isDirectory()) {
      return void this.status.push({ server: 'TFTP', running: false, detail: `root ${tftp.root} is not a directory (install the ipxe package, or set tftp.root)` });
    }
    const { metrics, logger } = this;
    const server = new TftpServer({
      root: tftp.root,
      host: tftp.listenAddress,
      port: tftp.port,
      maxBlockSize: tftp.maxBlockSize,
      maxWindowSize: tftp.maxWindowSize,
      timeoutMs: tftp.timeoutMs,
      retries: tftp.retries,
      maxTransfers: tftp.maxTransfers,
      observer: {
        onTransferStart: (info) => logger.debug(info, 'TFTP transfer started'),
        onTransferEnd: (info) => {
          metrics.tftpTransfers.inc({ result: info.ok ? 'ok' : 'failed' });
          metrics.tftpBytes.inc(info.bytes);
          logger.info(info, info.ok ? 'TFTP transfer done' : 'TFTP transfer failed');
        },
        onRefused: (info) => {
          metrics.tftpRefused.inc({ reason: info.reason });
          logger.info(info, 'TFTP request refused');
        },
      },
    });
    try {
      await server.start();
      this.tftp = server;
      const { address, port } = server.address();
      this.status.push({ server: 'TFTP', running: true, detail: `${address}:${port}, root ${tftp.root}` });
    } catch (error) {
      this.status.push({ server: 'TFTP', running: false, detail: whyNotBound(error, `UDP ${tftp.port}`) });
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.dhcp?.stop(), this.tftp?.stop()]);
  }
}
