// The code/length/value walk shared by the options field, the overloaded sname/file fields and
// encapsulated sub-options (RFC 2132 §2: pad and end are single octets, every other code has a length).
// Every step advances by at least one byte, so the walk ends after at most `limit - start` steps.

export const PAD = 0;
export const END = 255;

export interface Tlv {
  code: number;
  /** Offset of the code octet. */
  at: number;
  valueStart: number;
  valueEnd: number;
}

export type TlvStop =
  /** An End octet at `offset`. */
  | { kind: 'end'; offset: number }
  /** The area ran out cleanly at `offset` (== limit) without an End octet. */
  | { kind: 'exhausted'; offset: number }
  /** The option whose code octet is at `offset` has no length octet or a length past `limit`. */
  | { kind: 'truncated'; offset: number };

/** Appends every option found in bytes [start, limit) to `out` and says how the walk stopped. */
export function scanTlvs(bytes: Uint8Array, start: number, limit: number, out: Tlv[]): TlvStop {
  let at = start;
  while (at < limit) {
    const code = bytes[at] ?? PAD;
    if (code === PAD) {
      at += 1;
      continue;
    }
    if (code === END) return { kind: 'end', offset: at };
    if (at + 1 >= limit) return { kind: 'truncated', offset: at };
    const valueStart = at + 2;
    const valueEnd = valueStart + (bytes[at + 1] ?? 0);
    if (valueEnd > limit) return { kind: 'truncated', offset: at };
    out.push({ code, at, valueStart, valueEnd });
    at = valueEnd;
  }
  return { kind: 'exhausted', offset: limit };
}

/** Joins the value pieces of each code in first-seen order (RFC 3396 §5), copying out of `bytes`. */
export function concatenate(bytes: Uint8Array, tlvs: readonly Tlv[]): Map<number, Uint8Array> {
  const remaining = new Map<number, number>();
  for (const t of tlvs) remaining.set(t.code, (remaining.get(t.code) ?? 0) + (t.valueEnd - t.valueStart));
  const values = new Map<number, Uint8Array>();
  for (const [code, length] of remaining) values.set(code, new Uint8Array(length));
  // Filling each value from its end while walking backwards needs no second counter per code.
  for (let i = tlvs.length - 1; i >= 0; i--) {
    const t = tlvs[i] as Tlv;
    const at = (remaining.get(t.code) ?? 0) - (t.valueEnd - t.valueStart);
    remaining.set(t.code, at);
    values.get(t.code)?.set(bytes.subarray(t.valueStart, t.valueEnd), at);
  }
  return values;
}
