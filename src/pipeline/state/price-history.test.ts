import { describe, expect, test } from 'bun:test'
import { Prng } from '../../services/sim/prng.ts'
import { parseRecord } from '../records/parse.ts'
import { PriceHistoryBuilder } from './price-history.ts'

describe('priceHistory builder', () => {
  test('matches statistics computed from scratch over the last N trades, counts and sides parsed (seeded)', () => {
    const rng = new Prng('price-history')
    const b = new PriceHistoryBuilder({ windowSize: 20 })
    const all: { p: number; c: number; s: 'yes' | 'no' }[] = []
    for (let i = 0; i < 500; i++) {
      const t = { p: rng.range(1, 99), c: rng.range(1, 50), s: rng.chance(0.5) ? 'yes' as const : 'no' as const }
      all.push(t)
      b.update(parseRecord(`{"type":"trade","msg":{"market_ticker":"X","yes_price_dollars":"${(t.p / 100).toFixed(4)}","count_fp":"${t.c}.00","taker_side":"${t.s}","ts":${1000 + i}}}`)!)
      const w = all.slice(-20)
      const prices = w.map((x) => x.p / 100)
      const mean = prices.reduce((a, x) => a + x, 0) / w.length
      const s = b.getState()
      expect(s.last).toBe(prices.at(-1)!)
      expect(s.high).toBe(Math.max(...prices))
      expect(s.low).toBe(Math.min(...prices))
      expect(s.tradeCount).toBe(w.length)
      expect(s.volume).toBe(w.reduce((a, x) => a + x.c, 0))
      expect(s.buyVolume).toBe(w.filter((x) => x.s === 'yes').reduce((a, x) => a + x.c, 0))
      expect(s.vwap!).toBeCloseTo(w.reduce((a, x) => a + (x.p / 100) * x.c, 0) / s.volume, 12)
      expect(s.returns).toBeCloseTo((prices.at(-1)! - prices[0]) / prices[0], 12)
      expect(s.volatility).toBeCloseTo(Math.sqrt(prices.reduce((a, x) => a + (x - mean) ** 2, 0) / w.length), 12)
      expect(s.lastUpdate).toBe((1000 + i) * 1000)
    }
  })

  test('ignores everything but trades and starts empty', () => {
    const b = new PriceHistoryBuilder()
    b.update(parseRecord('{"type":"ticker","msg":{"market_ticker":"X","price":50,"ts":1}}')!)
    expect(b.getState()).toEqual({ ticker: '', last: null, high: null, low: null, vwap: null, returns: 0, volatility: 0, tradeCount: 0, volume: 0, buyVolume: 0, sellVolume: 0, lastUpdate: 0 })
  })
})
