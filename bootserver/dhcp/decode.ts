// Datagram → DhcpPacket. Input comes from the network, so this never throws and never trusts a length:
// every failure is a DecodeError with the offset where reading stopped.
//
// What is refused and what is tolerated:
// - shorter than header + cookie (240 bytes): 'too-short'. Plain RFC 951 BOOTP without the DHCP cookie is
//   'no-magic-cookie'; this daemon only speaks to DHCP/PXE clients.
// - op other than 1/2: 'bad-op'. hlen > 16 (does not fit chaddr): 'bad-hlen'. htype is not checked.
// - an option whose length octet is missing or points past its field: 'truncated-option'.
// - a missing End in the options field is TOLERATED when the options up to the end of the datagram parse
//   cleanly: the datagram boundary is an unambiguous terminator and some clients and relays omit End.
//   Bytes after End are padding and are ignored.
// - option 52 (overload) that is not one octet of 1, 2 or 3, or an option 52 found inside sname/file:
//   'bad-overload' (RFC 2131 §4.1 puts it in the options field only; a second one could redirect parsing).
// - sname/file borrowed by option 52 must end with End (RFC 2131 §4.1): 'missing-end'. Unlike the options
//   field, these are fixed 64/128-byte areas, so an absent End there usually means option 52 was bogus and
//   the field holds a name, not options.
// Options are read in RFC 3396 order: options field, then file, then sname; repeated codes concatenate.

import { CHADDR_LENGTH, FILE_LENGTH, MAGIC_COOKIE, OFFSET, SNAME_LENGTH } from './layout.js';
import { formatIpv4 } from './ipv4.js';
import { nulTerminated } from './text.js';
import { concatenate, scanTlvs, type Tlv } from './tlv.js';
import { Option, type DecodeErrorCode, type DecodeResult } from './types.js';

// Numeric so it compares with codes read off the wire.
const OVERLOAD: number = Option.Overload;
const OVERLOAD_FILE = 1;
const OVERLOAD_SNAME = 2;

const fail = (code: DecodeErrorCode, message: string, offset: number): DecodeResult => ({
  ok: false,
  error: { code, message, offset },
});

const u16 = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const u32 = (b: Uint8Array, at: number): number => (u16(b, at) * 0x10000 + u16(b, at + 2)) >>> 0;

export function decodeDhcp(datagram: Uint8Array): DecodeResult {
  if (datagram.length < OFFSET.options) {
    return fail('too-short', `${datagram.length} bytes, a DHCP message needs at least ${OFFSET.options}`, datagram.length);
  }
  const op = datagram[OFFSET.op] ?? 0;
  if (op !== 1 && op !== 2) return fail('bad-op', `op ${op} is neither BOOTREQUEST (1) nor BOOTREPLY (2)`, OFFSET.op);
  const hlen = datagram[OFFSET.hlen] ?? 0;
  if (hlen > CHADDR_LENGTH) return fail('bad-hlen', `hlen ${hlen} exceeds the ${CHADDR_LENGTH}-byte chaddr`, OFFSET.hlen);
  for (let i = 0; i < MAGIC_COOKIE.length; i++) {
    if (datagram[OFFSET.cookie + i] !== MAGIC_COOKIE[i]) {
      return fail('no-magic-cookie', 'the options field does not start with 99.130.83.99', OFFSET.cookie);
    }
  }

  const tlvs: Tlv[] = [];
  const main = scanTlvs(datagram, OFFSET.options, datagram.length, tlvs);
  if (main.kind === 'truncated') return truncated(datagram, main.offset, datagram.length);

  const overloadAt = tlvs.find((t) => t.code === OVERLOAD)?.at;
  let overload = 0;
  if (overloadAt !== undefined) {
    const value = concatenate(datagram, tlvs.filter((t) => t.code === OVERLOAD)).get(OVERLOAD);
    if (value?.length !== 1 || value[0] === undefined || value[0] < 1 || value[0] > 3) {
      return fail('bad-overload', `option 52 must be one octet of 1, 2 or 3, got [${[...(value ?? [])].join(',')}]`, overloadAt);
    }
    overload = value[0];
    const borrowed: [string, number, number][] = [];
    if (overload & OVERLOAD_FILE) borrowed.push(['file', OFFSET.file, FILE_LENGTH]);
    if (overload & OVERLOAD_SNAME) borrowed.push(['sname', OFFSET.sname, SNAME_LENGTH]);
    for (const [name, start, length] of borrowed) {
      const before = tlvs.length;
      const stop = scanTlvs(datagram, start, start + length, tlvs);
      if (stop.kind === 'truncated') return truncated(datagram, stop.offset, start + length);
      const again = tlvs.slice(before).find((t) => t.code === OVERLOAD);
      if (again !== undefined) return fail('bad-overload', `option 52 inside the ${name} field`, again.at);
      if (stop.kind === 'exhausted') return fail('missing-end', `options in the ${name} field have no End option`, stop.offset);
    }
  }

  const htype = datagram[OFFSET.htype] ?? 0;
  // A copy, not a view: Buffer#slice would alias the receive buffer.
  const chaddr = new Uint8Array(datagram.subarray(OFFSET.chaddr, OFFSET.chaddr + CHADDR_LENGTH));
  return {
    ok: true,
    packet: {
      op,
      htype,
      hlen,
      hops: datagram[OFFSET.hops] ?? 0,
      xid: u32(datagram, OFFSET.xid),
      secs: u16(datagram, OFFSET.secs),
      flags: u16(datagram, OFFSET.flags),
      ciaddr: formatIpv4(datagram, OFFSET.ciaddr),
      yiaddr: formatIpv4(datagram, OFFSET.yiaddr),
      siaddr: formatIpv4(datagram, OFFSET.siaddr),
      giaddr: formatIpv4(datagram, OFFSET.giaddr),
      chaddr,
      mac: htype === 1 && hlen === 6 ? colonHex(chaddr.subarray(0, 6)) : null,
      sname: overload & OVERLOAD_SNAME ? '' : nulTerminated(datagram, OFFSET.sname, SNAME_LENGTH),
      file: overload & OVERLOAD_FILE ? '' : nulTerminated(datagram, OFFSET.file, FILE_LENGTH),
      options: concatenate(datagram, tlvs),
    },
  };
}

function truncated(datagram: Uint8Array, at: number, limit: number): DecodeResult {
  const code = datagram[at] ?? 0;
  const detail =
    at + 1 >= limit ? 'has no length octet' : `claims ${datagram[at + 1] ?? 0} bytes, past the end of its field at ${limit}`;
  return fail('truncated-option', `option ${code} at offset ${at} ${detail}`, at);
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function colonHex(bytes: Uint8Array): string {
  let text = HEX[bytes[0] ?? 0] ?? '';
  for (let i = 1; i < bytes.length; i++) text += `:${HEX[bytes[i] ?? 0] ?? ''}`;
  return text;
}
