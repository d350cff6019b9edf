/** Seeded PRNG (sfc32) for the simulator: same seed, same sequence, on every machine. */
export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number
  constructor(seed: number | string) {
    const h = hash32(String(seed))
    this.a = h
    this.b = hash32(`${seed}:b`)
    this.c = hash32(`${seed}:c`)
    this.d = 1
    for (let i = 0; i < 12; i++) this.next()
  }
  /** A float in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  /** Exponential inter-arrival time for a Poisson process of `ratePerUnit`. */
  exp(ratePerUnit: number): number {
    return -Math.log(1 - this.next()) / ratePerUnit
  }
  /** A UUID-shaped id from this stream. */
  uuid(): string {
    let h = ''
    for (let i = 0; i < 4; i++) h += ((this.next() * 4294967296) >>> 0).toString(16).padStart(8, '0')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
  }
}

/** FNV-1a 32-bit. */
export function hash32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
