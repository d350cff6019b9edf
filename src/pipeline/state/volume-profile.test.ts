import { describe, expect, test } from 'bun:test'
import { Prng } from '../../services/sim/prng.ts'
import { parseRecord } from '../records/parse.ts'
import type { MarketRecord } from '../records/types.ts'
import { VolumeProfileBuilder } from './volume-profile.ts'

interface Frame { ts: number; volume: number; dollars: number }

const tickerLine = (f: Frame) =>
  `{"type":"ticker","msg":{"market_ticker":"X","volume_fp":"${f.volume.toFixed(2)}","dollar_volume":${f.dollars},"price_dollars":"0.5000","ts":${Math.floor(f.ts / 1000)},"ts_ms":${f.ts}}}`

/** Brute force: every positive delta after the first frame whose ts is within (now − window, now]. */
function model(frames: Frame[], windowMs: number) {
  const now = Math.max(...frames.map((f) => f.ts))
  let volume = 0
  let dollars = 0
  let count = 0
  for (let i = 1; i < frames.length; i++) {
    const dv = Math.round(frames[i].volume * 100) - Math.round(frames[i - 1].volume * 100)
    const dd = frames[i].dollars - frames[i - 1].dollars
    if (dv < 0 || dd < 0 || (dv === 0 && dd === 0) || frames[i].ts <= now - windowMs) continue
    volume += dv
    dollars += dd
    count++
  }
  return { totalVolume: volume / 100, dollarVolume: dollars, tradeCount: count }
}

describe('volumeProfile builder', () => {
  test('sums deltas within the window in ms, matching a brute-force sum (seeded)', () => {
    for (const seed of [1, 2, 3, 4]) {
      const rng = new Prng(`volume:${seed}`)
      const windowMs = [60_000, 300_000, 1_000][seed % 3]
      const b = new VolumeProfileBuilder({ windowMs })
      const frames: Frame[] = []
      let f: Frame = { ts: 1_770_480_000_000, volume: rng.range(0, 1e6) + 0.25, dollars: rng.range(0, 1e6) }
      for (let i = 0; i < 3000; i++) {
        f = {
          ts: f.ts + rng.range(0, 2_000),
          volume: rng.chance(0.02) ? rng.range(0, 100) : f.volume + (rng.chance(0.3) ? 0 : rng.range(0, 500) + 0.01 * rng.range(0, 99)),
          dollars: f.dollars + (rng.chance(0.3) ? 0 : rng.range(0, 300)),
        }
        frames.push(f)
        b.update(parseRecord(tickerLine(f)) as MarketRecord)
        const s = b.getState()
        expect({ i, totalVolume: s.totalVolume, dollarVolume: s.dollarVolume, tradeCount: s.tradeCount })
          .toEqual({ i, ...model(frames, windowMs) })
      }
    }
  })

  test('the first frame is a baseline: a market with a large cumulative volume starts at zero', () => {
    const b = new VolumeProfileBuilder({ windowMs: 60_000 })
    b.update(parseRecord(tickerLine({ ts: 1_770_480_000_000, volume: 5e6, dollars: 2_000_000 }))!)
    expect(b.getState()).toMatchObject({ totalVolume: 0, dollarVolume: 0, tradeCount: 0, lastPrice: 0.5, windowMs: 60_000, lastUpdate: 1_770_480_000_000 })
  })

  test('a 1-minute window forgets volume after 60 seconds, not 60,000 seconds', () => {
    const b = new VolumeProfileBuilder({ windowMs: 60_000 })
    const t0 = 1_770_480_000_000
    b.update(parseRecord(tickerLine({ ts: t0, volume: 0, dollars: 0 }))!)
    b.update(parseRecord(tickerLine({ ts: t0 + 1_000, volume: 10, dollars: 1_000_000 }))!)
    expect(b.getState().dollarVolume).toBe(1_000_000)
    b.update(parseRecord(tickerLine({ ts: t0 + 61_001, volume: 10, dollars: 1_000_000 }))!)
    expect(b.getState().dollarVolume).toBe(0)
  })

  test('holds only the window in memory, however long the run', () => {
    const b = new VolumeProfileBuilder({ windowMs: 1_000 })
    const t0 = 1_770_480_000_000
    for (let i = 0; i < 100_000; i++) {
      b.update(parseRecord(tickerLine({ ts: t0 + i * 100, volume: i, dollars: i * 2 }))!)
      b.update(parseRecord(`{"type":"trade","msg":{"market_ticker":"X","yes_price":50,"count":1,"taker_side":"yes","ts_ms":${t0 + i * 100}}}`)!)
    }
    // 10 entries per window live at a time: rings of 16 each
    expect([b.getState().tradeCount, b.getState().dollarVolume, b.retained]).toEqual([10, 20, 32])
  })

  test('the buy ratio comes from taker sides of trades in the window, 0.5 without trades', () => {
    const b = new VolumeProfileBuilder({ windowMs: 60_000 })
    expect(b.getState().ratio).toBe(0.5)
    b.update(parseRecord('{"type":"trade","msg":{"market_ticker":"X","yes_price":50,"count":30,"taker_side":"yes","ts":100}}')!)
    b.update(parseRecord('{"type":"trade","msg":{"market_ticker":"X","yes_price":50,"count":10,"taker_side":"no","ts":101}}')!)
    expect(b.getState()).toMatchObject({ ratio: 0.75, buyVolume: 30, sellVolume: 10 })
  })
})
