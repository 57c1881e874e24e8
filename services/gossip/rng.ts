/**
 * @module rng
 * Randomness passed in (docs/architecture.md §11.2): the state machine and the simulation draw from an `Rng`, so a
 * seed reproduces a run exactly. mulberry32: tiny, fast, good enough for peer choice and loss.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

export const mathRng: Rng = { next: () => Math.random() };

/** An integer in [0, n). */
export function pick(rng: Rng, n: number): number {
  return Math.min(n - 1, Math.floor(rng.next() * n));
}
