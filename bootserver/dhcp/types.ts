// The DHCPv4 wire format as typed values: what the codec decodes to and encodes from.
// Boot policy (which host boots what) lives elsewhere and sees only these types.

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;

/** RFC 2132 option 53. */
export enum MessageType {
  Discover = 1,
  Offer = 2,
  Request = 3,
  Decline = 4,
  Ack = 5,
  Nak = 6,
  Release = 7,
  Inform = 8,
}

/** Option codes this project reads or writes by name. */
export enum Option {
  Pad = 0,
  SubnetMask = 1,
  Router = 3,
  HostName = 12,
  VendorSpecific = 43,
  RequestedIp = 50,
  LeaseTime = 51,
  Overload = 52,
  MessageType = 53,
  ServerId = 54,
  ParameterRequestList = 55,
  MaxMessageSize = 57,
  VendorClassId = 60,
  ClientId = 61,
  TftpServerName = 66,
  BootfileName = 67,
  UserClass = 77,
  ClientArch = 93,
  ClientNdi = 94,
  ClientGuid = 97,
  Ipxe = 175,
  End = 255,
}

/** PXE sub-options carried inside option 43 when option 60 is PXEClient (PXE spec 2.1). */
export enum PxeSubOption {
  DiscoveryControl = 6,
  BootServers = 8,
  BootMenu = 9,
  MenuPrompt = 10,
  BootItem = 71,
}

/**
 * A decoded BOOTP/DHCP message. Addresses are dotted quads; `chaddr` is the raw 16-byte
 * field and `mac` its first `hlen` bytes as lower-case colon hex when htype is Ethernet.
 * `options` holds each option's value with RFC 3396 split instances already concatenated,
 * in first-seen order, including options found in `file`/`sname` when option 52 says so.
 */
export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: Uint8Array;
  mac: string | null;
  /** Server host name field, NUL-terminated text (empty when it was used for options). */
  sname: string;
  /** Boot file field, NUL-terminated text (empty when it was used for options). */
  file: string;
  options: Map<number, Uint8Array>;
}

export type DecodeErrorCode =
  | 'too-short'
  | 'bad-op'
  | 'bad-hlen'
  | 'no-magic-cookie'
  | 'truncated-option'
  | 'bad-overload'
  | 'missing-end';

export interface DecodeError {
  code: DecodeErrorCode;
  message: string;
  /** Byte offset where decoding stopped. */
  offset: number;
}

export type DecodeResult = { ok: true; packet: DhcpPacket } | { ok: false; error: DecodeError };

/** RFC 3004 user class: either one plain string (as iPXE and most clients send it) or a list of instances. */
export type UserClass = { form: 'plain'; value: string } | { form: 'rfc3004'; instances: string[] };

/** The PXE- and iPXE-relevant facts of a request, read from its options by `pxeView`. */
export interface PxeRequestView {
  messageType: MessageType | null;
  /** Option 60 as text, e.g. "PXEClient:Arch:00007:UNDI:003016" or "HTTPClient:Arch:00016:...". */
  vendorClass: string | null;
  /** "PXEClient" or "HTTPClient" when option 60 starts with one, else null. */
  pxeClass: 'PXEClient' | 'HTTPClient' | null;
  /** Option 93 client system architectures (RFC 4578 / IANA registry), first is preferred. */
  clientArch: number[];
  /** Option 94: interface type and UNDI major/minor. */
  clientNdi: { type: number; major: number; minor: number } | null;
  /** Option 97 raw value (type byte + 16-byte GUID), echoed back in replies. */
  clientGuid: Uint8Array | null;
  userClass: UserClass | null;
  /** True when user class is "iPXE" (either form) or option 175 is present. */
  isIpxe: boolean;
  /** Option 175 sub-options (iPXE's encapsulated options), if present and well-formed. */
  ipxeOptions: Map<number, Uint8Array> | null;
  /** Option 43 PXE sub-options, if present and well-formed. */
  pxeVendorOptions: Map<number, Uint8Array> | null;
  serverId: string | null;
  requestedIp: string | null;
  maxMessageSize: number | null;
  parameterRequestList: number[];
}

/** What an encoder needs to write a reply; options are written in insertion order. */
export interface DhcpReply {
  op: typeof BOOTREPLY;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: Uint8Array;
  sname: string;
  file: string;
  options: Map<number, Uint8Array>;
}
