/**
 * Decimal digits of safe non-negative integers written straight into bytes (no string): the
 * ring's `_received_at` suffix, the archive's `_nats_seq`, NATS protocol lengths.
 */

/** Two ASCII digits per value 0..99 (pairs: tens, units). */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)))
const POW10 = Array.from({ length: 17 }, (_, i) => 10 ** i)

export function isSafeUint(n: number): boolean {
  return n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n
}

/** Decimal digits of a safe non-negative integer. */
export function uintLength(n: number): number {
  let d = 1
  while (d < 16 && n >= POW10[d]) d++
  return d
}

/**
 * Writes the `len` (= uintLength(n)) decimal digits of the safe non-negative integer n at
 * u8[p], two at a time with int32 arithmetic (double `%` costs several times as much): the low
 * 8 digits of a big n first, then the rest (< 2^53 / 10^8 < 2^31).
 */
export function writeUintDigits(u8: Uint8Array, p: number, n: number, len: number): void {
  let q = p + len
  if (n >= 1e8) {
    const hi = Math.floor(n / 1e8)
    let v = (n - hi * 1e8) | 0
    for (let k = 0; k < 4; k++) {
      const t = (v / 100) | 0
      const r = (v - t * 100) << 1
      u8[--q] = DIGIT_PAIRS[r + 1]
      u8[--q] = DIGIT_PAIRS[r]
      v = t
    }
    n = hi
  }
  let v = n | 0
  while (q > p + 1) {
    const t = (v / 100) | 0
    const r = (v - t * 100) << 1
    u8[--q] = DIGIT_PAIRS[r + 1]
    u8[--q] = DIGIT_PAIRS[r]
    v = t
  }
  if (q > p) u8[p] = 48 + v
}

/** Writes the digits of a safe non-negative integer at u8[p]; returns the index after them. */
export function writeUint(u8: Uint8Array, p: number, n: number): number {
  const len = uintLength(n)
  writeUintDigits(u8, p, n, len)
  return p + len
}
