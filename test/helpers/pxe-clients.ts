import { encodeDhcpMessage } from '../../bootserver/dhcp/index.js';
import { MessageType, Option } from '../../bootserver/dhcp/types.js';

export type ClientProfile = 'bios' | 'efi-x64' | 'arm64' | 'http' | 'ipxe' | 'plain';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** What real firmware puts in its requests (vendor class, option 93, user class, 175). */
const PROFILES: Record<ClientProfile, { vendorClass?: string; arch?: number; ipxe?: boolean }> = {
  bios: { vendorClass: 'PXEClient:Arch:00000:UNDI:002001', arch: 0 },
  'efi-x64': { vendorClass: 'PXEClient:Arch:00007:UNDI:003016', arch: 7 },
  arm64: { vendorClass: 'PXEClient:Arch:00011:UNDI:003000', arch: 11 },
  http: { vendorClass: 'HTTPClient:Arch:00016:UNDI:003001', arch: 16 },
  ipxe: { vendorClass: 'PXEClient:Arch:00000:UNDI:002001', arch: 0, ipxe: true },
  plain: {},
};

export function macBytes(mac: string): Uint8Array {
  const chaddr = new Uint8Array(16);
  mac.split(':').forEach((part, i) => (chaddr[i] = parseInt(part, 16)));
  return chaddr;
}

export const GUID = Uint8Array.from([0, ...Array.from({ length: 16 }, (_, i) => i + 1)]);

/** A DISCOVER (or REQUEST/INFORM) as the given kind of client sends it. */
export function pxeRequest(
  profile: ClientProfile,
  mac: string,
  options: { xid?: number; type?: MessageType; ciaddr?: string; giaddr?: string; serverId?: string } = {},
): Buffer {
  const p = PROFILES[profile];
  const opts = new Map<number, Uint8Array>([[Option.MessageType, Uint8Array.of(options.type ?? MessageType.Discover)]]);
  if (options.serverId) opts.set(Option.ServerId, Uint8Array.from(options.serverId.split('.').map(Number)));
  opts.set(Option.ParameterRequestList, Uint8Array.of(1, 3, 6, 43, 60, 66, 67, 97));
  if (p.vendorClass) opts.set(Option.VendorClassId, text(p.vendorClass));
  if (p.arch !== undefined) {
    opts.set(Option.ClientArch, Uint8Array.of(p.arch >> 8, p.arch & 255));
    opts.set(Option.ClientNdi, Uint8Array.of(1, 3, 16));
    opts.set(Option.ClientGuid, GUID);
  }
  if (p.ipxe) {
    opts.set(Option.UserClass, text('iPXE'));
    opts.set(Option.Ipxe, Uint8Array.of(0xb1, 1, 1, 0x13, 1, 1));
  }
  return encodeDhcpMessage({
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: options.xid ?? 0x1234abcd,
    secs: 4,
    flags: 0x8000,
    ciaddr: options.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: options.giaddr ?? '0.0.0.0',
    chaddr: macBytes(mac),
    sname: '',
    file: '',
    options: opts,
  });
}
