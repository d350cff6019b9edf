/**
 * One market's order book in the simulator: YES bids and NO bids (Kalshi books are bids only),
 * quantity per cent price 1..99. Invariants: quantities never go negative; YES bids stay below
 * `mid` and NO bids below `100 - mid`, so the book never crosses (best YES bid + best NO bid < 100).
 *
 * The spread is 2–3¢ most of the time. Every few minutes of sim time per market (`pullLiquidity`,
 * realistic mode only) the quotes near the top are pulled for a few seconds, as a market maker
 * does before news: the spread widens to 8–18¢, then the random deltas fill the top again.
 */
import type { Prng } from './prng.ts'

/** Liquidity pulls of a market: mean sim time between them (Poisson), cents pulled per side, how long (sim ms). */
export const LIQUIDITY_PULL = { MEAN_INTERVAL_MS: 300_000, DEPTH: [3, 8], DURATION_MS: [2_000, 8_000] } as const

export type Side = 'yes' | 'no'

export interface BookDelta {
  side: Side
  price: number
  delta: number
}

export class Book {
  readonly yes = new Int32Array(100)
  readonly no = new Int32Array(100)
  /** Decides the liquidity pulls (its own stream: the engine's draws are not shifted by them); null: never. */
  private pulls: Prng | null = null
  /** While the sim clock is before `until`, deltas stay `depth` cents further from the mid. */
  private pulled = { until: 0, depth: 0 }
  /** When the next pull is due (sim ms); null until the first call draws it. */
  private nextPullAt: number | null = null
  constructor(readonly mid: number) {}

  static seeded(rng: Prng, pulls: Prng | null = null): Book {
    const mid = rng.range(15, 85)
    const b = new Book(mid)
    for (let p = Math.max(1, mid - 8); p < mid; p++) b.yes[p] = rng.range(1, 500)
    for (let p = Math.max(1, 100 - mid - 8); p < 100 - mid; p++) b.no[p] = rng.range(1, 500)
    b.pulls = pulls
    return b
  }

  bestYesBid(): number {
    for (let p = 99; p > 0; p--) if (this.yes[p] > 0) return p
    return 0
  }
  bestNoBid(): number {
    for (let p = 99; p > 0; p--) if (this.no[p] > 0) return p
    return 0
  }
  /** Levels of one side, best-last as Kalshi sends them (ascending price). */
  levels(side: Side): [number, number][] {
    const arr = side === 'yes' ? this.yes : this.no
    const out: [number, number][] = []
    for (let p = 1; p < 100; p++) if (arr[p] > 0) out.push([p, arr[p]])
    return out
  }

  /**
   * A random valid change, applied to the book. While liquidity is pulled (`nowMs` before the
   * pull's end), it stays below the pulled levels.
   */
  randomDelta(rng: Prng, nowMs = 0): BookDelta {
    const side: Side = rng.chance(0.5) ? 'yes' : 'no'
    const cap = (side === 'yes' ? this.mid : 100 - this.mid) - (nowMs < this.pulled.until ? this.pulled.depth : 0)
    const lo = Math.max(1, cap - 10)
    const price = rng.range(lo, cap - 1)
    const arr = side === 'yes' ? this.yes : this.no
    const q = arr[price]
    const delta = q > 0 && rng.chance(0.5) ? -rng.range(1, q) : rng.range(1, 200)
    arr[price] = q + delta
    return { side, price, delta }
  }

  /**
   * Now and then (LIQUIDITY_PULL: every few minutes of sim time, from the book's own draws; never
   * for a book seeded without them): removes every level within `depth` cents of the top on both
   * sides, so the spread widens by 2 × depth, and keeps the random deltas below them until the
   * pull ends. Returns the deltas that remove the levels, already applied (none: no pull now).
   */
  pullLiquidity(nowMs: number): BookDelta[] {
    const rng = this.pulls
    if (rng === null) return []
    this.nextPullAt ??= nowMs + rng.exp(1 / LIQUIDITY_PULL.MEAN_INTERVAL_MS)
    if (nowMs < this.nextPullAt) return []
    const depth = rng.range(...LIQUIDITY_PULL.DEPTH)
    this.pulled = { until: nowMs + rng.range(...LIQUIDITY_PULL.DURATION_MS), depth }
    this.nextPullAt = this.pulled.until + rng.exp(1 / LIQUIDITY_PULL.MEAN_INTERVAL_MS)
    const out: BookDelta[] = []
    for (const side of ['yes', 'no'] as const) {
      const arr = side === 'yes' ? this.yes : this.no
      const cap = side === 'yes' ? this.mid : 100 - this.mid
      for (let p = Math.max(1, cap - depth); p < cap; p++) {
        if (arr[p] === 0) continue
        out.push({ side, price: p, delta: -arr[p] })
        arr[p] = 0
      }
    }
    return out
  }

  apply(d: BookDelta): void {
    const arr = d.side === 'yes' ? this.yes : this.no
    arr[d.price] += d.delta
  }

  clone(): Book {
    const b = new Book(this.mid)
    b.yes.set(this.yes)
    b.no.set(this.no)
    return b
  }
}
