// Byte layout of a BOOTP/DHCP message (RFC 951 §3, RFC 2131 §2). Shared by the decoder and the encoder
// so the two cannot disagree about where a field lives.

export const OFFSET = {
  op: 0,
  htype: 1,
  hlen: 2,
  hops: 3,
  xid: 4,
  secs: 8,
  flags: 10,
  ciaddr: 12,
  yiaddr: 16,
  siaddr: 20,
  giaddr: 24,
  chaddr: 28,
  sname: 44,
  file: 108,
  cookie: 236,
  options: 240,
} as const;

export const CHADDR_LENGTH = 16;
export const SNAME_LENGTH = 64;
export const FILE_LENGTH = 128;

/** RFC 2131 §3: 99.130.83.99 in the first four octets of the options field. */
export const MAGIC_COOKIE = [99, 130, 83, 99] as const;

/**
 * RFC 951's fixed 300-byte BOOTP message (236-byte header + 64-byte vend field); RFC 1542 §2.1 lets
 * relays and servers drop anything shorter, and some PXE ROMs do, so every message we write is at least this.
 */
export const BOOTP_MIN_LENGTH = 300;

/** One octet of length per instance: longer values are split into several instances (RFC 3396). */
export const MAX_OPTION_INSTANCE = 255;
