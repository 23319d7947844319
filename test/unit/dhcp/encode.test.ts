import { describe, expect, it } from 'vitest';
import { decodeDhcp } from '../../../bootserver/dhcp/decode.js';
import { encodeDhcp, encodeDhcpMessage, type EncodableMessage } from '../../../bootserver/dhcp/encode.js';
import { pxeDiscoveryControl, textOption, ipv4Bytes } from '../../../bootserver/dhcp/options.js';
import { BOOTREPLY, MessageType, Option, type DhcpPacket, type DhcpReply } from '../../../bootserver/dhcp/types.js';
import { GUID, arm64Discover, edk2X64Discover, hex, httpBootDiscover, plainDiscover, proxyOffer, qemuIpxeDiscover } from './vectors.js';

const decoded = (datagram: Uint8Array): DhcpPacket => {
  const result = decodeDhcp(datagram);
  if (!result.ok) throw new Error(`expected a packet, got ${JSON.stringify(result.error)}`);
  return result.packet;
};

const reply = (overrides: Partial<DhcpReply> = {}): DhcpReply => ({
  op: BOOTREPLY,
  htype: 1,
  hlen: 6,
  hops: 0,
  xid: 0x3c8d1e5a,
  secs: 0,
  flags: 0x8000,
  ciaddr: '0.0.0.0',
  yiaddr: '0.0.0.0',
  siaddr: '192.168.122.2',
  giaddr: '0.0.0.0',
  chaddr: Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56),
  sname: '',
  file: 'undionly.kpxe',
  options: new Map([
    [Option.MessageType, Uint8Array.of(MessageType.Offer)],
    [Option.ServerId, ipv4Bytes('192.168.122.2')],
    [Option.VendorClassId, textOption('PXEClient')],
    [Option.ClientGuid, hex(GUID)],
    [Option.VendorSpecific, pxeDiscoveryControl(8)],
  ]),
  ...overrides,
});

describe('encodeDhcp', () => {
  it('writes the proxy offer byte for byte, padded to the 300-byte BOOTP minimum', () => {
    const bytes = encodeDhcp(reply());
    expect(bytes.length).toBe(300);
    expect(bytes.toString('hex')).toBe(Buffer.from(proxyOffer).toString('hex'));
  });

  it('re-encodes every handmade request to its exact bytes', () => {
    for (const vector of [qemuIpxeDiscover, edk2X64Discover, arm64Discover, httpBootDiscover, plainDiscover]) {
      const { mac: _mac, ...message } = decoded(vector);
      expect(encodeDhcpMessage(message).toString('hex')).toBe(Buffer.from(vector).toString('hex'));
    }
  });

  it('round-trips through the decoder, including a short chaddr zero-filled to 16 bytes', () => {
    const sent = reply({ hops: 2, secs: 65535, xid: 0xffffffff, ciaddr: '10.1.2.3', giaddr: '172.16.0.1', sname: 'tftp.example' });
    const back = decoded(encodeDhcp(sent));
    expect(back).toMatchObject({ ...sent, chaddr: expect.any(Uint8Array) as unknown, options: expect.any(Map) as unknown });
    expect(back.mac).toBe('52:54:00:12:34:56');
    expect([...back.chaddr]).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56, ...new Array<number>(10).fill(0)]);
    expect(back.options).toEqual(sent.options);
  });

  it('only pads: a reply longer than 300 bytes ends right after End', () => {
    const bytes = encodeDhcp(reply({ options: new Map([[Option.BootfileName, new Uint8Array(100).fill(0x61)]]) }));
    expect(bytes.length).toBe(240 + 2 + 100 + 1);
    expect(bytes[bytes.length - 1]).toBe(0xff);
  });

  it('splits a 600-byte value into 255 + 255 + 90 byte instances (RFC 3396)', () => {
    const value = Uint8Array.from({ length: 600 }, (_, i) => i % 251);
    const bytes = encodeDhcp(reply({ options: new Map([[Option.VendorSpecific, value]]) }));
    expect(bytes.length).toBe(240 + 2 + 255 + 2 + 255 + 2 + 90 + 1);
    expect([bytes[240], bytes[241]]).toEqual([43, 255]);
    expect([bytes[497], bytes[498]]).toEqual([43, 255]);
    expect([bytes[754], bytes[755]]).toEqual([43, 90]);
    expect(bytes[846]).toBe(0xff);
    expect(decoded(bytes).options.get(Option.VendorSpecific)).toEqual(value);
  });

  it('writes an empty value as one zero-length instance', () => {
    const bytes = encodeDhcp(reply({ options: new Map([[Option.Ipxe, new Uint8Array(0)]]) }));
    expect([...bytes.subarray(240, 243)]).toEqual([175, 0, 255]);
  });

  it('leaves out option 52: the encoder never overloads, so copying it would misdirect the reader', () => {
    const file = `43 0a 70 78 65 6c 69 6e 75 78 2e 30 ff ${'00 '.repeat(115)}`;
    const overloaded = decoded(
      hex(`01 01 06 00 00 00 00 07 00 00 00 00 ${'00 '.repeat(16)} 52 54 00 00 00 07 ${'00 '.repeat(10)}
        ${'00 '.repeat(64)} ${file} 63 82 53 63 34 01 01 ff`),
    );
    expect(overloaded.options.get(Option.Overload)).toEqual(Uint8Array.of(1));
    const { mac: _mac, ...message } = overloaded;
    const again = decoded(encodeDhcpMessage(message));
    expect(again.options.has(Option.Overload)).toBe(false);
    expect(again.options.get(Option.BootfileName)).toEqual(overloaded.options.get(Option.BootfileName));
    expect(again.file).toBe('');
  });

  it('throws a clear error for input our own code should never produce', () => {
    const message = (overrides: Partial<EncodableMessage>): EncodableMessage => ({ ...reply(), ...overrides });
    const cases: [Partial<EncodableMessage>, RegExp][] = [
      [{ siaddr: '192.168.1' }, /dotted quad/],
      [{ yiaddr: '192.168.1.256' }, /dotted quad/],
      [{ ciaddr: '010.0.0.1' }, /dotted quad/],
      [{ giaddr: ' 10.0.0.1' }, /dotted quad/],
      [{ chaddr: new Uint8Array(17) }, /chaddr is 17 bytes/],
      [{ chaddr: new Uint8Array(4) }, /hlen says 6/],
      [{ hlen: 17, chaddr: new Uint8Array(16) }, /hlen/],
      [{ sname: 'a'.repeat(64) }, /sname is 64 characters/],
      [{ file: 'a'.repeat(128) }, /file is 128 characters/],
      [{ file: 'a\u0000b' }, /file contains a NUL/],
      [{ file: 'caf\u20ac' }, /file has a character outside latin1/],
      [{ xid: -1 }, /xid/],
      [{ xid: 2 ** 32 }, /xid/],
      [{ secs: 65536 }, /secs/],
      [{ flags: 1.5 }, /flags/],
      [{ op: 256 }, /op/],
      [{ options: new Map([[0, new Uint8Array(1)]]) }, /option code 0/],
      [{ options: new Map([[255, new Uint8Array(1)]]) }, /option code 255/],
    ];
    for (const [overrides, error] of cases) expect(() => encodeDhcpMessage(message(overrides)), String(error)).toThrow(error);
    expect(() => encodeDhcp({ ...reply(), op: 1 } as unknown as DhcpReply)).toThrow(/op 2/);
    // The limits themselves are fine.
    expect(encodeDhcpMessage(message({ sname: 's'.repeat(63), file: 'f'.repeat(127), chaddr: new Uint8Array(16) })).length).toBe(300);
  });

  it('writes latin1 text fields byte for byte', () => {
    const bytes = encodeDhcp(reply({ file: 'caf\u00e9' }));
    expect([...bytes.subarray(108, 113)]).toEqual([0x63, 0x61, 0x66, 0xe9, 0x00]);
    expect(decoded(bytes).file).toBe('caf\u00e9');
  });
});
