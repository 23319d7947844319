import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export type AdvertiseResult = { ok: true; address: string; source: string } | { ok: false; reason: string };

function toInt(address: string): number {
  return address.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

export function inCidr(address: string, cidr: string): boolean {
  const [network = '', bitsText = '32'] = cidr.split('/');
  const bits = Number(bitsText);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (toInt(address) & mask) === (toInt(network) & mask);
}

/**
 * The address booting servers are told to use. Node listens on 0.0.0.0 for broadcasts and
 * cannot tell which interface a request came in on, so the address must be configured or
 * unambiguous: the one local IPv4 address on the provisioning network (or, with no network
 * configured, the one non-loopback IPv4 address of the machine).
 */
export function advertiseAddress(
  configured: { advertiseAddress: string; provisioningNetwork: string },
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): AdvertiseResult {
  if (configured.advertiseAddress) return { ok: true, address: configured.advertiseAddress, source: 'boot.advertiseAddress' };
  const candidates = Object.entries(interfaces).flatMap(([name, infos]) =>
    (infos ?? []).filter((info) => info.family === 'IPv4' && !info.internal).map((info) => ({ name, address: info.address })),
  );
  const network = configured.provisioningNetwork;
  const matching = network ? candidates.filter((c) => inCidr(c.address, network)) : candidates;
  const where = network ? `on boot.provisioningNetwork ${network}` : 'outside loopback, boot.provisioningNetwork being unset';
  const only = matching[0];
  if (matching.length === 1 && only) return { ok: true, address: only.address, source: `${only.name}: the only IPv4 address ${where}` };
  const found = matching.map((c) => `${c.name} ${c.address}`).join(', ');
  return {
    ok: false,
    reason:
      matching.length === 0
        ? `no local IPv4 address ${where}; set boot.advertiseAddress or boot.provisioningNetwork`
        : `several local IPv4 addresses ${where} (${found}); set boot.advertiseAddress or boot.provisioningNetwork`,
  };
}
