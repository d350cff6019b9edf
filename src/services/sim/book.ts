/**
 * One market's order book in the simulator: YES bids and NO bids (Kalshi books are bids only),
 * quantity per cent price 1..99. Invariants: quantities never go negative; YES bids stay below
 * `mid` and NO bids below `100 - mid`, so the book never crosses (best YES bid + best NO bid < 100).
 */
import type { Prng } from './prng.ts'

export type Side = 'yes' | 'no'

export interface BookDelta {
  side: Side
  price: number
  delta: number
}

export class Book {
  readonly yes = new Int32Array(100)
  readonly no = new Int32Array(100)
  constructor(readonly mid: number) {}

  static seeded(rng: Prng): Book {
    const mid = rng.range(15, 85)
    const b = new Book(mid)
    for (let p = Math.max(1, mid - 8); p < mid; p++) b.yes[p] = rng.range(1, 500)
    for (let p = Math.max(1, 100 - mid - 8); p < 100 - mid; p++) b.no[p] = rng.range(1, 500)
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

  /** A random valid change, applied to the book. */
  randomDelta(rng: Prng): BookDelta {
    const side: Side = rng.chance(0.5) ? 'yes' : 'no'
    const cap = side === 'yes' ? this.mid : 100 - this.mid
    const lo = Math.max(1, cap - 10)
    const price = rng.range(lo, cap - 1)
    const arr = side === 'yes' ? this.yes : this.no
    const q = arr[price]
    const delta = q > 0 && rng.chance(0.5) ? -rng.range(1, q) : rng.range(1, 200)
    arr[price] = q + delta
    return { side, price, delta }
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
