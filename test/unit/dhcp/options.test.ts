import { describe, expect, it } from 'vitest';
import { decodeDhcp } from '../../../bootserver/dhcp/decode.js';
import {
  decodeSubOptions,
  encodeSubOptions,
  ipv4Bytes,
  parseUserClass,
  pxeDiscoveryControl,
  pxeView,
  textOption,
} from '../../../bootserver/dhcp/options.js';
import { MessageType, type DhcpPacket, type PxeRequestView } from '../../../bootserver/dhcp/types.js';
import { GUID, arm64Discover, edk2X64Discover, hex, httpBootDiscover, plainDiscover, qemuIpxeDiscover } from './vectors.js';

const viewOf = (datagram: Uint8Array): PxeRequestView => {
  const result = decodeDhcp(datagram);
  if (!result.ok) throw new Error(`expected a packet, got ${JSON.stringify(result.error)}`);
  return pxeView(result.packet);
};

/** A packet carrying just the given options (hex values), for pxeView's reading of odd values. */
const withOptions = (options: Record<number, string>): DhcpPacket => ({
  op: 1,
  htype: 1,
  hlen: 6,
  hops: 0,
  xid: 1,
  secs: 0,
  flags: 0,
  ciaddr: '0.0.0.0',
  yiaddr: '0.0.0.0',
  siaddr: '0.0.0.0',
  giaddr: '0.0.0.0',
  chaddr: new Uint8Array(16),
  mac: '00:00:00:00:00:00',
  sname: '',
  file: '',
  options: new Map(Object.entries(options).map(([code, value]) => [Number(code), hex(value)])),
});

const bytes = (value: Uint8Array | null | undefined): number[] | null => (value ? [...value] : null);

describe('pxeView of real client shapes', () => {
  it('QEMU iPXE ROM: BIOS, PXEClient, plain user class iPXE, option 175', () => {
    const view = viewOf(qemuIpxeDiscover);
    expect(view).toMatchObject({
      messageType: MessageType.Discover,
      vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
      pxeClass: 'PXEClient',
      clientArch: [0],
      clientNdi: { type: 1, major: 2, minor: 1 },
      userClass: { form: 'plain', value: 'iPXE' },
      isIpxe: true,
      pxeVendorOptions: null,
      serverId: null,
      requestedIp: null,
      maxMessageSize: 1472,
    });
    expect(view.parameterRequestList).toEqual([1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203]);
    expect(bytes(view.clientGuid)).toEqual([...hex(GUID)]);
    expect([...(view.ipxeOptions ?? new Map<number, Uint8Array>())].map(([code, value]) => [code, [...value]])).toEqual([
      [21, [1]],
      [19, [1]],
      [23, [1]],
      [33, [1]],
      [235, [1, 0, 0]],
    ]);
  });

  it('EDK2 x86-64 UEFI: arch 7, UNDI 3.16, not iPXE', () => {
    expect(viewOf(edk2X64Discover)).toMatchObject({
      pxeClass: 'PXEClient',
      vendorClass: 'PXEClient:Arch:00007:UNDI:003016',
      clientArch: [7],
      clientNdi: { type: 1, major: 3, minor: 16 },
      userClass: null,
      isIpxe: false,
      ipxeOptions: null,
    });
  });

  it('arm64 UEFI: arch 11', () => {
    expect(viewOf(arm64Discover)).toMatchObject({ pxeClass: 'PXEClient', clientArch: [11], clientNdi: null, clientGuid: null });
  });

  it('UEFI HTTP boot: HTTPClient, arch 16', () => {
    expect(viewOf(httpBootDiscover)).toMatchObject({
      pxeClass: 'HTTPClient',
      vendorClass: 'HTTPClient:Arch:00016:UNDI:003001',
      clientArch: [16],
      isIpxe: false,
    });
  });

  it('an ordinary DHCP client: no PXE facts, requested address read', () => {
    expect(viewOf(plainDiscover)).toEqual({
      messageType: MessageType.Discover,
      vendorClass: null,
      pxeClass: null,
      clientArch: [],
      clientNdi: null,
      clientGuid: null,
      userClass: null,
      isIpxe: false,
      ipxeOptions: null,
      pxeVendorOptions: null,
      serverId: null,
      requestedIp: '192.168.1.100',
      maxMessageSize: null,
      parameterRequestList: [1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42],
    });
  });

  it('chainloaded undionly.kpxe: just "PXEClient" and option 175 is still iPXE', () => {
    const view = pxeView(withOptions({ 60: '50 58 45 43 6c 69 65 6e 74', 175: '13 01 01' }));
    expect(view).toMatchObject({ vendorClass: 'PXEClient', pxeClass: 'PXEClient', userClass: null, isIpxe: true });
  });

  it('reads a REQUEST to port 4011 with server id and option 43', () => {
    const view = pxeView(withOptions({ 53: '03', 54: 'c0 a8 7a 02', 43: '47 04 80 00 00 00 ff' }));
    expect(view.messageType).toBe(MessageType.Request);
    expect(view.serverId).toBe('192.168.122.2');
    expect([...(view.pxeVendorOptions ?? new Map<number, Uint8Array>())]).toEqual([[71, Uint8Array.of(0x80, 0, 0, 0)]]);
  });
});

describe('user class (option 77)', () => {
  it('plain "iPXE" is not a valid RFC 3004 list (0x69 = 105 > 3 bytes left)', () => {
    expect(parseUserClass(hex('69 50 58 45'))).toEqual({ form: 'plain', value: 'iPXE' });
  });

  it('RFC 3004 instances are recognised, and iPXE among them counts', () => {
    expect(parseUserClass(hex('04 69 50 58 45'))).toEqual({ form: 'rfc3004', instances: ['iPXE'] });
    const view = pxeView(withOptions({ 77: '04 69 50 58 45 03 66 6f 6f' }));
    expect(view.userClass).toEqual({ form: 'rfc3004', instances: ['iPXE', 'foo'] });
    expect(view.isIpxe).toBe(true);
  });

  it('anything that does not parse exactly as instances is plain', () => {
    expect(parseUserClass(hex('05 69 50 58 45'))).toEqual({ form: 'plain', value: '\u0005iPXE' }); // length too long
    expect(parseUserClass(hex('04 69 50 58 45 00'))).toEqual({ form: 'plain', value: '\u0004iPXE\u0000' }); // zero-length instance
    expect(parseUserClass(hex('02 61 62 63'))).toEqual({ form: 'plain', value: '\u0002abc' }); // leftover byte
    expect(parseUserClass(hex(''))).toEqual({ form: 'plain', value: '' });
    expect(pxeView(withOptions({ 77: '05 69 50 58 45' })).isIpxe).toBe(false);
    expect(pxeView(withOptions({ 77: '69 50 58 45 32' })).isIpxe).toBe(false); // "iPXE2"
  });
});

describe('pxeView of odd values', () => {
  it('reads a malformed fixed-size option as absent and keeps option 97 raw', () => {
    const view = pxeView(
      withOptions({ 53: '01 01', 54: 'c0 a8 7a', 50: '', 57: '05', 93: '00 07 00', 94: '01 03', 97: '00 01 02', 55: '' }),
    );
    expect(view).toMatchObject({
      messageType: null,
      serverId: null,
      requestedIp: null,
      maxMessageSize: null,
      clientArch: [],
      clientNdi: null,
      parameterRequestList: [],
    });
    expect(bytes(view.clientGuid)).toEqual([0, 1, 2]);
  });

  it('unknown message types are null; several architectures keep their order', () => {
    expect(pxeView(withOptions({ 53: '00' })).messageType).toBeNull();
    expect(pxeView(withOptions({ 53: '09' })).messageType).toBeNull();
    expect(pxeView(withOptions({ 53: '08' })).messageType).toBe(MessageType.Inform);
    expect(pxeView(withOptions({ 93: '00 07 00 09 ff ff' })).clientArch).toEqual([7, 9, 65535]);
  });

  it('pxeClass needs the exact prefix', () => {
    expect(pxeView(withOptions({ 60: '70 78 65 63 6c 69 65 6e 74' })).pxeClass).toBeNull(); // "pxeclient"
    expect(pxeView(withOptions({ 60: '50 58 45' })).pxeClass).toBeNull(); // "PXE"
    expect(pxeView(withOptions({ 60: '48 54 54 50 43 6c 69 65 6e 74' })).pxeClass).toBe('HTTPClient');
  });

  it('malformed encapsulated options read as null, without hiding that option 175 was sent', () => {
    const view = pxeView(withOptions({ 175: '13 05 01', 43: '06' }));
    expect(view.ipxeOptions).toBeNull();
    expect(view.pxeVendorOptions).toBeNull();
    expect(view.isIpxe).toBe(true);
  });
});

describe('sub-options', () => {
  it('decodes with pads, repeated codes concatenated, missing End tolerated, bytes after End ignored', () => {
    expect(decodeSubOptions(hex('00 06 01 08 01 02 aa bb 01 01 cc ff 09 09'))).toEqual(
      new Map([
        [6, Uint8Array.of(8)],
        [1, Uint8Array.of(0xaa, 0xbb, 0xcc)],
      ]),
    );
    expect(decodeSubOptions(hex('06 01 08'))).toEqual(new Map([[6, Uint8Array.of(8)]]));
    expect(decodeSubOptions(hex(''))).toEqual(new Map());
    expect(decodeSubOptions(hex('06 02 08'))).toBeNull();
    expect(decodeSubOptions(hex('06'))).toBeNull();
  });

  it('encodes in map order with End, and refuses what cannot be written', () => {
    const encoded = encodeSubOptions(
      new Map([
        [1, Uint8Array.of(0xe0, 0, 0, 1)],
        [71, Uint8Array.of(0x80, 0, 0, 0)],
      ]),
    );
    expect([...encoded]).toEqual([...hex('01 04 e0 00 00 01 47 04 80 00 00 00 ff')]);
    expect([...encodeSubOptions(new Map())]).toEqual([0xff]);
    expect(() => encodeSubOptions(new Map([[6, new Uint8Array(256)]]))).toThrow(/256 bytes/);
    expect(() => encodeSubOptions(new Map([[0, new Uint8Array(1)]]))).toThrow(/code 0/);
    expect(() => encodeSubOptions(new Map([[255, new Uint8Array(1)]]))).toThrow(/code 255/);
  });

  it('pxeDiscoveryControl(8) is 06 01 08 ff', () => {
    expect([...pxeDiscoveryControl(8)]).toEqual([0x06, 0x01, 0x08, 0xff]);
    expect([...pxeDiscoveryControl(3)]).toEqual([0x06, 0x01, 0x03, 0xff]);
    expect(() => pxeDiscoveryControl(256)).toThrow(/one octet/);
    expect(() => pxeDiscoveryControl(-1)).toThrow(/one octet/);
  });
});

describe('value writers', () => {
  it('ipv4Bytes accepts dotted quads only', () => {
    expect([...ipv4Bytes('192.168.122.2')]).toEqual([0xc0, 0xa8, 0x7a, 0x02]);
    expect([...ipv4Bytes('0.0.0.0')]).toEqual([0, 0, 0, 0]);
    expect([...ipv4Bytes('255.255.255.255')]).toEqual([255, 255, 255, 255]);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', '1.2.3.-4', '1.2.3.0x4', '::1', '1e2.0.0.1']) {
      expect(() => ipv4Bytes(bad), bad).toThrow(/dotted quad/);
    }
  });

  it('textOption writes latin1 bytes without a NUL', () => {
    expect([...textOption('PXEClient')]).toEqual([...hex('50 58 45 43 6c 69 65 6e 74')]);
    expect([...textOption('\u00e9')]).toEqual([0xe9]);
    expect([...textOption('')]).toEqual([]);
    expect(() => textOption('\u{1f980}')).toThrow(/latin1/);
  });
});
