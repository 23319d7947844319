// The codec against handmade packets written byte by byte from RFC 1350 and RFC 2347, not through
// the encoder, so a symmetric mistake in both directions cannot hide.

import { describe, expect, it } from 'vitest';
import { MAX_OPTIONS, decode, encodeAck, encodeData, encodeError, encodeOack, encodeRequest, type DecodeResult } from '../../../bootserver/tftp/packet.js';

const bytes = (...parts: (number[] | string)[]): Buffer => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));

const failure = (result: DecodeResult) => (result.ok ? undefined : result.error.reason);

describe('decode: requests', () => {
  it('decodes an RRQ with the mode lower-cased and no options', () => {
    expect(decode(bytes([0, 1], 'undionly.kpxe\0OCTET\0'))).toEqual({ ok: true, packet: { op: 'rrq', filename: 'undionly.kpxe', mode: 'octet', options: [] } });
  });

  it('decodes a WRQ', () => {
    expect(decode(bytes([0, 2], 'up.bin\0netascii\0'))).toMatchObject({ ok: true, packet: { op: 'wrq', filename: 'up.bin', mode: 'netascii' } });
  });

  it('decodes options in order, names lower-cased, values verbatim', () => {
    const result = decode(bytes([0, 1], 'ipxe.efi\0octet\0BLKSIZE\x001468\0tsize\x000\0WindowSize\x008\0'));
    expect(result).toEqual({ ok: true, packet: { op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: [['blksize', '1468'], ['tsize', '0'], ['windowsize', '8']] } });
  });

  it('accepts an empty option value (RFC 2090 multicast) and trailing NUL padding', () => {
    expect(decode(bytes([0, 1], 'f\0octet\0multicast\0\0'))).toMatchObject({ ok: true, packet: { options: [['multicast', '']] } });
    expect(decode(bytes([0, 1], 'f\0octet\0tsize\x000\0\0\0\0'))).toMatchObject({ ok: true, packet: { options: [['tsize', '0']] } });
    expect(decode(bytes([0, 1], 'f\0octet\0\0'))).toMatchObject({ ok: true, packet: { options: [] } });
  });

  it('refuses more than MAX_OPTIONS options', () => {
    const many = (n: number) => bytes([0, 1], 'f\0octet\0', 'x\0y\0'.repeat(n));
    expect(decode(many(MAX_OPTIONS)).ok).toBe(true);
    expect(failure(decode(many(MAX_OPTIONS + 1)))).toBe('bad-options');
    expect(failure(decode(bytes([0, 6], 'x\0y\0'.repeat(20_000))))).toBe('bad-options');
  });

  it('keeps a UTF-8 file name and refuses invalid UTF-8', () => {
    expect(decode(bytes([0, 1], Buffer.from('é.bin\0', 'utf8').toString('latin1'), 'octet\0'))).toMatchObject({ ok: true, packet: { filename: 'é.bin' } });
    expect(failure(decode(bytes([0, 1, 0xc3, 0x28, 0], 'octet\0')))).toBe('bad-filename');
  });

  it('keeps an empty file name for the server to refuse', () => {
    expect(decode(bytes([0, 1], '\0octet\0'))).toMatchObject({ ok: true, packet: { filename: '' } });
  });

  it('refuses broken requests with a typed reason and the opcode', () => {
    expect(decode(bytes([0, 1], 'file'))).toEqual({ ok: false, error: { reason: 'unterminated-string', detail: expect.any(String) as string, opcode: 1 } });
    expect(failure(decode(bytes([0, 1], 'file\0octet')))).toBe('unterminated-string');
    expect(failure(decode(bytes([0, 1], 'file\0')))).toBe('missing-mode');
    expect(failure(decode(bytes([0, 1], 'file\0\0')))).toBe('missing-mode');
    expect(failure(decode(bytes([0, 1])))).toBe('unterminated-string');
    expect(failure(decode(bytes([0, 1], 'f\0octet\0blksize\0')))).toBe('bad-options');
    expect(failure(decode(bytes([0, 1], 'f\0octet\0\0blksize\x00512\0')))).toBe('bad-options');
  });
});

describe('decode: other packets', () => {
  it('decodes DATA as a view of the payload, including an empty final block', () => {
    const result = decode(bytes([0, 3, 0xff, 0xfe], 'payload'));
    expect(result).toMatchObject({ ok: true, packet: { op: 'data', block: 65534 } });
    if (result.ok && result.packet.op === 'data') expect(result.packet.data.toString()).toBe('payload');
    expect(decode(bytes([0, 3, 0, 9]))).toMatchObject({ ok: true, packet: { op: 'data', block: 9, data: Buffer.alloc(0) } });
  });

  it('decodes ACK, ignoring padding after the block number', () => {
    expect(decode(bytes([0, 4, 0, 0]))).toEqual({ ok: true, packet: { op: 'ack', block: 0 } });
    expect(decode(bytes([0, 4, 1, 0, 0, 0, 0]))).toEqual({ ok: true, packet: { op: 'ack', block: 256 } });
  });

  it('decodes ERROR with or without its terminator', () => {
    expect(decode(bytes([0, 5, 0, 1], 'File not found\0'))).toEqual({ ok: true, packet: { op: 'error', code: 1, message: 'File not found' } });
    expect(decode(bytes([0, 5, 0, 8], 'no end'))).toEqual({ ok: true, packet: { op: 'error', code: 8, message: 'no end' } });
  });

  it('decodes OACK', () => {
    expect(decode(bytes([0, 6], 'blksize\x001468\0tsize\x00123\0'))).toEqual({ ok: true, packet: { op: 'oack', options: [['blksize', '1468'], ['tsize', '123']] } });
  });

  it('refuses short and unknown packets', () => {
    for (const raw of [[], [0], [0, 3, 0], [0, 4, 1], [0, 5, 0]]) expect(failure(decode(Buffer.from(raw))), JSON.stringify(raw)).toBe('too-short');
    for (const op of [0, 7, 255, 0xffff]) expect(failure(decode(Buffer.from([op >> 8, op & 0xff, 0, 0])))).toBe('unknown-opcode');
  });
});

describe('encode', () => {
  it('writes RFC 1350 bytes', () => {
    expect(encodeRequest('rrq', 'a.bin', 'octet', [['blksize', '512']])).toEqual(bytes([0, 1], 'a.bin\0octet\0blksize\x00512\0'));
    expect(encodeRequest('wrq', 'a', 'netascii')).toEqual(bytes([0, 2], 'a\0netascii\0'));
    expect(encodeAck(65536 + 7)).toEqual(bytes([0, 4, 0, 7]));
    expect(encodeData(65536, Buffer.from('x'))).toEqual(bytes([0, 3, 0, 0], 'x'));
    expect(encodeError(5, 'Unknown transfer ID')).toEqual(bytes([0, 5, 0, 5], 'Unknown transfer ID\0'));
    expect(encodeOack([['tsize', '0']])).toEqual(bytes([0, 6], 'tsize\x000\0'));
  });

  it('keeps error messages to printable ASCII', () => {
    expect(encodeError(0, 'bad\nname\0é')).toEqual(bytes([0, 5, 0, 0], 'bad?name??\0'));
  });

  it('round-trips through decode', () => {
    const packets = [
      encodeRequest('rrq', 'pxelinux.0', 'octet', [['tsize', '0'], ['blksize', '1468']]),
      encodeOack([['windowsize', '64']]),
      encodeData(1, Buffer.alloc(512, 7)),
      encodeAck(42),
      encodeError(2, 'Access violation'),
    ];
    for (const packet of packets) {
      const decoded = decode(packet);
      expect(decoded.ok).toBe(true);
    }
  });
});
