// RFC 764/1350 netascii from a Unix file: LF goes out as CR LF, a bare CR as CR NUL. The mapping is
// reversible, so a netascii client on Unix writes back exactly the bytes on disk, binaries included.

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

/**
 * Streaming encoder. One input byte can become two output bytes, and a block boundary can fall
 * between them: the second byte is carried into the next call.
 */
export class NetasciiEncoder {
  private carry = -1;

  /** True when a byte of an expansion is still waiting for room. */
  get pending(): boolean {
    return this.carry !== -1;
  }

  /**
   * Encodes `input[inStart..inEnd)` into `out[outStart..outEnd)` until either runs out.
   * Returns how many input bytes were consumed and output bytes written.
   */
  encode(input: Buffer, inStart: number, inEnd: number, out: Buffer, outStart: number, outEnd: number): { consumed: number; written: number } {
    let i = inStart;
    let o = outStart;
    if (this.carry !== -1 && o < outEnd) {
      out[o++] = this.carry;
      this.carry = -1;
    }
    while (i < inEnd && o < outEnd && this.carry === -1) {
      const byte = input[i++] ?? 0;
      if (byte === LF || byte === CR) {
        out[o++] = CR;
        const second = byte === LF ? LF : NUL;
        if (o < outEnd) out[o++] = second;
        else this.carry = second;
      } else {
        out[o++] = byte;
      }
    }
    return { consumed: i - inStart, written: o - outStart };
  }
}

/** Whole-buffer form, for tests and small inputs. */
export function toNetascii(input: Buffer): Buffer {
  let extra = 0;
  for (const byte of input) if (byte === LF || byte === CR) extra++;
  const out = Buffer.alloc(input.length + extra);
  new NetasciiEncoder().encode(input, 0, input.length, out, 0, out.length);
  return out;
}

/** The inverse a receiving client applies; used by tests to check the round trip. */
export function fromNetascii(input: Buffer): Buffer {
  const out = Buffer.alloc(input.length);
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i] ?? 0;
    const next = input[i + 1];
    if (byte === CR && next === LF) {
      out[o++] = LF;
      i++;
    } else if (byte === CR && next === NUL) {
      out[o++] = CR;
      i++;
    } else {
      out[o++] = byte;
    }
  }
  return out.subarray(0, o);
}
