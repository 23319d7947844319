// Encapsulated options (option 43 vendor-specific, option 175 iPXE): the same code/length/value format
// as the options field, nested inside one option's value (RFC 2132 §8.4, PXE 2.1 §2.3).

import { MAX_OPTION_INSTANCE } from './layout.js';
import { END, concatenate, scanTlvs, type Tlv } from './tlv.js';

/**
 * Sub-options of an encapsulating option, repeated codes concatenated; null when a sub-option's length
 * runs past the value. A missing End is accepted (the value's length bounds the walk) and bytes after End
 * are ignored.
 */
export function decodeSubOptions(value: Uint8Array): Map<number, Uint8Array> | null {
  const tlvs: Tlv[] = [];
  const stop = scanTlvs(value, 0, value.length, tlvs);
  return stop.kind === 'truncated' ? null : concatenate(value, tlvs);
}

/** Sub-options in map order followed by End; a sub-option cannot be split, so values over 255 bytes throw. */
export function encodeSubOptions(subOptions: ReadonlyMap<number, Uint8Array>): Uint8Array {
  let length = 1;
  for (const [code, value] of subOptions) {
    if (!Number.isInteger(code) || code < 1 || code > 254) throw new Error(`sub-option code ${code} cannot carry a value`);
    if (value.length > MAX_OPTION_INSTANCE) throw new Error(`sub-option ${code} is ${value.length} bytes, at most 255 fit`);
    length += 2 + value.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const [code, value] of subOptions) {
    out[at] = code;
    out[at + 1] = value.length;
    out.set(value, at + 2);
    at += 2 + value.length;
  }
  out[at] = END;
  return out;
}
