/**
 * mulberry32: a tiny seeded 32-bit generator. Fuzzers and fault dice use it so a failing run
 * replays exactly from its printed seed, which Math.random cannot.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Draws in [0, 1) from a seed. */
export function seededUnit(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}
