// Fuzzes the TFTP codec with BESKAR7_FUZZ_COUNT datagrams (default 100,000; CI's full run uses
// 1,000,000) from a seeded PRNG (BESKAR7_FUZZ_SEED, printed) so any failure reproduces. Every datagram
// must decode without throwing and within a per-packet time bound; generated valid packets must decode
// to what the generator meant; whatever decodes must re-encode to the same packet. The live part fires
// random datagrams at a running server while a download completes byte-identical.

import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { decode, encodeAck, encodeData, encodeError, encodeOack, encodeRequest, type DecodeErrorReason, type TftpPacket } from '../../../bootserver/tftp/packet.js';
import { fixture, startServer, waitFor } from '../../process/tftp/helpers.js';
import { RawClient, rawDownload } from '../../process/tftp/raw-client.js';
import { mulberry32 } from '../../helpers/prng.js';

const COUNT = Number(process.env.BESKAR7_FUZZ_COUNT ?? 100_000);
const SEED = Number(process.env.BESKAR7_FUZZ_SEED ?? 20261121);
/** Decoding is linear in the datagram (at most 64 KiB): 5 ms would mean something walks far too much. */
const MAX_DECODE_MS = 5;
const REASONS: readonly DecodeErrorReason[] = ['too-short', 'unknown-opcode', 'unterminated-string', 'bad-filename', 'missing-mode', 'bad-options'];
const KINDS = ['random', 'valid', 'truncated', 'mutated', 'opcode-prefixed', 'nul-heavy', 'huge'] as const;
type Kind = (typeof KINDS)[number];

interface Rng {
  int(n: number): number;
  chance(p: number): boolean;
  bytes(n: number): Buffer;
}

/** Deterministic from a 32-bit seed (test/helpers/prng.ts). */
function rng(seed: number): Rng {
  const next32 = mulberry32(seed);
  return {
    int: (n) => Math.floor((next32() / 4294967296) * n),
    chance: (p) => next32() / 4294967296 < p,
    bytes: (n) => {
      const out = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) {
        const word = next32();
        out[i] = word;
        if (i + 1 < n) out[i + 1] = word >>> 8;
        if (i + 2 < n) out[i + 2] = word >>> 16;
        if (i + 3 < n) out[i + 3] = word >>> 24;
      }
      return out;
    },
  };
}

const OPTION_NAMES = ['blksize', 'tsize', 'timeout', 'windowsize', 'multicast', 'rollover', 'BLKSIZE', 'x'];
const MODES = ['octet', 'netascii', 'OCTET', 'mail', 'binary'];

/** Printable text without NUL, so the generator knows exactly what decode must return. */
function text(r: Rng, max: number): string {
  const length = r.int(max + 1);
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(0x20 + r.int(0x5f));
  return out;
}

/** A well-formed packet and the value decode must produce for it, built by hand (not by the encoder). */
function validPacket(r: Rng): { raw: Buffer; expected: TftpPacket } {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const cstr = (s: string) => Buffer.from(`${s}\0`, 'latin1');
  switch (r.int(5)) {
    case 0: {
      const op = r.chance(0.8) ? 'rrq' : 'wrq';
      const filename = text(r, 40);
      const mode = MODES[r.int(MODES.length)] ?? 'octet';
      const options: [string, string][] = Array.from({ length: r.int(5) }, () => [OPTION_NAMES[r.int(OPTION_NAMES.length)] ?? 'x', text(r, 6)]);
      const raw = Buffer.concat([u16(op === 'rrq' ? 1 : 2), cstr(filename), cstr(mode), ...options.flatMap(([n, v]) => [cstr(n), cstr(v)])]);
      return { raw, expected: { op, filename, mode: mode.toLowerCase(), options: options.map(([n, v]) => [n.toLowerCase(), v]) } };
    }
    case 1: {
      const block = r.int(65536);
      const data = r.bytes(r.chance(0.1) ? 0 : r.int(1469));
      return { raw: Buffer.concat([u16(3), u16(block), data]), expected: { op: 'data', block, data } };
    }
    case 2: {
      const block = r.int(65536);
      return { raw: Buffer.concat([u16(4), u16(block)]), expected: { op: 'ack', block } };
    }
    case 3: {
      const code = r.int(9);
      const message = text(r, 60);
      return { raw: Buffer.concat([u16(5), u16(code), cstr(message)]), expected: { op: 'error', code, message } };
    }
    default: {
      const options: [string, string][] = Array.from({ length: 1 + r.int(4) }, () => [OPTION_NAMES[r.int(OPTION_NAMES.length)]?.toLowerCase() ?? 'x', String(r.int(70000))]);
      const raw = Buffer.concat([u16(6), ...options.flatMap(([n, v]) => [cstr(n), cstr(v)])]);
      return { raw, expected: { op: 'oack', options } };
    }
  }
}

function mutate(r: Rng, raw: Buffer): Buffer {
  let out = Buffer.from(raw);
  const edits = 1 + r.int(4);
  for (let e = 0; e < edits; e++) {
    const at = out.length === 0 ? 0 : r.int(out.length);
    switch (r.int(4)) {
      case 0:
        if (out.length > 0) out[at] = r.int(256);
        break;
      case 1:
        if (out.length > 0) out[at] = 0;
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(8)), out.subarray(at)]);
        break;
      default:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + r.int(4))]);
    }
  }
  return out;
}

function generate(r: Rng, kind: Kind): { raw: Buffer; expected?: TftpPacket } {
  switch (kind) {
    case 'random':
      return { raw: r.bytes(r.int(r.chance(0.5) ? 8 : 700)) };
    case 'valid':
      return validPacket(r);
    case 'truncated': {
      const { raw } = validPacket(r);
      return { raw: raw.subarray(0, r.int(raw.length)) };
    }
    case 'mutated':
      return { raw: mutate(r, validPacket(r).raw) };
    case 'opcode-prefixed':
      return { raw: Buffer.concat([Buffer.from([0, 1 + r.int(7)]), r.bytes(r.int(600))]) };
    case 'nul-heavy': {
      // Many tiny strings: the shape that would expose quadratic option parsing.
      const body = r.bytes(r.int(2000));
      for (let i = 0; i < body.length; i++) if (r.chance(0.7)) body[i] = 0;
      return { raw: Buffer.concat([Buffer.from([0, r.chance(0.5) ? 1 : 6]), body]) };
    }
    case 'huge': {
      const raw = r.bytes(60_000 + r.int(5508));
      raw[0] = 0;
      raw[1] = 1 + r.int(6);
      return { raw };
    }
  }
}

/** Field-by-field equality, far cheaper than expect().toEqual in a loop of a million. */
function same(a: TftpPacket, b: TftpPacket): boolean {
  const flat = (p: TftpPacket): string =>
    JSON.stringify(p, (_key, value: unknown) => (Buffer.isBuffer(value) ? value.toString('hex') : value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value));
  return flat(a) === flat(b);
}

/** Re-encodes a decoded packet; decoding that must give the same packet back. */
function reencode(packet: TftpPacket): Buffer {
  switch (packet.op) {
    case 'rrq':
    case 'wrq':
      return encodeRequest(packet.op, packet.filename, packet.mode, packet.options);
    case 'data':
      return encodeData(packet.block, packet.data);
    case 'ack':
      return encodeAck(packet.block);
    case 'error':
      return encodeError(packet.code, packet.message);
    case 'oack':
      return encodeOack(packet.options);
  }
}

describe('TFTP codec fuzz', () => {
  it(`decodes ${COUNT.toLocaleString('en-US')} hostile datagrams without throwing (seed ${SEED})`, { timeout: Math.max(60_000, COUNT / 5) }, () => {
    const r = rng(SEED);
    const reasons = new Map<string, number>();
    let maxMs = 0;
    let checkedValid = 0;
    let reencoded = 0;
    for (let index = 0; index < COUNT; index++) {
      const kind: Kind = index % 1000 === 999 ? 'huge' : (KINDS[r.int(KINDS.length - 1)] ?? 'random');
      const { raw, expected } = generate(r, kind);
      const where = () => `seed ${SEED}, datagram ${index} (${kind}, ${raw.length} bytes): ${raw.subarray(0, 64).toString('hex')}`;
      const started = performance.now();
      let result: ReturnType<typeof decode>;
      try {
        result = decode(raw);
      } catch (error) {
        throw new Error(`decode threw ${String(error)} on ${where()}`, { cause: error });
      }
      let elapsed = performance.now() - started;
      if (elapsed > MAX_DECODE_MS) {
        // A GC pause can stall any one call; a real slow path is slow every time.
        for (let again = 0; again < 5 && elapsed > MAX_DECODE_MS; again++) {
          const t = performance.now();
          decode(raw);
          elapsed = Math.min(elapsed, performance.now() - t);
        }
        if (elapsed > MAX_DECODE_MS) throw new Error(`decoding took ${elapsed.toFixed(2)} ms on ${where()}`);
      }
      maxMs = Math.max(maxMs, elapsed);
      if (!result.ok) {
        if (!REASONS.includes(result.error.reason)) throw new Error(`unknown reason ${result.error.reason} on ${where()}`);
        reasons.set(result.error.reason, (reasons.get(result.error.reason) ?? 0) + 1);
        continue;
      }
      reasons.set(`ok:${result.packet.op}`, (reasons.get(`ok:${result.packet.op}`) ?? 0) + 1);
      if (expected) {
        if (!same(result.packet, expected)) throw new Error(`decoded ${JSON.stringify(result.packet)}, generator meant ${JSON.stringify(expected)} on ${where()}`);
        checkedValid++;
      }
      const packet = result.packet;
      if (packet.op === 'rrq' || packet.op === 'wrq') {
        if (packet.filename.includes('\0') || packet.mode.length === 0) throw new Error(`request fields not clean on ${where()}`);
      }
      if ('options' in packet && packet.options.some(([name]) => name.length === 0 || name !== name.toLowerCase())) throw new Error(`option names not normalised on ${where()}`);
      // ERROR messages are rewritten to printable ASCII by the encoder, so only their code must survive.
      const again = decode(reencode(packet));
      const survived = again.ok && (packet.op === 'error' ? again.packet.op === 'error' && again.packet.code === packet.code : same(again.packet, packet));
      if (!survived) throw new Error(`re-encoding changed the packet: ${JSON.stringify(again)} on ${where()}`);
      reencoded++;
    }
    const summary = [...reasons.entries()].sort().map(([key, count]) => `${key}=${count}`).join(' ');
    process.stdout.write(`tftp fuzz: seed ${SEED}, ${COUNT} datagrams, max decode ${maxMs.toFixed(3)} ms, ${checkedValid} valid checked, ${reencoded} re-encoded; ${summary}\n`);
    // The campaign must reach both sides: every refusal reason that random input can produce, and every packet type.
    for (const reason of REASONS) expect(reasons.get(reason) ?? 0, reason).toBeGreaterThan(0);
    for (const op of ['rrq', 'wrq', 'data', 'ack', 'error', 'oack']) expect(reasons.get(`ok:${op}`) ?? 0, op).toBeGreaterThan(0);
  });
});

describe('live server under random datagrams', () => {
  const fx = fixture('beskar7-tftp-fuzz-');
  afterAll(() => fx.cleanup());

  it('keeps serving: a 1 MiB download completes byte-identical while 4,000 random datagrams hit the listen and transfer ports', { timeout: 60_000 }, async () => {
    const file = fx.add('payload.bin', randomBytes(1024 * 1024));
    const srv = await startServer(fx.root);
    const noise = await RawClient.open();
    try {
      const r = rng(SEED ^ 0x5eed);
      const started = srv.events.nextStart('payload.bin');
      const download = rawDownload(srv.port, 'payload.bin', [['blksize', '1468'], ['windowsize', '8']]);
      const { port: tid } = await started;
      for (let i = 0; i < 4000; i++) {
        const kind: Kind = i % 500 === 499 ? 'huge' : (KINDS[r.int(KINDS.length - 1)] ?? 'random');
        await noise.send(generate(r, kind).raw, i % 4 === 3 ? tid : srv.port);
        if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const result = await download;
      expect(result.data.equals(file)).toBe(true);
      // Still answering new requests afterwards.
      expect((await rawDownload(srv.port, 'payload.bin', [['blksize', '1468'], ['windowsize', '64']])).data.equals(file)).toBe(true);
      // The server sees the last ACK a moment after the client sent it.
      await waitFor(() => srv.events.ends.length >= 2);
      expect(srv.events.ends.filter((e) => e.file === 'payload.bin' && e.ok)).toHaveLength(2);
    } finally {
      await noise.close();
      await srv.stop();
    }
  });
});
