/**
 * Fixture for tests and benches only (not exported from index.ts).
 * Seeded PRNG for tests and benches (mulberry32): same seed, same sequence. Tests print the
 * seed on failure and take it from SSMD_SEED, defaulting to a fixed value.
 */
export class Prng {
  private state: number
  constructor(readonly seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]
  }

  chance(p: number): boolean {
    return this.next() < p
  }
}

/** The seed for a test run: SSMD_SEED or a fixed default. */
export function testSeed(fallback = 20260123): number {
  const env = process.env.SSMD_SEED
  return env ? Number(env) >>> 0 : fallback
}
