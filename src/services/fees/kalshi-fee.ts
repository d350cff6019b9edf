import { UsageError } from '../../pipeline/core/errors.ts'

/** Kalshi's series fee structures (the `fee_type` enum of series_fees). */
export const FEE_TYPES = ['quadratic', 'quadratic_with_maker_fees', 'flat'] as const
export type FeeType = (typeof FEE_TYPES)[number]

export type FeeSide = 'taker' | 'maker'

/** Fee rates of Kalshi's General Trading Fees table, in dollars per contract × P × (1 − P). */
export const TAKER_RATE = 0.07
export const MAKER_RATE = 0.0175

/**
 * `flat` (Kalshi's "Specific Trading Fees" table) is not published in a machine-readable form.
 * ASSUMPTION: a price-independent fee per contract, equal to the quadratic fee at its peak
 * (P = 0.50): taker 0.07 × 0.25 = $0.0175 per contract, maker 0.0175 × 0.25 = $0.004375, each
 * times the series multiplier and rounded like the quadratic fee. Override with `flatPerContract`.
 */
export const FLAT_PER_CONTRACT: Record<FeeSide, number> = { taker: TAKER_RATE / 4, maker: MAKER_RATE / 4 }

export interface KalshiFeeInput {
  /** Contract price in dollars, 0 to 1, at most 4 decimals ($0.0001 ticks). */
  price: number | string
  /** Number of contracts (Kalshi allows 0.01 granularity). */
  contracts: number | string
  side: FeeSide
  /** @default 'quadratic' */
  feeType?: FeeType
  /** The series' fee_multiplier (NUMERIC(6,4)). @default 1 */
  multiplier?: number | string
  /** Round up to the next cent (what a non-direct member pays) or centicent (Kalshi's trade fee). @default 'cent' */
  rounding?: 'cent' | 'centicent'
  /** Dollars per contract for `flat` (see FLAT_PER_CONTRACT). */
  flatPerContract?: number | string
}

// Every quantity becomes an integer count of its smallest unit, so the arithmetic is exact:
// rates, prices and multipliers in 1e-4 (6 decimals for a flat rate), contracts in 1e-2.
const E4 = 10_000n

/**
 * Kalshi's trading fee in dollars for one fill:
 * ceil(rate × C × P × (1 − P) × multiplier) to the cent, rate 0.07 for takers and 0.0175 for makers.
 * Makers pay only under `quadratic_with_maker_fees` (and `flat`, see FLAT_PER_CONTRACT).
 * Example: 100 contracts at $0.50, taker → 0.07 × 100 × 0.25 = $1.75.
 */
export function kalshiFee(input: KalshiFeeInput): number {
  const feeType = input.feeType ?? 'quadratic'
  if (!FEE_TYPES.includes(feeType)) {
    throw new UsageError(`unknown fee type '${feeType}' (expected ${FEE_TYPES.join(', ')})`, 'FEE_INPUT')
  }
  if (input.side !== 'taker' && input.side !== 'maker') {
    throw new UsageError(`side must be taker or maker (got '${input.side}')`, 'FEE_INPUT')
  }
  const p = units(input.price, 4, 'price')
  if (p > E4) throw new UsageError(`price must be between 0 and 1 dollars (got ${input.price})`, 'FEE_INPUT')
  const c = units(input.contracts, 2, 'contracts')
  const m = units(input.multiplier ?? 1, 4, 'multiplier')
  const unit = input.rounding === 'centicent' ? 10_000n : 100n // fee units per dollar

  let numerator: bigint
  let denominator: bigint
  if (feeType === 'flat') {
    const flat = units(input.flatPerContract ?? FLAT_PER_CONTRACT[input.side], 6, 'flatPerContract')
    numerator = flat * c * m // 1e-6 × 1e-2 × 1e-4 dollars
    denominator = 1_000_000_000_000n
  } else {
    if (input.side === 'maker' && feeType !== 'quadratic_with_maker_fees') return 0
    const rate = input.side === 'taker' ? 700n : 175n // 1e-4 dollars
    numerator = rate * c * p * (E4 - p) * m // 1e-4 × 1e-2 × 1e-4 × 1e-4 × 1e-4 dollars
    denominator = 1_000_000_000_000_000_000n
  }
  const fee = ceilDiv(numerator * unit, denominator)
  return Number(fee) / Number(unit)
}

/** `value` as an integer number of 10^-scale units; more precision than that is an error. */
function units(value: number | string, scale: number, what: string): bigint {
  const n = typeof value === 'string' ? Number(value.trim()) : value
  if (!Number.isFinite(n) || n < 0 || (typeof value === 'string' && value.trim() === '')) {
    throw new UsageError(`${what} must be a non-negative number (got '${value}')`, 'FEE_INPUT')
  }
  const scaled = n * 10 ** scale
  const rounded = Math.round(scaled)
  // Tolerates binary noise (0.0175 × 1e4 = 175.00000000000003), not real extra digits.
  if (Math.abs(scaled - rounded) > 1e-6 * Math.max(1, Math.abs(scaled))) {
    throw new UsageError(`${what} has more than ${scale} decimals (got ${value})`, 'FEE_INPUT')
  }
  return BigInt(rounded)
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b
}
