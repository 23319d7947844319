// Packet generators for the codec fuzz test. `validPacket` writes the wire format directly (not through
// the encoder) and keeps its own model of what the decoder must return, so the two are checked against
// an independent reading of the RFCs rather than against each other.

import type { DhcpPacket } from '../../../bootserver/dhcp/types.js';
import { mulberry32 } from '../../helpers/prng.js';

export interface Rng {
  /** Uniform integer in [0, n). */
  int(n: number): number;
  chance(p: number): boolean;
  fill(bytes: Uint8Array): void;
}

/** Deterministic from a 32-bit seed (test/helpers/prng.ts). */
export function rng(seed: number): Rng {
  const next32 = mulberry32(seed);
  return {
    int: (n) => Math.floor((next32() / 4294967296) * n),
    chance: (p) => next32() / 4294967296 < p,
    fill: (bytes) => {
      for (let i = 0; i < bytes.length; i += 4) {
        const word = next32();
        bytes[i] = word;
        bytes[i + 1] = word >>> 8;
        bytes[i + 2] = word >>> 16;
        bytes[i + 3] = word >>> 24;
      }
    },
  };
}

export function randomBytes(r: Rng, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  r.fill(bytes);
  return bytes;
}

const OVERLOAD = 52;
const PIECE_CODES = [1, 3, 12, 43, 53, 54, 55, 57, 60, 61, 66, 67, 77, 93, 94, 97, 175];

export interface ValidPacket {
  bytes: Uint8Array;
  /** What decodeDhcp must return for `bytes`. */
  expected: DhcpPacket;
  /** Absolute offsets of option length octets, for length lies. */
  lengthAt: number[];
}

export interface BadOverloadPacket {
  bytes: Uint8Array;
}

interface Piece {
  code: number;
  value: Uint8Array;
}

/** Codes from a small pool repeat often (so RFC 3396 concatenation is exercised); never 0, 52 or 255. */
function pieceCode(r: Rng): number {
  if (r.chance(0.7)) return PIECE_CODES[r.int(PIECE_CODES.length)] ?? 1;
  const code = 1 + r.int(254);
  return code === OVERLOAD ? OVERLOAD + 1 : code;
}

function pieceLength(r: Rng, max: number): number {
  const roll = r.int(20);
  const length = roll < 14 ? r.int(17) : roll < 19 ? r.int(256) : 255;
  return Math.min(length, max);
}

/**
 * The bytes of one option area that starts at absolute offset `base`: random pieces plus every `extra`
 * piece, pads sprinkled between them, at most `capacity` bytes with room left for End (null: unbounded).
 * Each piece written is appended to `model` and the offset of its length octet to `lengthAt`.
 */
function writeArea(
  r: Rng,
  base: number,
  capacity: number | null,
  model: Piece[],
  lengthAt: number[],
  extra: Piece[] = [],
): number[] {
  const out: number[] = [];
  const pending = [...extra];
  // Room for a new random piece, keeping space for End and for the pieces that must still go in.
  const room = (): number => {
    if (capacity === null) return 1000;
    return capacity - out.length - 1 - pending.reduce((sum, p) => sum + 2 + p.value.length, 0);
  };
  const count = capacity === null ? r.int(14) : 1 + r.int(6);
  for (let i = 0; i < count || pending.length > 0; i++) {
    while (r.chance(0.1) && room() > 0) out.push(0);
    let piece: Piece | undefined;
    if (pending.length > 0 && (i >= count || r.chance(0.3))) {
      piece = pending.shift();
    } else if (room() >= 2) {
      const value = new Uint8Array(pieceLength(r, room() - 2));
      r.fill(value);
      piece = { code: pieceCode(r), value };
    }
    if (piece === undefined) continue;
    out.push(piece.code);
    lengthAt.push(base + out.length);
    out.push(piece.value.length);
    for (const b of piece.value) out.push(b);
    model.push(piece);
  }
  return out;
}

function concat(pieces: readonly Piece[]): Map<number, Uint8Array> {
  const map = new Map<number, number[]>();
  for (const { code, value } of pieces) {
    const list = map.get(code) ?? [];
    list.push(...value);
    map.set(code, list);
  }
  return new Map([...map].map(([code, list]) => [code, Uint8Array.from(list)]));
}

/** Non-NUL latin1 text in a fixed field; occasionally fills the field with no NUL. Garbage may follow the NUL. */
function writeText(r: Rng, bytes: Uint8Array, start: number, width: number): string {
  const length = r.chance(0.03) ? width : r.int(r.chance(0.5) ? 16 : width);
  let text = '';
  for (let i = 0; i < length; i++) {
    const b = 1 + r.int(255);
    bytes[start + i] = b;
    text += String.fromCharCode(b);
  }
  if (length < width - 1 && r.chance(0.2)) r.fill(bytes.subarray(start + length + 1, start + width));
  return text;
}

function ipv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at] ?? 0}.${bytes[at + 1] ?? 0}.${bytes[at + 2] ?? 0}.${bytes[at + 3] ?? 0}`;
}

/**
 * A well-formed request or reply, written byte by byte: random header, options split into random pieces,
 * pads, End present or not, garbage after End, and overload of file and/or sname in a quarter of them.
 */
export function validPacket(r: Rng): ValidPacket {
  const header = new Uint8Array(240);
  r.fill(header.subarray(0, 44));
  header[0] = r.chance(0.5) ? 1 : 2;
  if (r.chance(0.8)) header[1] = 1;
  header[2] = r.chance(0.8) ? 6 : r.int(17);
  header.set([99, 130, 83, 99], 236);
  const overload = r.chance(0.25) ? 1 + r.int(3) : 0;
  const sname = overload & 2 ? '' : writeText(r, header, 44, 64);
  const file = overload & 1 ? '' : writeText(r, header, 108, 128);

  const main: Piece[] = [];
  const lengthAt: number[] = [];
  const overloadPiece = overload ? [{ code: OVERLOAD, value: Uint8Array.of(overload) }] : [];
  const mainBytes = writeArea(r, 240, null, main, lengthAt, overloadPiece);
  const borrowed: Piece[] = [];
  // RFC 3396 order: file, then sname.
  for (const [flag, start, width] of [
    [1, 108, 128],
    [2, 44, 64],
  ] as const) {
    if (!(overload & flag)) continue;
    const area = writeArea(r, start, width, borrowed, lengthAt);
    area.push(255);
    header.set(area, start);
    if (r.chance(0.3)) r.fill(header.subarray(start + area.length, start + width));
  }
  // End is optional at the end of the datagram; bytes after it are ignored.
  const ended = r.chance(0.85);
  const tail = ended ? [255, ...(r.chance(0.3) ? randomBytes(r, r.int(40)) : [])] : r.chance(0.3) ? [0, 0] : [];
  const bytes = new Uint8Array(240 + mainBytes.length + tail.length);
  bytes.set(header);
  bytes.set(mainBytes, 240);
  bytes.set(tail, 240 + mainBytes.length);

  const htype = header[1] ?? 0;
  const hlen = header[2] ?? 0;
  const chaddr = header.slice(28, 44);
  const u16 = (at: number): number => ((header[at] ?? 0) << 8) | (header[at + 1] ?? 0);
  return {
    bytes,
    lengthAt,
    expected: {
      op: header[0] ?? 0,
      htype,
      hlen,
      hops: header[3] ?? 0,
      xid: (u16(4) * 65536 + u16(6)) >>> 0,
      secs: u16(8),
      flags: u16(10),
      ciaddr: ipv4(header, 12),
      yiaddr: ipv4(header, 16),
      siaddr: ipv4(header, 20),
      giaddr: ipv4(header, 24),
      chaddr,
      mac: htype === 1 && hlen === 6 ? [...chaddr.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':') : null,
      sname,
      file,
      options: concat([...main, ...borrowed]),
    },
  };
}

/**
 * Overload abuse the decoder must refuse with 'bad-overload': option 52 with a bad value or length, or a
 * second option 52 inside a borrowed field pointing at a field (possibly itself) — the loop a naive
 * decoder could follow.
 */
export function badOverloadPacket(r: Rng): BadOverloadPacket {
  const bytes = new Uint8Array(240 + 8);
  bytes[0] = 1;
  bytes[1] = 1;
  bytes[2] = 6;
  bytes.set([99, 130, 83, 99], 236);
  const lengthAt: number[] = [];
  const ignored: Piece[] = [];
  let value: number[];
  const mode = r.int(3);
  if (mode === 0) {
    const bad = [0, ...Array.from({ length: 252 }, (_, i) => i + 4)];
    value = [bad[r.int(bad.length)] ?? 0];
  } else if (mode === 1) {
    value = r.chance(0.5) ? [] : [1 + r.int(3), 1 + r.int(3)];
  } else {
    const overload = 1 + r.int(3);
    value = [overload];
    const flag = overload === 3 ? 1 + r.int(2) : overload;
    const [start, width] = flag === 1 ? [108, 128] : [44, 64];
    const again = { code: OVERLOAD, value: Uint8Array.of(1 + r.int(3)) };
    const area = writeArea(r, start, width, ignored, lengthAt, [again]);
    area.push(255);
    bytes.set(area, start);
    if (overload === 3) {
      const other = flag === 1 ? [44, 64] : [108, 128];
      bytes.set([255], other[0] ?? 44);
    }
  }
  bytes.set([53, 1, 1, OVERLOAD, value.length, ...value, 255], 240);
  return { bytes: bytes.slice(0, 240 + 3 + 2 + value.length + 1) };
}
