import type { IncomingHttpHeaders } from 'node:http';
import { fnv1a } from './prng.js';
import type { BmcFaults } from './types.js';

/** Opaque ETag value of one resource version; changes only when the resource is written, not when power lags. */
export function etagToken(bmc: number, path: string, generation: number): string {
  return `${fnv1a(`${bmc}|${path.toLowerCase()}`)}${generation.toString(16).padStart(4, '0')}`;
}

/** Whether the client accepts gzip: absent or naming gzip/*. mod_deflate only tags what it may compress. */
function mayCompress(headers: IncomingHttpHeaders): boolean {
  const accept = headers['accept-encoding'];
  if (accept === undefined) return true;
  return accept.split(',').some((part) => {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

export function etagHeader(token: string, faults: BmcFaults, headers: IncomingHttpHeaders): string {
  switch (faults.etagStyle) {
    case 'strong':
      return `"${token}"`;
    case 'weak':
      return `W/"${token}"`;
    case 'gzip':
      return mayCompress(headers) ? `"${token}-gzip"` : `"${token}"`;
  }
}

export function bodyEtag(token: string, faults: BmcFaults): string {
  return faults.etagStyle === 'weak' ? `W/"${token}"` : `"${token}"`;
}

export type IfMatchVerdict = 'ok' | 'missing' | 'mismatch';

/**
 * Judges If-Match the way the configured BMC would. The `-gzip` tag is never accepted back (the iDRAC
 * bug), so a client must strip it or ask for identity.
 */
export function checkIfMatch(header: string | undefined, token: string, faults: BmcFaults): IfMatchVerdict {
  if (header === undefined || header.trim() === '') return faults.requireIfMatch ? 'missing' : 'ok';
  if (faults.rejectAllIfMatch) return 'mismatch';
  for (const raw of header.split(',')) {
    const item = raw.trim();
    if (item === '*') return 'ok';
    const weak = /^W\//i.test(item);
    if (weak && faults.rejectWeakIfMatch) continue;
    const value = item.replace(/^W\//i, '').replace(/^"(.*)"$/, '$1');
    if (value === token) return 'ok';
  }
  return 'mismatch';
}
