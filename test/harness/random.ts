/**
 * A small seeded PRNG (mulberry32) and the draws the fuzz suites make with it, so a failing run
 * replays exactly from its printed seed.
 */
export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws from one stream: integers below a bound, coin flips, picks. */
export class Draws {
  constructor(readonly r: Rng) {}
  int(max: number): number {
    return Math.floor(this.r() * max);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}
