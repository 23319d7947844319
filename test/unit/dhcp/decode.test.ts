import { describe, expect, it } from 'vitest';
import { decodeDhcp } from '../../../bootserver/dhcp/decode.js';
import type { DecodeErrorCode, DecodeResult, DhcpPacket } from '../../../bootserver/dhcp/types.js';
import { arm64Discover, hex, plainDiscover, qemuIpxeDiscover, zeros } from './vectors.js';

const decoded = (datagram: Uint8Array): DhcpPacket => {
  const result = decodeDhcp(datagram);
  if (!result.ok) throw new Error(`expected a packet, got ${JSON.stringify(result.error)}`);
  return result.packet;
};

const failure = (result: DecodeResult): { code: DecodeErrorCode; offset: number; message: string } => {
  if (result.ok) throw new Error('expected a decode error');
  return result.error;
};

const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('latin1');

/** A request header with chosen sname and file fields (hex), before the options. */
const header = (sname = zeros(64), file = zeros(128)): string => `
  01 01 06 00 | 00 00 00 01 | 00 00 00 00
  00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
  52 54 00 00 00 01 ${zeros(10)}
  ${sname}
  ${file}
  63 82 53 63`;

describe('decodeDhcp: header', () => {
  it('reads every fixed field of the QEMU iPXE DISCOVER', () => {
    const p = decoded(qemuIpxeDiscover);
    expect(p).toMatchObject({
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 0x3c8d1e5a,
      secs: 4,
      flags: 0x8000,
      ciaddr: '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      mac: '52:54:00:12:34:56',
      sname: '',
      file: '',
    });
    expect([...p.chaddr]).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56, ...new Array<number>(10).fill(0)]);
    expect([...p.options.keys()]).toEqual([53, 57, 93, 94, 97, 60, 77, 55, 175]);
    expect(text(p.options.get(60))).toBe('PXEClient:Arch:00000:UNDI:002001');
  });

  it('reads addresses, a full-range xid and text fields in network byte order', () => {
    const p = decoded(
      hex(`02 01 06 03 | ff fe fd fc | 01 02 ff ff
        0a 00 00 01 | c0 a8 01 64 | c0 a8 7a 02 | ac 10 00 fe
        aa bb cc dd ee ff ${zeros(10)}
        62 6f 6f 74 2e 65 78 61 6d 70 6c 65 00 7a 7a ${zeros(49)}   # "boot.example", NUL, then ignored bytes
        70 78 65 6c 69 6e 75 78 2e 30 e9 ff ${zeros(116)}          # "pxelinux.0" + two non-ASCII bytes
        63 82 53 63 ff`),
    );
    expect(p).toMatchObject({
      op: 2,
      hops: 3,
      xid: 0xfffefdfc,
      secs: 0x0102,
      flags: 0xffff,
      ciaddr: '10.0.0.1',
      yiaddr: '192.168.1.100',
      siaddr: '192.168.122.2',
      giaddr: '172.16.0.254',
      mac: 'aa:bb:cc:dd:ee:ff',
      sname: 'boot.example',
      file: 'pxelinux.0\u00e9\u00ff',
    });
    expect(p.options.size).toBe(0);
  });

  it('reads a field with no NUL as its full width', () => {
    const p = decoded(hex(`${header('41'.repeat(64), '42'.repeat(128))} ff`));
    expect(p.sname).toBe('A'.repeat(64));
    expect(p.file).toBe('B'.repeat(128));
  });

  it('gives a MAC only for Ethernet with hlen 6', () => {
    const base = decoded(plainDiscover);
    const withHeader = (htype: number, hlen: number): DhcpPacket => {
      const bytes = plainDiscover.slice();
      bytes[1] = htype;
      bytes[2] = hlen;
      return decoded(bytes);
    };
    expect(base.mac).toBe('00:16:3e:01:02:03');
    expect(withHeader(6, 6).mac).toBeNull();
    expect(withHeader(1, 0).mac).toBeNull();
    expect(withHeader(1, 16).mac).toBeNull();
    expect(withHeader(32, 16).hlen).toBe(16);
  });

  it('copies values out of the datagram, so a reused receive buffer cannot change a decoded packet', () => {
    for (const buffer of [qemuIpxeDiscover.slice(), Buffer.from(qemuIpxeDiscover)]) {
      const p = decoded(buffer);
      buffer.fill(0xee);
      expect(p.mac).toBe('52:54:00:12:34:56');
      expect(p.chaddr[0]).toBe(0x52);
      expect([...(p.options.get(93) ?? [])]).toEqual([0, 0]);
    }
  });
});

describe('decodeDhcp: options', () => {
  it('skips pad options anywhere and ignores everything after End', () => {
    const p = decoded(hex(`${header()} 00 00 35 01 01 00 3c 03 61 62 63 00 ff 35 01 07 de ad be ef`));
    expect([...p.options]).toEqual([
      [53, Uint8Array.of(1)],
      [60, Uint8Array.of(0x61, 0x62, 0x63)],
    ]);
  });

  it('keeps zero-length options', () => {
    const p = decoded(hex(`${header()} af 00 ff`));
    expect(p.options.get(175)).toEqual(new Uint8Array(0));
  });

  it('tolerates a missing End when the options run cleanly to the end of the datagram', () => {
    const withoutEnd = arm64Discover.slice(0, arm64Discover.indexOf(0xff, 240));
    expect(withoutEnd.length).toBe(240 + 3 + 4 + 34);
    const p = decoded(withoutEnd);
    expect([...p.options.keys()]).toEqual([53, 93, 60]);
    // Trailing pads without End are just as clean.
    expect(decoded(hex(`${header()} 35 01 01 00 00 00`)).options.get(53)).toEqual(Uint8Array.of(1));
    // No options at all: a bare header and cookie.
    expect(decoded(hex(header())).options.size).toBe(0);
  });

  it('concatenates RFC 3396 split instances in order, even with other options between them', () => {
    const first = Array.from({ length: 255 }, (_, i) => i.toString(16).padStart(2, '0')).join(' ');
    const second = Array.from({ length: 45 }, (_, i) => (255 + i).toString(16).slice(-2).padStart(2, '0')).join(' ');
    const p = decoded(hex(`${header()} 2b ff ${first} 35 01 01 2b 2d ${second} ff`));
    const value = p.options.get(43);
    expect(value?.length).toBe(300);
    expect([...(value ?? [])]).toEqual(Array.from({ length: 300 }, (_, i) => i % 256));
    expect([...p.options.keys()]).toEqual([43, 53]);
  });

  it('overload 3: reads options from file, then sname, and reports both fields empty', () => {
    const file = `3c 03 43 6c 69 | 43 0a 70 78 65 6c 69 6e 75 78 2e 30 | ff ${zeros(128 - 18)}`;
    const sname = `3c 03 65 6e 74 | 42 0c 62 6f 6f 74 2e 65 78 61 6d 70 6c 65 | ff ${zeros(64 - 20)}`;
    const p = decoded(hex(`${header(sname, file)} 35 01 01 34 01 03 3c 03 50 58 45 ff`));
    // "PXE" + "Cli" (file) + "ent" (sname): file comes before sname (RFC 3396 §5, RFC 2131 §4.1).
    expect(text(p.options.get(60))).toBe('PXEClient');
    expect(text(p.options.get(67))).toBe('pxelinux.0');
    expect(text(p.options.get(66))).toBe('boot.example');
    expect([...p.options.keys()]).toEqual([53, 52, 60, 67, 66]);
    expect(p.sname).toBe('');
    expect(p.file).toBe('');
  });

  it('overload 1 borrows only file; overload 2 only sname', () => {
    const name = `62 6f 6f 74 2e 65 78 61 6d 70 6c 65 ${zeros(52)}`; // "boot.example"
    const fileOptions = `43 0a 70 78 65 6c 69 6e 75 78 2e 30 ff ${zeros(128 - 13)}`;
    const onlyFile = decoded(hex(`${header(name, fileOptions)} 34 01 01 ff`));
    expect(onlyFile.sname).toBe('boot.example');
    expect(onlyFile.file).toBe('');
    expect(text(onlyFile.options.get(67))).toBe('pxelinux.0');

    const snameOptions = `42 03 61 62 63 ff ${zeros(58)}`;
    const fileName = `70 78 65 6c 69 6e 75 78 2e 30 ${zeros(118)}`; // "pxelinux.0"
    const onlySname = decoded(hex(`${header(snameOptions, fileName)} 34 01 02 ff`));
    expect(onlySname.sname).toBe('');
    expect(onlySname.file).toBe('pxelinux.0');
    expect(text(onlySname.options.get(66))).toBe('abc');
  });
});

describe('decodeDhcp: errors', () => {
  it('too-short: anything without a full header and cookie', () => {
    for (const length of [0, 1, 235, 236, 239]) {
      expect(failure(decodeDhcp(qemuIpxeDiscover.slice(0, length)))).toMatchObject({ code: 'too-short', offset: length });
    }
    expect(decodeDhcp(qemuIpxeDiscover.slice(0, 240)).ok).toBe(true);
  });

  it('bad-op: op other than BOOTREQUEST or BOOTREPLY', () => {
    for (const op of [0, 3, 255]) {
      const bytes = plainDiscover.slice();
      bytes[0] = op;
      expect(failure(decodeDhcp(bytes))).toMatchObject({ code: 'bad-op', offset: 0 });
    }
  });

  it('bad-hlen: a hardware address longer than chaddr', () => {
    const bytes = plainDiscover.slice();
    bytes[2] = 17;
    expect(failure(decodeDhcp(bytes))).toMatchObject({ code: 'bad-hlen', offset: 2 });
  });

  it('no-magic-cookie: plain BOOTP or garbage where the cookie belongs', () => {
    const bytes = plainDiscover.slice();
    bytes[239] = 0x64;
    expect(failure(decodeDhcp(bytes))).toMatchObject({ code: 'no-magic-cookie', offset: 236 });
  });

  it('truncated-option: a length past the end, or no length octet at all', () => {
    const pastEnd = failure(decodeDhcp(hex(`${header()} 35 01 01 0c 05 6e 6f`)));
    expect(pastEnd).toMatchObject({ code: 'truncated-option', offset: 243 });
    expect(pastEnd.message).toContain('option 12');
    expect(failure(decodeDhcp(hex(`${header()} 35 01 01 0c`)))).toMatchObject({ code: 'truncated-option', offset: 243 });
    // In a borrowed field the field's end is the limit, even though the datagram goes on.
    const file = `43 7f ${zeros(126)}`;
    expect(failure(decodeDhcp(hex(`${header(zeros(64), file)} 34 01 01 ff`)))).toMatchObject({
      code: 'truncated-option',
      offset: 108,
    });
    const lastByte = `${zeros(127)} 43`;
    expect(failure(decodeDhcp(hex(`${header(zeros(64), lastByte)} 34 01 01 ff`)))).toMatchObject({
      code: 'truncated-option',
      offset: 235,
    });
  });

  it('bad-overload: a value other than one octet of 1..3, or option 52 inside a borrowed field', () => {
    for (const value of ['34 01 00', '34 01 04', '34 00', '34 02 01 01', '34 01 01 34 01 01']) {
      expect(failure(decodeDhcp(hex(`${header()} 35 01 01 ${value} ff`)))).toMatchObject({ code: 'bad-overload', offset: 243 });
    }
    // sname says "also read file": refused rather than followed, so no field is ever read twice.
    const sname = `34 01 01 ff ${zeros(60)}`;
    expect(failure(decodeDhcp(hex(`${header(sname)} 34 01 02 ff`)))).toMatchObject({ code: 'bad-overload', offset: 44 });
  });

  it('missing-end: a borrowed field whose options do not end with End', () => {
    const file = `42 03 61 62 63 ${zeros(123)}`; // options, then pads to the field's end
    expect(failure(decodeDhcp(hex(`${header(zeros(64), file)} 34 01 01 ff`)))).toMatchObject({ code: 'missing-end', offset: 236 });
    // A boot file name where option 52 promised options: 'p' 'x' read as option 112 of length 120.
    const name = `70 78 65 6c 69 6e 75 78 2e 30 ${zeros(118)}`;
    expect(failure(decodeDhcp(hex(`${header(zeros(64), name)} 34 01 01 ff`)))).toMatchObject({ code: 'missing-end' });
    const sname = zeros(64);
    expect(failure(decodeDhcp(hex(`${header(sname)} 34 01 02 ff`)))).toMatchObject({ code: 'missing-end', offset: 108 });
  });
});
