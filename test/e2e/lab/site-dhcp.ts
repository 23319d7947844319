import { join } from 'node:path';
import { inNamespace } from '../../helpers/child.js';
import { renderRoleTemplate } from './ansible-template.js';
import type { LabNetwork } from './network.js';
import { startTimedProcess, type TimedProcess } from './timed-process.js';

/**
 * The site's existing DHCP server, as a lab has one: dnsmasq with the configuration the Ansible
 * lab role installs (ansible/roles/beskar7_lab/templates/dnsmasq.conf.j2, rendered by ansible):
 * IPv4 addresses with no boot options at all (the daemon's proxyDHCP adds those), a fixed address
 * per VM, and router advertisements for a ULA prefix. Without an answer to its router solicitation
 * the iPXE ROM waits ~17 s for IPv6 autoconfiguration before it goes on (lab-notes.md).
 */
export async function startSiteDhcp(network: LabNetwork, dir: string, vms: { name: string; mac: string; address: string }[]): Promise<TimedProcess> {
  const [first, last] = network.leaseRange;
  const conf = join(dir, 'site-dnsmasq.conf');
  await renderRoleTemplate(
    'beskar7_lab',
    'dnsmasq.conf.j2',
    {
      beskar7_lab_bridge: 'eth0',
      beskar7_lab_dhcp_range_start: first,
      beskar7_lab_dhcp_range_end: last,
      beskar7_lab_vm_list: vms,
      beskar7_lab_ipv6_address: `${network.ipv6Prefix}2`,
      beskar7_lab_state_dir: dir,
    },
    conf,
    dir,
  );
  // As the role's unit runs it, plus a log of every exchange on stdout (the timeline reads it)
  // and no pid file outside the run.
  const dnsmasq = startTimedProcess(
    'site-dhcp',
    inNamespace(network.site, ['/usr/sbin/dnsmasq', '--keep-in-foreground', `--conf-file=${conf}`, '--log-facility=-', '--log-dhcp', '--pid-file=']),
    { logFile: join(dir, 'site-dhcp.log') },
  );
  try {
    await dnsmasq.waitForLine(/DHCP, IP range/, 15_000);
  } catch (error) {
    await dnsmasq.stop(2000);
    throw error;
  }
  return dnsmasq;
}
