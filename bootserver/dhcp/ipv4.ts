// IPv4 addresses as the dotted quads the typed packet carries.

export function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset] ?? 0}.${bytes[offset + 1] ?? 0}.${bytes[offset + 2] ?? 0}.${bytes[offset + 3] ?? 0}`;
}

// Leading zeros are refused: "010.0.0.1" is octal to some parsers and decimal to others.
const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** The four octets of a dotted quad; throws on anything else (encoder input comes from our own code). */
export function ipv4Bytes(dotted: string): Uint8Array {
  const match = DOTTED_QUAD.exec(dotted);
  const octets = match?.slice(1).map(Number);
  if (octets === undefined || octets.some((n) => n > 255)) {
    throw new Error(`not an IPv4 dotted quad: ${JSON.stringify(dotted)}`);
  }
  return Uint8Array.from(octets);
}
