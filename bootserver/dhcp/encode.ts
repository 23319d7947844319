// DhcpPacket/DhcpReply → datagram. Input comes from our own code, so bad input is a bug and throws
// with a message naming the field; nothing is silently clipped.
//
// The encoder never overloads sname/file with options: it writes every option into the options field
// (a UDP datagram has room) and so ignores any option 52 in the map — that option describes the layout of
// the datagram it was decoded from, not content, and copying it would make the receiver parse sname/file
// as options. That is also what lets every decoded packet re-encode.

import { BOOTP_MIN_LENGTH, CHADDR_LENGTH, FILE_LENGTH, MAGIC_COOKIE, MAX_OPTION_INSTANCE, OFFSET, SNAME_LENGTH } from './layout.js';
import { ipv4Bytes } from './ipv4.js';
import { latin1Bytes } from './text.js';
import { END } from './tlv.js';
import { BOOTREPLY, Option, type DhcpPacket, type DhcpReply } from './types.js';

export type EncodableMessage = Omit<DhcpPacket, 'mac'>;

const OVERLOAD: number = Option.Overload;

/** Encodes a reply; see `encodeDhcpMessage`. */
export function encodeDhcp(reply: DhcpReply): Buffer {
  const op: number = reply.op;
  if (op !== BOOTREPLY) throw new Error(`a reply must have op ${BOOTREPLY}, got ${op}`);
  return encodeDhcpMessage(reply);
}

/**
 * Encodes any BOOTP/DHCP message: fixed header, magic cookie, options in map order with values longer
 * than 255 bytes split into consecutive instances (RFC 3396), End, then zeros up to 300 bytes.
 */
export function encodeDhcpMessage(packet: EncodableMessage): Buffer {
  const chaddr = checkedChaddr(packet);
  const sname = checkedText(packet.sname, 'sname', SNAME_LENGTH);
  const file = checkedText(packet.file, 'file', FILE_LENGTH);
  const options = [...packet.options].filter(([code]) => code !== OVERLOAD);
  for (const [code] of options) checkOptionCode(code);

  let length = OFFSET.options + 1;
  for (const [, value] of options) length += value.length + 2 * Math.max(1, Math.ceil(value.length / MAX_OPTION_INSTANCE));
  const out = Buffer.alloc(Math.max(length, BOOTP_MIN_LENGTH));

  out[OFFSET.op] = checkedUint(packet.op, 'op', 0xff);
  out[OFFSET.htype] = checkedUint(packet.htype, 'htype', 0xff);
  out[OFFSET.hlen] = packet.hlen;
  out[OFFSET.hops] = checkedUint(packet.hops, 'hops', 0xff);
  out.writeUInt32BE(checkedUint(packet.xid, 'xid', 0xffffffff), OFFSET.xid);
  out.writeUInt16BE(checkedUint(packet.secs, 'secs', 0xffff), OFFSET.secs);
  out.writeUInt16BE(checkedUint(packet.flags, 'flags', 0xffff), OFFSET.flags);
  out.set(ipv4Bytes(packet.ciaddr), OFFSET.ciaddr);
  out.set(ipv4Bytes(packet.yiaddr), OFFSET.yiaddr);
  out.set(ipv4Bytes(packet.siaddr), OFFSET.siaddr);
  out.set(ipv4Bytes(packet.giaddr), OFFSET.giaddr);
  out.set(chaddr, OFFSET.chaddr);
  out.set(sname, OFFSET.sname);
  out.set(file, OFFSET.file);
  out.set(MAGIC_COOKIE, OFFSET.cookie);

  let at = OFFSET.options;
  for (const [code, value] of options) {
    let start = 0;
    do {
      const piece = value.subarray(start, start + MAX_OPTION_INSTANCE);
      out[at] = code;
      out[at + 1] = piece.length;
      out.set(piece, at + 2);
      at += 2 + piece.length;
      start += MAX_OPTION_INSTANCE;
    } while (start < value.length);
  }
  out[at] = END;
  return out;
}

function checkedUint(value: number, field: string, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new Error(`${field} must be an integer 0..${max}, got ${value}`);
  return value;
}

function checkedChaddr(packet: EncodableMessage): Uint8Array {
  const hlen = checkedUint(packet.hlen, 'hlen', CHADDR_LENGTH);
  if (packet.chaddr.length > CHADDR_LENGTH) {
    throw new Error(`chaddr is ${packet.chaddr.length} bytes, the field holds ${CHADDR_LENGTH}`);
  }
  if (packet.chaddr.length < hlen) throw new Error(`chaddr is ${packet.chaddr.length} bytes but hlen says ${hlen}`);
  return packet.chaddr;
}

// One byte is kept for the terminating NUL, so a reader that stops at NUL finds one.
function checkedText(text: string, field: string, fieldLength: number): Uint8Array {
  if (text.length > fieldLength - 1) {
    throw new Error(`${field} is ${text.length} characters, at most ${fieldLength - 1} fit with the terminating NUL`);
  }
  const bytes = latin1Bytes(text, field);
  if (bytes.includes(0)) throw new Error(`${field} contains a NUL, which would end it early`);
  return bytes;
}

function checkOptionCode(code: number): void {
  if (!Number.isInteger(code) || code < 1 || code > 254) {
    throw new Error(`option code ${code} cannot carry a value (pad 0 and end 255 are single octets)`);
  }
}
