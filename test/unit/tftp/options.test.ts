import { describe, expect, it } from 'vitest';
import { checkLimits, negotiate } from '../../../bootserver/tftp/options.js';

const LIMITS = { maxBlockSize: 1468, maxWindowSize: 64 };

describe('negotiate', () => {
  it('without options: RFC 1350 lockstep with 512-byte blocks and no OACK', () => {
    expect(negotiate([], LIMITS, 1000)).toEqual({ blockSize: 512, windowSize: 1, oack: [] });
  });

  it('grants blksize within 8..limit and clamps larger requests to the limit (RFC 2348)', () => {
    expect(negotiate([['blksize', '8']], LIMITS, 0).blockSize).toBe(8);
    expect(negotiate([['blksize', '1024']], LIMITS, 0)).toMatchObject({ blockSize: 1024, oack: [['blksize', '1024']] });
    expect(negotiate([['blksize', '65464']], LIMITS, 0)).toMatchObject({ blockSize: 1468, oack: [['blksize', '1468']] });
    expect(negotiate([['blksize', '99999']], { ...LIMITS, maxBlockSize: 65464 }, 0).blockSize).toBe(65464);
  });

  it('ignores invalid blksize values', () => {
    for (const value of ['7', '0', '', '-1', '+512', '0x200', '512.0', '1e3', ' 512', '12345678901']) {
      expect(negotiate([['blksize', value]], LIMITS, 0), value).toEqual({ blockSize: 512, windowSize: 1, oack: [] });
    }
  });

  it('accepts timeout 1..255 seconds and ignores anything else (RFC 2349)', () => {
    expect(negotiate([['timeout', '1']], LIMITS, 0)).toMatchObject({ timeoutMs: 1000, oack: [['timeout', '1']] });
    expect(negotiate([['timeout', '255']], LIMITS, 0)).toMatchObject({ timeoutMs: 255_000 });
    for (const value of ['0', '256', 'x']) expect(negotiate([['timeout', value]], LIMITS, 0).oack, value).toEqual([]);
  });

  it('answers tsize with the real size whatever the request says, and not at all when the size is unknown', () => {
    expect(negotiate([['tsize', '0']], LIMITS, 1_048_576).oack).toEqual([['tsize', '1048576']]);
    expect(negotiate([['tsize', 'enable']], LIMITS, 0).oack).toEqual([['tsize', '0']]);
    expect(negotiate([['tsize', '0']], LIMITS, undefined).oack).toEqual([]);
  });

  it('grants windowsize 1..limit, clamping (RFC 7440)', () => {
    expect(negotiate([['windowsize', '1']], LIMITS, 0)).toMatchObject({ windowSize: 1, oack: [['windowsize', '1']] });
    expect(negotiate([['windowsize', '16']], LIMITS, 0).windowSize).toBe(16);
    expect(negotiate([['windowsize', '65535']], LIMITS, 0)).toMatchObject({ windowSize: 64, oack: [['windowsize', '64']] });
    expect(negotiate([['windowsize', '0']], LIMITS, 0).oack).toEqual([]);
  });

  it('leaves unknown options out, keeps request order, and takes the first of a repeated option', () => {
    const result = negotiate(
      [
        ['multicast', ''],
        ['windowsize', '4'],
        ['blksize', '1000'],
        ['blksize', '1200'],
        ['rollover', '0'],
      ],
      LIMITS,
      5,
    );
    expect(result).toEqual({ blockSize: 1000, windowSize: 4, oack: [['windowsize', '4'], ['blksize', '1000']] });
  });
});

describe('checkLimits', () => {
  it('accepts the RFC ranges and rejects anything outside', () => {
    expect(() => checkLimits({ maxBlockSize: 8, maxWindowSize: 1 })).not.toThrow();
    expect(() => checkLimits({ maxBlockSize: 65464, maxWindowSize: 65535 })).not.toThrow();
    expect(() => checkLimits({ maxBlockSize: 7, maxWindowSize: 1 })).toThrow(RangeError);
    expect(() => checkLimits({ maxBlockSize: 65465, maxWindowSize: 1 })).toThrow(RangeError);
    expect(() => checkLimits({ maxBlockSize: 512, maxWindowSize: 0 })).toThrow(RangeError);
    expect(() => checkLimits({ maxBlockSize: 512.5, maxWindowSize: 1 })).toThrow(RangeError);
  });
});
