// Typed readers and writers for the option values the proxyDHCP server uses.
//
// pxeView never throws: a malformed option reads as absent (null, or [] for lists) rather than failing the
// whole request, because the server can still answer sensibly without it. Exact sizes are required where
// the RFC fixes one (53: 1, 54/50: 4, 57: 2, 94: 3); option 93 needs an even, non-zero length; option 97 is
// passed through raw whatever its length, since it is only echoed back. Text options are latin1, kept
// exactly as sent (no trimming of trailing NULs).

import { formatIpv4, ipv4Bytes } from './ipv4.js';
import { decodeSubOptions, encodeSubOptions } from './sub-options.js';
import { latin1, latin1Bytes } from './text.js';
import { MessageType, Option, PxeSubOption, type DhcpPacket, type PxeRequestView } from './types.js';
import { parseUserClass, userClassIsIpxe } from './user-class.js';

export { decodeSubOptions, encodeSubOptions, ipv4Bytes, parseUserClass };

const PXE_CLASSES = ['PXEClient', 'HTTPClient'] as const;
const FIRST_TYPE: number = MessageType.Discover;
const LAST_TYPE: number = MessageType.Inform;

export function pxeView(packet: DhcpPacket): PxeRequestView {
  const option = (code: Option): Uint8Array | null => packet.options.get(code) ?? null;
  const ofLength = (code: Option, length: number): Uint8Array | null => {
    const value = option(code);
    return value?.length === length ? value : null;
  };

  const type = ofLength(Option.MessageType, 1)?.[0];
  const vendor = option(Option.VendorClassId);
  const vendorClass = vendor === null ? null : latin1(vendor);
  const ndi = ofLength(Option.ClientNdi, 3);
  const guid = option(Option.ClientGuid);
  const user = option(Option.UserClass);
  const userClass = user === null ? null : parseUserClass(user);
  const ipxe = option(Option.Ipxe);
  const vendorSpecific = option(Option.VendorSpecific);
  const serverId = ofLength(Option.ServerId, 4);
  const requestedIp = ofLength(Option.RequestedIp, 4);
  const maxSize = ofLength(Option.MaxMessageSize, 2);

  return {
    messageType: type !== undefined && type >= FIRST_TYPE && type <= LAST_TYPE ? type : null,
    vendorClass,
    pxeClass: PXE_CLASSES.find((prefix) => vendorClass?.startsWith(prefix)) ?? null,
    clientArch: uint16List(option(Option.ClientArch)),
    clientNdi: ndi === null ? null : { type: ndi[0] ?? 0, major: ndi[1] ?? 0, minor: ndi[2] ?? 0 },
    clientGuid: guid === null ? null : Uint8Array.from(guid),
    userClass,
    isIpxe: userClassIsIpxe(userClass) || ipxe !== null,
    ipxeOptions: ipxe === null ? null : decodeSubOptions(ipxe),
    pxeVendorOptions: vendorSpecific === null ? null : decodeSubOptions(vendorSpecific),
    serverId: serverId === null ? null : formatIpv4(serverId, 0),
    requestedIp: requestedIp === null ? null : formatIpv4(requestedIp, 0),
    maxMessageSize: maxSize === null ? null : ((maxSize[0] ?? 0) << 8) | (maxSize[1] ?? 0),
    parameterRequestList: [...(option(Option.ParameterRequestList) ?? [])],
  };
}

// An odd length means the list is damaged; guessing which byte is missing could pick the wrong boot file.
function uint16List(value: Uint8Array | null): number[] {
  if (value === null || value.length % 2 !== 0) return [];
  const list: number[] = [];
  for (let i = 0; i < value.length; i += 2) list.push(((value[i] ?? 0) << 8) | (value[i + 1] ?? 0));
  return list;
}

/** Option value for text (60, 66, 67, …): latin1 bytes, no terminating NUL (RFC 2132 §2). */
export function textOption(text: string): Uint8Array {
  return latin1Bytes(text, 'option text');
}

/**
 * Option 43 value carrying PXE discovery control (PXE 2.1 §2.4.3.2): e.g. 8 = "use the boot file in this
 * offer", which makes EDK2 boot straight from the proxy offer instead of asking on port 4011.
 */
export function pxeDiscoveryControl(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new Error(`discovery control is one octet, got ${value}`);
  return encodeSubOptions(new Map([[PxeSubOption.DiscoveryControl, Uint8Array.of(value)]]));
}
