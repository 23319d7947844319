import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The daemon's Prometheus registry; one per daemon so tests can run several in a process. */
export class DaemonMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'beskar7_http_requests_total',
    help: 'HTTP requests by route template, method and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'beskar7_http_request_duration_seconds',
    help: 'HTTP request latency by route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'beskar7_events_total',
    help: 'Events written to the event log, by kind and type',
    labelNames: ['kind', 'type'] as const,
    registers: [this.registry],
  });

  readonly sseClients = new Gauge({
    name: 'beskar7_event_stream_clients',
    help: 'Open server-sent-event streams',
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'beskar7_auth_failures_total',
    help: 'Requests refused for a missing or invalid API token',
    registers: [this.registry],
  });

  readonly dhcpReceived = new Counter({
    name: 'beskar7_dhcp_datagrams_total',
    help: 'Datagrams received by proxyDHCP, by listener (dhcp = port 67, pxe = port 4011)',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });

  readonly dhcpReplies = new Counter({
    name: 'beskar7_dhcp_replies_total',
    help: 'proxyDHCP offers and acks sent, by message type and client boot flavour',
    labelNames: ['type', 'flavour', 'ipxe'] as const,
    registers: [this.registry],
  });

  readonly dhcpIgnored = new Counter({
    name: 'beskar7_dhcp_ignored_total',
    help: 'proxyDHCP datagrams not answered, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly dhcpSendErrors = new Counter({
    name: 'beskar7_dhcp_send_errors_total',
    help: 'proxyDHCP replies the kernel refused to send',
    registers: [this.registry],
  });

  readonly tftpTransfers = new Counter({
    name: 'beskar7_tftp_transfers_total',
    help: 'TFTP transfers finished, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly tftpBytes = new Counter({
    name: 'beskar7_tftp_bytes_total',
    help: 'Bytes sent by completed and failed TFTP transfers',
    registers: [this.registry],
  });

  readonly tftpRefused = new Counter({
    name: 'beskar7_tftp_refused_total',
    help: 'TFTP requests refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly ipxeScripts = new Counter({
    name: 'beskar7_ipxe_scripts_total',
    help: 'iPXE scripts rendered, by kind (chain, ramdisk, local, unknown)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly inspectionDuration = new Histogram({
    name: 'beskar7_inspection_duration_seconds',
    help: 'From arming a network boot to the hardware report of that boot',
    buckets: [5, 15, 30, 60, 120, 180, 300, 450, 600, 900],
    registers: [this.registry],
  });

  readonly provisioningDuration = new Histogram({
    name: 'beskar7_provisioning_duration_seconds',
    help: 'From arming the provisioning boot to the target reporting booted',
    buckets: [10, 30, 60, 120, 300, 600, 900, 1800, 3600],
    registers: [this.registry],
  });

  readonly inspectionFailures = new Counter({
    name: 'beskar7_inspection_failures_total',
    help: 'Inspections that ended without a usable report, by reason (Timeout, ValidationFailed)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly machineFailures = new Counter({
    name: 'beskar7_machine_failures_total',
    help: 'Machines failed, by failure reason (ChecksumMismatch, ProvisioningTimeout, …)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly stepFailures = new Counter({
    name: 'beskar7_lifecycle_step_failures_total',
    help: 'Lifecycle steps that failed (BMC unreachable, …) and were scheduled for a retry',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'beskar7_' });
  }

  /** Gauges whose value is read from the database when scraped, never cached. */
  gaugeFromQuery(name: string, help: string, labelName: string, read: () => { label: string; value: number }[]): void {
    new Gauge({
      name,
      help,
      labelNames: [labelName],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { label, value } of read()) this.set({ [labelName]: label }, value);
      },
    });
  }
}
