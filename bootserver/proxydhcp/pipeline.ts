import { decodeDhcp, encodeDhcp, ipv4Bytes, pxeDiscoveryControl, pxeView, textOption } from '../dhcp/index.js';
import { BOOTREPLY, BOOTREQUEST, MessageType, Option, type DhcpPacket, type PxeRequestView } from '../dhcp/types.js';
import { bootFlavour, type BootFlavour } from './arch.js';

export type IgnoreReason =
  | 'malformed'
  | 'not-a-request'
  | 'message-type'
  | 'not-pxe'
  | 'no-mac'
  | 'unknown-mac'
  | 'not-booting'
  | 'unsupported-arch'
  | 'other-server';

/** The one question proxyDHCP asks the rest of the daemon. */
export interface ProxyBootPolicy {
  dhcpVerdict(mac: string): { answer: true } | { answer: false; reason: 'unknown-mac' | 'not-booting' };
}

export interface ProxyDhcpSettings {
  /** The address clients are sent to for TFTP (siaddr) and that identifies us (option 54). */
  serverAddress: string;
  /** http://host:port booting machines use; iPXE gets its script there, HTTP boot clients their binary. */
  httpBaseUrl: string;
  biosBootFile: string;
  efiBootFile: string;
  arm64BootFile: string;
}

export interface Datagram {
  data: Uint8Array;
  address: string;
  port: number;
  /** 'dhcp' = the broadcast port (67), 'pxe' = the PXE boot-server port (4011). */
  listener: 'dhcp' | 'pxe';
}

export type Outcome =
  | { kind: 'reply'; data: Buffer; address: string; port: number; broadcast: boolean; messageType: MessageType; mac: string; flavour: BootFlavour; ipxe: boolean }
  | { kind: 'ignore'; reason: IgnoreReason; mac?: string };

interface Request {
  packet: DhcpPacket;
  view: PxeRequestView;
  mac: string;
}

// Each step either passes the request on or says why it is ignored: small, ordered, testable.
type Step = (request: Request, datagram: Datagram, settings: ProxyDhcpSettings) => IgnoreReason | null;

const wantsBoot: Step = ({ view }, datagram, settings) => {
  const type = view.messageType;
  if (datagram.listener === 'dhcp') {
    if (type === MessageType.Discover) return null;
    // A REQUEST on 67 addressed to us (option 54) is a client confirming our offer.
    if (type === MessageType.Request && view.serverId === settings.serverAddress) return null;
    return type === MessageType.Request ? 'other-server' : 'message-type';
  }
  return type === MessageType.Request || type === MessageType.Inform ? null : 'message-type';
};

const isPxeClient: Step = ({ view }) => (view.pxeClass ? null : 'not-pxe');

const STEPS: readonly Step[] = [wantsBoot, isPxeClient];

function bootFile(flavour: BootFlavour, ipxe: boolean, mac: string, settings: ProxyDhcpSettings): string {
  // iPXE already runs: hand it its per-host script over HTTP, which ends the chainload loop.
  if (ipxe) return `${settings.httpBaseUrl}/ipxe/${mac}`;
  switch (flavour) {
    case 'bios':
      return settings.biosBootFile;
    case 'efi-x64':
      return settings.efiBootFile;
    case 'efi-arm64':
      return settings.arm64BootFile;
    case 'http-x64':
      return `${settings.httpBaseUrl}/ipxe-bin/${settings.efiBootFile}`;
    case 'http-arm64':
      return `${settings.httpBaseUrl}/ipxe-bin/${settings.arm64BootFile}`;
  }
}

function destination(packet: DhcpPacket, datagram: Datagram): { address: string; port: number; broadcast: boolean } {
  // Relayed: answer the relay agent, which forwards to the client's segment (RFC 2131 4.1).
  if (packet.giaddr !== '0.0.0.0') return { address: packet.giaddr, port: 67, broadcast: false };
  // The PXE port is unicast both ways: the client already has an address.
  if (datagram.listener === 'pxe') return { address: datagram.address, port: datagram.port, broadcast: false };
  if (packet.ciaddr !== '0.0.0.0') return { address: packet.ciaddr, port: 68, broadcast: false };
  return { address: '255.255.255.255', port: 68, broadcast: true };
}

/** One datagram in, at most one reply out. Never throws on what the network sends. */
export function handleDatagram(datagram: Datagram, settings: ProxyDhcpSettings, policy: ProxyBootPolicy): Outcome {
  const decoded = decodeDhcp(datagram.data);
  if (!decoded.ok) return { kind: 'ignore', reason: 'malformed' };
  const packet = decoded.packet;
  if (packet.op !== BOOTREQUEST) return { kind: 'ignore', reason: 'not-a-request' };
  const view = pxeView(packet);
  const mac = packet.mac;
  if (!mac) return { kind: 'ignore', reason: view.pxeClass ? 'no-mac' : 'not-pxe' };
  const request: Request = { packet, view, mac };
  for (const step of STEPS) {
    const reason = step(request, datagram, settings);
    if (reason) return { kind: 'ignore', reason, mac };
  }
  // Option 93 present but unreadable: guessing BIOS could hand a UEFI machine the wrong program.
  const archDamaged = packet.options.has(Option.ClientArch) && view.clientArch.length === 0;
  const flavour = archDamaged ? null : bootFlavour(view.clientArch);
  if (!flavour) return { kind: 'ignore', reason: 'unsupported-arch', mac };
  const verdict = policy.dhcpVerdict(mac);
  if (!verdict.answer) return { kind: 'ignore', reason: verdict.reason, mac };

  const messageType = view.messageType === MessageType.Discover ? MessageType.Offer : MessageType.Ack;
  const file = bootFile(flavour, view.isIpxe, mac, settings);
  const http = flavour === 'http-x64' || flavour === 'http-arm64';
  const options = new Map<number, Uint8Array>([
    [Option.MessageType, Uint8Array.of(messageType)],
    [Option.ServerId, ipv4Bytes(settings.serverAddress)],
    // Without option 60 echoing the client's class, iPXE and EDK2 ignore a proxy offer.
    [Option.VendorClassId, textOption(http ? 'HTTPClient' : 'PXEClient')],
  ]);
  if (view.clientGuid) options.set(Option.ClientGuid, view.clientGuid);
  // Discovery control 8: boot the file named here, no boot-server discovery or menu (EDK2).
  if (!http) options.set(Option.VendorSpecific, pxeDiscoveryControl(8));
  // The file field holds 127 characters; a longer URL travels in option 67 only.
  const fileFits = file.length <= 127;
  if (!fileFits || http) options.set(Option.BootfileName, textOption(file));
  const to = destination(packet, datagram);
  const data = encodeDhcp({
    op: BOOTREPLY,
    htype: packet.htype,
    hlen: packet.hlen,
    hops: 0,
    xid: packet.xid,
    secs: 0,
    flags: packet.flags,
    ciaddr: packet.ciaddr,
    // A proxy never hands out addresses: that stays the site DHCP server's job.
    yiaddr: '0.0.0.0',
    siaddr: settings.serverAddress,
    giaddr: packet.giaddr,
    chaddr: packet.chaddr,
    sname: '',
    file: fileFits ? file : '',
    options,
  });
  return { kind: 'reply', data, ...to, messageType, mac, flavour, ipxe: view.isIpxe };
}
