// DHCP text is octets, not UTF-8: latin1 maps each byte to one code point and back, so any byte
// sequence decodes without loss or exception, and anything we decoded re-encodes to the same bytes.

/** Latin1 text of bytes [start, end). */
export function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const from = Math.max(0, Math.min(start, bytes.length));
  const to = Math.max(from, Math.min(end, bytes.length));
  if (to === from) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');
}

/** Latin1 text of a fixed field up to its first NUL (or the whole field when there is none). */
export function nulTerminated(bytes: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && bytes[end] !== 0) end++;
  return latin1(bytes, start, end);
}

/** Latin1 bytes of text; throws when a character has no single-byte form. */
export function latin1Bytes(text: string, what: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new Error(`${what} has a character outside latin1 at index ${i}: ${JSON.stringify(text)}`);
    bytes[i] = code;
  }
  return bytes;
}
