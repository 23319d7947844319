import { seededUnit } from '../helpers/prng.js';

/** A draw in [0, 1). */
export type Random = () => number;

/** Seeded so a failing run replays exactly; Math.random would make such failures irreproducible. */
export function seededRandom(seed: number): Random {
  return seededUnit(seed);
}

/** One independent stream per BMC, so traffic to one BMC never shifts another's sequence. */
export function deriveSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (index + 1), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a: stable short hashes for ETags. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
