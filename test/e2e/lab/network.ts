import { inNs, ip } from '../../helpers/netns.js';

/**
 * The lab's layer 2: a provisioning namespace with a bridge (the daemon, libvirtd and its taps,
 * sushy-tools) and a site namespace joined to the bridge by a veth pair, where the site's own
 * DHCP server and IPv6 router live. Names carry the PID so parallel runs never collide.
 */
export interface LabNetwork {
  /** The provisioning host's namespace. */
  provisioning: string;
  /** The site's DHCP server and router. */
  site: string;
  bridge: string;
  serverAddress: string;
  siteAddress: string;
  /** Addresses the site DHCP server hands out. */
  leaseRange: [string, string];
  ipv6Prefix: string;
  destroy(): void;
}

export function createLabNetwork(): LabNetwork {
  const prefix = `b7e${process.pid}`;
  const network: LabNetwork = {
    provisioning: `${prefix}p`,
    site: `${prefix}s`,
    bridge: 'br0',
    serverAddress: '10.77.0.1',
    siteAddress: '10.77.0.2',
    leaseRange: ['10.77.0.100', '10.77.0.199'],
    ipv6Prefix: 'fd77:b7::',
    destroy() {
      for (const ns of [network.provisioning, network.site]) {
        try {
          ip('netns', 'del', ns);
        } catch {
          // Already gone.
        }
      }
    },
  };
  const { provisioning, site } = network;
  try {
    ip('netns', 'add', provisioning);
    ip('netns', 'add', site);
    inNs(provisioning, ['ip', 'link', 'set', 'lo', 'up']);
    inNs(site, ['ip', 'link', 'set', 'lo', 'up']);
    inNs(provisioning, ['ip', 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    inNs(provisioning, ['ip', 'addr', 'add', `${network.serverAddress}/24`, 'dev', 'br0']);
    inNs(provisioning, ['ip', 'link', 'set', 'br0', 'up']);
    ip('link', 'add', `${prefix}v`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', site);
    ip('link', 'set', `${prefix}v`, 'netns', provisioning);
    inNs(provisioning, ['ip', 'link', 'set', `${prefix}v`, 'master', 'br0']);
    inNs(provisioning, ['ip', 'link', 'set', `${prefix}v`, 'up']);
    inNs(site, ['ip', 'addr', 'add', `${network.siteAddress}/24`, 'dev', 'eth0']);
    // nodad: the router must answer solicitations at once, not after duplicate detection.
    inNs(site, ['ip', '-6', 'addr', 'add', `${network.ipv6Prefix}2/64`, 'dev', 'eth0', 'nodad']);
    inNs(site, ['ip', 'link', 'set', 'eth0', 'up']);
  } catch (error) {
    network.destroy();
    throw error;
  }
  return network;
}
