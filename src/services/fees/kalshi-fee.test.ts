import { describe, expect, test } from 'bun:test'
import { SsmdError } from '../../pipeline/core/errors.ts'
import { kalshiFee } from './kalshi-fee.ts'

describe('kalshiFee', () => {
  test('charges a taker 0.07 × C × P × (1 − P): 100 contracts at $0.50 cost exactly $1.75', () => {
    expect(kalshiFee({ price: 0.5, contracts: 100, side: 'taker' })).toBe(1.75)
  })

  test('rounds up to the next cent: 1 contract at $0.50 costs $0.02 (0.0175 rounded up)', () => {
    expect(kalshiFee({ price: 0.5, contracts: 1, side: 'taker' })).toBe(0.02)
  })

  test('matches the published fee table at common prices', () => {
    const table = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95].map((price) => [
      price,
      kalshiFee({ price, contracts: 1, side: 'taker' }),
      kalshiFee({ price, contracts: 100, side: 'taker' }),
      kalshiFee({ price, contracts: 100, side: 'maker', feeType: 'quadratic_with_maker_fees' }),
    ])
    expect(table).toEqual([
      [0.05, 0.01, 0.34, 0.09],
      [0.1, 0.01, 0.63, 0.16],
      [0.25, 0.02, 1.32, 0.33],
      [0.5, 0.02, 1.75, 0.44],
      [0.75, 0.02, 1.32, 0.33],
      [0.9, 0.01, 0.63, 0.16],
      [0.95, 0.01, 0.34, 0.09],
    ])
  })

  test('charges makers 0.0175 × C × P × (1 − P) only under quadratic_with_maker_fees', () => {
    expect([
      kalshiFee({ price: 0.5, contracts: 100, side: 'maker', feeType: 'quadratic_with_maker_fees' }),
      kalshiFee({ price: 0.5, contracts: 100, side: 'maker', feeType: 'quadratic' }),
      kalshiFee({ price: 0.5, contracts: 100, side: 'maker' }),
    ]).toEqual([0.44, 0, 0])
  })

  test('applies the series multiplier before rounding: 0.5 turns $1.75 into $0.875 → $0.88', () => {
    expect(kalshiFee({ price: 0.5, contracts: 100, side: 'taker', multiplier: 0.5 })).toBe(0.88)
    expect(kalshiFee({ price: '0.50', contracts: '100', side: 'taker', multiplier: '0.5000' })).toBe(0.88)
  })

  test('charges nothing at prices 0 and 1', () => {
    expect([0, 1].map((price) => kalshiFee({ price, contracts: 100, side: 'taker' }))).toEqual([0, 0])
  })

  test('is exact where floating point is not: 0.07 × 10 × 0.25 is $0.175 → $0.18, and 1000 @ $0.30 is $14.70', () => {
    expect(kalshiFee({ price: 0.5, contracts: 10, side: 'taker' })).toBe(0.18)
    expect(kalshiFee({ price: 0.3, contracts: 1000, side: 'taker' })).toBe(14.7)
    expect(kalshiFee({ price: 1 - 0.7, contracts: 1000, side: 'taker' })).toBe(14.7)
  })

  test('rounds to the centicent when asked (Kalshi trade-fee precision)', () => {
    expect(kalshiFee({ price: 0.5, contracts: 1, side: 'taker', rounding: 'centicent' })).toBe(0.0175)
    expect(kalshiFee({ price: 0.055, contracts: 3, side: 'taker', rounding: 'centicent' })).toBe(0.011)
  })

  test('charges flat fee series a price-independent fee per contract', () => {
    expect([0.1, 0.5, 0.9].map((price) => kalshiFee({ price, contracts: 100, side: 'taker', feeType: 'flat' }))).toEqual([1.75, 1.75, 1.75])
    expect(kalshiFee({ price: 0.1, contracts: 100, side: 'taker', feeType: 'flat', flatPerContract: 0.01 })).toBe(1)
  })

  test('rejects bad input with a typed error naming the field', () => {
    const code = (f: () => unknown) => {
      try {
        f()
        return 'no error'
      } catch (e) {
        return SsmdError.is(e) ? `${e.code}: ${e.message}` : String(e)
      }
    }
    expect([
      code(() => kalshiFee({ price: 1.5, contracts: 1, side: 'taker' })),
      code(() => kalshiFee({ price: -0.1, contracts: 1, side: 'taker' })),
      code(() => kalshiFee({ price: 0.12345, contracts: 1, side: 'taker' })),
      code(() => kalshiFee({ price: 'abc', contracts: 1, side: 'taker' })),
      code(() => kalshiFee({ price: 0.5, contracts: 1, side: 'taker', feeType: 'weird' as 'flat' })),
    ]).toEqual([
      'FEE_INPUT: price must be between 0 and 1 dollars (got 1.5)',
      "FEE_INPUT: price must be a non-negative number (got '-0.1')",
      'FEE_INPUT: price has more than 4 decimals (got 0.12345)',
      "FEE_INPUT: price must be a non-negative number (got 'abc')",
      "FEE_INPUT: unknown fee type 'weird' (expected quadratic, quadratic_with_maker_fees, flat)",
    ])
  })
})
