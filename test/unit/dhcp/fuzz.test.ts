// Fuzzes the codec with BESKAR7_FUZZ_COUNT packets (default 100,000; CI's full run uses 1,000,000) from a
// seeded PRNG (BESKAR7_FUZZ_SEED, printed) so any failure reproduces. Every packet must decode without
// throwing and within a per-packet time bound; every packet that decodes must survive pxeView and re-encode.

import { describe, expect, it } from 'vitest';
import { decodeDhcp } from '../../../bootserver/dhcp/decode.js';
import { encodeDhcpMessage } from '../../../bootserver/dhcp/encode.js';
import { pxeView } from '../../../bootserver/dhcp/options.js';
import type { DecodeErrorCode, DecodeResult, DhcpPacket } from '../../../bootserver/dhcp/types.js';
import { badOverloadPacket, randomBytes, rng, validPacket, type Rng } from './fuzz-packets.js';
import { arm64Discover, edk2X64Discover, httpBootDiscover, plainDiscover, proxyOffer, qemuIpxeDiscover } from './vectors.js';

const COUNT = Number(process.env.BESKAR7_FUZZ_COUNT ?? 100_000);
const SEED = Number(process.env.BESKAR7_FUZZ_SEED ?? 20261121);
/** Linear decoding of ≤ 3 KB takes microseconds; 5 ms would mean something is walking far too much. */
const MAX_DECODE_MS = 5;
const CODES: readonly DecodeErrorCode[] = ['too-short', 'bad-op', 'bad-hlen', 'no-magic-cookie', 'truncated-option', 'bad-overload', 'missing-end'];
const KINDS = ['random', 'valid', 'truncated', 'mutated', 'length-lie', 'overload-abuse'] as const;
type Kind = (typeof KINDS)[number];

class FuzzFailure extends Error {}

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The first difference between two packets, or null; `dropOverload` ignores option 52 (the encoder omits it). */
function difference(a: DhcpPacket, b: DhcpPacket, dropOverload: boolean): string | null {
  for (const key of ['op', 'htype', 'hlen', 'hops', 'xid', 'secs', 'flags', 'ciaddr', 'yiaddr', 'siaddr', 'giaddr', 'mac', 'sname', 'file'] as const) {
    if (a[key] !== b[key]) return `${key}: ${JSON.stringify(a[key])} vs ${JSON.stringify(b[key])}`;
  }
  if (hexOf(a.chaddr) !== hexOf(b.chaddr)) return `chaddr: ${hexOf(a.chaddr)} vs ${hexOf(b.chaddr)}`;
  const entries = (p: DhcpPacket): string[] => [...p.options].filter(([code]) => !(dropOverload && code === 52)).map(([code, value]) => `${code}=${hexOf(value)}`);
  const [left, right] = [entries(a), entries(b)];
  if (left.join(' ') !== right.join(' ')) return `options:\n  ${left.join(' ')}\n  ${right.join(' ')}`;
  return null;
}

class Campaign {
  readonly results = new Map<string, number>();
  readonly kinds = new Map<Kind | 'vector-truncation', number>();
  decodeMs = 0;
  maxDecodeMs = 0;
  slowest = '';
  slowRetimed = 0;
  reencoded = 0;
  refusedByEncoder = 0;

  constructor(readonly seed: number) {}

  fail(index: number, kind: string, bytes: Uint8Array, problem: string): never {
    throw new FuzzFailure(`seed ${this.seed}, packet ${index} (${kind}, ${bytes.length} bytes): ${problem}\n${hexOf(bytes)}`);
  }

  /** Decodes one datagram and checks everything that must hold for any input; returns the result. */
  check(index: number, kind: Kind | 'vector-truncation', bytes: Uint8Array): DecodeResult {
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    let result: DecodeResult;
    const started = performance.now();
    try {
      result = decodeDhcp(bytes);
    } catch (error) {
      this.fail(index, kind, bytes, `decodeDhcp threw ${String(error)}`);
    }
    let elapsed = performance.now() - started;
    if (elapsed > MAX_DECODE_MS) {
      // A GC pause or a descheduled process can stall any one call; a real slow path is slow every time.
      this.slowRetimed++;
      for (let again = 0; again < 5 && elapsed > MAX_DECODE_MS; again++) {
        const t = performance.now();
        decodeDhcp(bytes);
        elapsed = Math.min(elapsed, performance.now() - t);
      }
      if (elapsed > MAX_DECODE_MS) this.fail(index, kind, bytes, `decoding took ${elapsed.toFixed(2)} ms`);
    }
    this.decodeMs += elapsed;
    if (elapsed > this.maxDecodeMs) {
      this.maxDecodeMs = elapsed;
      this.slowest = `packet ${index} (${kind}, ${bytes.length} bytes)`;
    }

    if (!result.ok) {
      const { code, offset, message } = result.error;
      this.results.set(code, (this.results.get(code) ?? 0) + 1);
      if (!CODES.includes(code)) this.fail(index, kind, bytes, `unknown error code ${code}`);
      if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) this.fail(index, kind, bytes, `offset ${offset} out of range`);
      if (message.length === 0) this.fail(index, kind, bytes, 'empty error message');
      return result;
    }
    this.results.set('ok', (this.results.get('ok') ?? 0) + 1);
    const packet = result.packet;
    try {
      pxeView(packet);
    } catch (error) {
      this.fail(index, kind, bytes, `pxeView threw ${String(error)}`);
    }
    this.reencode(index, kind, bytes, packet);
    return result;
  }

  /**
   * Every decoded packet re-encodes, except one whose sname or file had no NUL (64/128 characters): the
   * encoder keeps a byte for the NUL and refuses those. The re-encoded bytes decode to the same packet,
   * minus option 52 (the encoder never overloads).
   */
  private reencode(index: number, kind: string, bytes: Uint8Array, packet: DhcpPacket): void {
    const { mac: _mac, ...message } = packet;
    const refused = packet.sname.length > 63 || packet.file.length > 127;
    let encoded: Buffer;
    try {
      encoded = encodeDhcpMessage(message);
    } catch (error) {
      if (refused && /(sname|file) is \d+ characters/.test(String(error))) {
        this.refusedByEncoder++;
        return;
      }
      this.fail(index, kind, bytes, `encodeDhcpMessage threw ${String(error)}`);
    }
    if (refused) this.fail(index, kind, bytes, 'the encoder accepted an over-long sname or file');
    if (encoded.length < 300) this.fail(index, kind, bytes, `re-encoded to ${encoded.length} bytes`);
    const again = decodeDhcp(encoded);
    if (!again.ok) this.fail(index, kind, bytes, `re-encoded packet does not decode: ${JSON.stringify(again.error)}`);
    const diff = difference(packet, again.packet, true);
    if (diff !== null) this.fail(index, kind, bytes, `re-encoded packet differs: ${diff}`);
    this.reencoded++;
  }
}

function mutate(r: Rng, original: Uint8Array): Uint8Array {
  const bytes = original.slice();
  if (bytes.length === 0) return bytes;
  for (let n = 1 + r.int(8); n > 0; n--) {
    // Half the hits land in the options and the fields they can borrow, where the parsing happens.
    const at = r.chance(0.5) && bytes.length > 44 ? 44 + r.int(bytes.length - 44) : r.int(bytes.length);
    bytes[at] = r.chance(0.5) ? (bytes[at] ?? 0) ^ (1 << r.int(8)) : r.int(256);
  }
  return bytes;
}

function randomDatagram(r: Rng): Uint8Array {
  if (r.chance(0.5)) return randomBytes(r, r.int(1501));
  // A plausible header and cookie, then garbage: the option walk sees random codes and lengths.
  const bytes = randomBytes(r, 240 + r.int(1261));
  bytes[0] = 1 + r.int(2);
  bytes[2] = r.int(17);
  bytes.set([99, 130, 83, 99], 236);
  return bytes;
}

describe('DHCP codec fuzzing', () => {
  it(`decodes ${COUNT} hostile packets without throwing, within ${MAX_DECODE_MS} ms each`, { timeout: Math.max(60_000, COUNT * 0.3) }, () => {
    expect(Number.isInteger(COUNT) && COUNT > 0, `BESKAR7_FUZZ_COUNT=${process.env.BESKAR7_FUZZ_COUNT}`).toBe(true);
    console.log(`DHCP fuzz: seed ${SEED} (BESKAR7_FUZZ_SEED), ${COUNT} packets (BESKAR7_FUZZ_COUNT)`);
    // Annotated so TypeScript sees that campaign.fail() never returns.
    const campaign: Campaign = new Campaign(SEED);
    const r = rng(SEED);
    const wallStart = performance.now();

    // Every prefix of every handmade datagram: short ones are too short, the rest decode or stop at a cut option.
    let index = 0;
    for (const vector of [qemuIpxeDiscover, edk2X64Discover, arm64Discover, httpBootDiscover, plainDiscover, proxyOffer]) {
      for (let length = 0; length <= vector.length; length++) {
        const result = campaign.check(index++, 'vector-truncation', vector.subarray(0, length));
        const expected = length < 240 ? 'too-short' : null;
        const code = result.ok ? null : result.error.code;
        if (expected !== null ? code !== expected : code !== null && code !== 'truncated-option') {
          campaign.fail(index, 'vector-truncation', vector.subarray(0, length), `got ${code}`);
        }
      }
    }

    for (let i = 0; i < COUNT; i++) {
      const kind = KINDS[r.int(KINDS.length)] ?? 'random';
      switch (kind) {
        case 'random':
          campaign.check(i, kind, randomDatagram(r));
          break;
        case 'valid': {
          const { bytes, expected } = validPacket(r);
          const result = campaign.check(i, kind, bytes);
          if (!result.ok) campaign.fail(i, kind, bytes, `a well-formed packet was refused: ${JSON.stringify(result.error)}`);
          const diff = difference(result.packet, expected, false);
          if (diff !== null) campaign.fail(i, kind, bytes, `decoded differently from the model: ${diff}`);
          break;
        }
        case 'truncated': {
          const { bytes } = validPacket(r);
          campaign.check(i, kind, bytes.subarray(0, r.int(bytes.length + 1)));
          break;
        }
        case 'mutated':
          campaign.check(i, kind, mutate(r, validPacket(r).bytes));
          break;
        case 'length-lie': {
          const { bytes, lengthAt } = validPacket(r);
          const at = lengthAt[r.int(lengthAt.length)];
          if (at !== undefined) bytes[at] = r.int(256);
          campaign.check(i, kind, bytes);
          break;
        }
        case 'overload-abuse': {
          const { bytes } = badOverloadPacket(r);
          const result = campaign.check(i, kind, bytes);
          if (result.ok || result.error.code !== 'bad-overload') campaign.fail(i, kind, bytes, `expected bad-overload`);
          break;
        }
      }
    }

    const wallSeconds = (performance.now() - wallStart) / 1000;
    const results = [...campaign.results].sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n}`).join(', ');
    console.log(
      [
        `DHCP fuzz: ${COUNT + index} decodes in ${wallSeconds.toFixed(2)} s wall (generation, decode, pxeView, re-encode)`,
        `  decode total ${(campaign.decodeMs / 1000).toFixed(2)} s, max ${campaign.maxDecodeMs.toFixed(3)} ms per packet (${campaign.slowest})` +
          `, ${campaign.slowRetimed} retimed after a stall over ${MAX_DECODE_MS} ms`,
        `  kinds: ${[...campaign.kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`,
        `  results: ${results}`,
        `  re-encoded ${campaign.reencoded}, refused by the encoder (sname/file without NUL) ${campaign.refusedByEncoder}`,
      ].join('\n'),
    );
    // The run reached every outcome, so the generators are not all failing at the first check.
    if (COUNT >= 10_000) {
      for (const code of [...CODES, 'ok']) expect(campaign.results.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  });
});
