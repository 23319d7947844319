// RFC 2347 option negotiation for read requests: blksize (RFC 2348), timeout and tsize (RFC 2349),
// windowsize (RFC 7440). An option we cannot honour is left out of the OACK, which RFC 2347 allows;
// the client then runs with the RFC 1350 default for it.

import type { TftpOptionList } from './packet.js';

export const DEFAULT_BLOCK_SIZE = 512;
export const MIN_BLOCK_SIZE = 8;
export const MAX_BLOCK_SIZE = 65464;
export const MIN_TIMEOUT_S = 1;
export const MAX_TIMEOUT_S = 255;
export const MAX_WINDOW_SIZE = 65535;

export interface NegotiationLimits {
  /** Largest blksize the server grants (8..65464); larger requests are answered with this. */
  maxBlockSize: number;
  /** Largest windowsize the server grants (1..65535). */
  maxWindowSize: number;
}

export interface Negotiated {
  blockSize: number;
  windowSize: number;
  /** Retransmission timeout the client asked for, when it asked for a valid one. */
  timeoutMs?: number;
  /** What goes into the OACK; empty means no OACK, the transfer starts with DATA block 1. */
  oack: [string, string][];
}

// Digits only and at most 10 of them: "+5", "0x10", "1e3" or a 400-digit number are not values we parse.
const DECIMAL = /^[0-9]{1,10}$/;

function integer(value: string): number | undefined {
  return DECIMAL.test(value) ? Number(value) : undefined;
}

/**
 * Decides the options of one read request. `fileSize` is the size the tsize option reports, or
 * undefined when it cannot be stated (netascii, whose wire size differs from the file's).
 * The first occurrence of a repeated option wins.
 */
export function negotiate(requested: TftpOptionList, limits: NegotiationLimits, fileSize: number | undefined): Negotiated {
  const result: Negotiated = { blockSize: DEFAULT_BLOCK_SIZE, windowSize: 1, oack: [] };
  const seen = new Set<string>();
  for (const [name, raw] of requested) {
    if (seen.has(name)) continue;
    seen.add(name);
    // In an RRQ the tsize value carries nothing (RFC 2349 says "0"; atftp sends "enable"): any value asks for the size.
    if (name === 'tsize') {
      if (fileSize !== undefined) result.oack.push(['tsize', String(fileSize)]);
      continue;
    }
    const value = integer(raw);
    if (value === undefined) continue;
    switch (name) {
      case 'blksize':
        // Below 8 is invalid (RFC 2348); above our limit the server may answer smaller, and the client takes it.
        if (value < MIN_BLOCK_SIZE) break;
        result.blockSize = Math.min(value, limits.maxBlockSize, MAX_BLOCK_SIZE);
        result.oack.push(['blksize', String(result.blockSize)]);
        break;
      case 'timeout':
        // RFC 2349 gives the server no counter-offer for timeout: out of range means not acknowledged.
        if (value < MIN_TIMEOUT_S || value > MAX_TIMEOUT_S) break;
        result.timeoutMs = value * 1000;
        result.oack.push(['timeout', String(value)]);
        break;
      case 'windowsize':
        if (value < 1) break;
        result.windowSize = Math.min(value, limits.maxWindowSize, MAX_WINDOW_SIZE);
        result.oack.push(['windowsize', String(result.windowSize)]);
        break;
      default:
        break;
    }
  }
  return result;
}

/** Throws when configured limits are outside what the RFCs allow, so a bad config fails at start-up. */
export function checkLimits(limits: NegotiationLimits): void {
  const { maxBlockSize, maxWindowSize } = limits;
  if (!Number.isInteger(maxBlockSize) || maxBlockSize < MIN_BLOCK_SIZE || maxBlockSize > MAX_BLOCK_SIZE) {
    throw new RangeError(`maxBlockSize must be an integer from ${MIN_BLOCK_SIZE} to ${MAX_BLOCK_SIZE}, got ${maxBlockSize}`);
  }
  if (!Number.isInteger(maxWindowSize) || maxWindowSize < 1 || maxWindowSize > MAX_WINDOW_SIZE) {
    throw new RangeError(`maxWindowSize must be an integer from 1 to ${MAX_WINDOW_SIZE}, got ${maxWindowSize}`);
  }
}
