import { inNamespace, startChild, type Child } from '../helpers/child.js';

export const DNSMASQ = '/usr/sbin/dnsmasq';

export interface DnsmasqProxy {
  namespace: string;
  iface: string;
  /** The segment's network address: "proxy" there makes dnsmasq a proxyDHCP server. */
  network: string;
}

/**
 * dnsmasq as a proxyDHCP server answering every PXE client, known MAC or not. The
 * pxe-service line is required: without one dnsmasq in proxy mode ignores PXE clients.
 */
export function dnsmasqCommand(proxy: DnsmasqProxy): string[] {
  return [
    DNSMASQ,
    // Not --no-daemon: that is debug mode, which also logs every packet to stderr.
    '--keep-in-foreground',
    // No per-request log line, as the daemon at log.level=warn writes none either.
    '--quiet-dhcp',
    '--log-facility=/dev/null',
    '--conf-file=/dev/null',
    '--pid-file=',
    '--leasefile-ro',
    '--port=0',
    `--interface=${proxy.iface}`,
    '--bind-interfaces',
    `--dhcp-range=${proxy.network},proxy`,
    '--pxe-service=x86PC,boot,undionly',
    '--dhcp-boot=undionly.kpxe',
  ];
}

export function startDnsmasq(proxy: DnsmasqProxy, signal: AbortSignal): Child {
  return startChild('dnsmasq', inNamespace(proxy.namespace, dnsmasqCommand(proxy)), { signal });
}
