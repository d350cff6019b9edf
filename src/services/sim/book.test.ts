import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArchiveWriter } from '../../pipeline/archive/index.ts'
import { runBacktest } from '../../pipeline/signals/backtest.ts'
import { loadSignal } from '../../pipeline/signals/loader.ts'
import { Book, LIQUIDITY_PULL } from './book.ts'
import { quoteOf } from './frames.ts'
import { Prng } from './prng.ts'
import { startSim } from './server.ts'
import { SimClient } from './sim-client.ts'
import type { SimMarket } from './universe.ts'

setDefaultTimeout(60_000) // a real socket on a shared machine
const root = mkdtempSync(join(tmpdir(), 'ssmd-sim-book-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const T0 = Date.UTC(2026, 1, 7, 16)

/** Drives a book as the realistic engine does (a pull check, then a random delta), one delta per `stepMs`; the spread in cents after each. */
function drive(book: Book, steps: number, stepMs: number): { spreads: number[]; pulls: number; broken: string[] } {
  const rng = new Prng('deltas:1')
  const spreads: number[] = []
  const broken: string[] = []
  let pulls = 0
  for (let i = 0; i < steps; i++) {
    const now = T0 + i * stepMs
    if (book.pullLiquidity(now).length > 0) pulls++
    book.randomDelta(rng, now)
    const q = quoteOf({} as SimMarket, book)
    if (book.yes.some((n) => n < 0) || book.no.some((n) => n < 0)) broken.push(`negative at ${i}`)
    if (q.yesBid >= q.yesAsk) broken.push(`crossed at ${i}: ${q.yesBid} ≥ ${q.yesAsk}`)
    spreads.push(q.yesAsk - q.yesBid)
  }
  return { spreads, pulls, broken }
}

describe('sim order book', () => {
  test('now and then liquidity is pulled for a few seconds: the spread widens from 2–3¢ to ≥ 10¢, then the deltas fill the top again; never negative, never crossed', () => {
    // one market's deltas, one every 100 ms of sim time for about 14 hours
    const book = Book.seeded(new Prng('book:1:KXA'), new Prng('pulls:1:KXA'))
    const { spreads, pulls, broken } = drive(book, 500_000, 100)
    const share = (f: (s: number) => boolean) => spreads.filter(f).length / spreads.length
    // wide episodes that come back: each one starting from a tight spread (what signals/spread-widening fires on)
    let episodes = 0
    let armed = false
    for (const s of spreads) {
      if (s <= 3) armed = true
      if (s >= 10 && armed) {
        episodes++
        armed = false
      }
    }
    expect({
      broken,
      pulls: pulls > 0.7 * (500_000 * 100) / LIQUIDITY_PULL.MEAN_INTERVAL_MS,
      tightMostOfTheTime: share((s) => s <= 3) > 0.9,
      wideNowAndThen: share((s) => s >= 10) > 0 && share((s) => s >= 10) < 0.05,
      episodes: episodes > 0.5 * pulls,
      widest: Math.max(...spreads) <= 2 * LIQUIDITY_PULL.DEPTH[1] + 4,
    }).toEqual({ broken: [], pulls: true, tightMostOfTheTime: true, wideNowAndThen: true, episodes: true, widest: true })
  })

  test('a book seeded without pull draws never pulls, so max mode and the test fixtures keep their exact output', () => {
    const plain = Book.seeded(new Prng('book:1:KXA'))
    const { spreads, pulls } = drive(plain, 100_000, 100)
    expect([pulls, Math.max(...spreads)]).toEqual([0, Math.max(...spreads.filter((s) => s < 10))])
  })

  test('a backtest of signals/spread-widening over 20 minutes of the realistic sim\'s order books fires (its spreads were always 2–3¢: it never fired)', async () => {
    let now = T0
    const sim = startSim({ markets: 40, rate: 'realistic', framesPerSecond: 10, format: 'dollars', clock: () => now })
    try {
      const c = await SimClient.connect(sim.wsUrl)
      const tickers = sim.universe.active().slice(0, 8).map((m) => m.ticker)
      await c.reply(c.send('subscribe', { channels: ['orderbook_delta'], market_tickers: tickers }))
      // 20 minutes of sim time, a second at a time, as the engine's timer would
      for (let s = 0; s < 20 * 60; s++) {
        now += 1000
        sim.pumpRealistic()
      }
      const sent = sim.stats().frames_sent
      await c.waitFrames(1 + sent, `${sent} data frames`)
      c.close()
      // archived as the connector and archiver would: _received_at appended, one stream sequence
      const writer = new ArchiveWriter({ root, feed: 'kalshi', stream: 'sim', now: () => T0, rotationCheckMs: 0 })
      const frames = c.frames.filter((f) => f.includes('"type":"orderbook_'))
      await writer.append(frames.map((f, i) => ({ payload: `${f.slice(0, -1)},"_shard_id":0,"_received_at":${T0 * 1000}}`, seq: i + 1 })))
      await writer.close()
      const signal = await loadSignal(join(import.meta.dir, '..', '..', '..', 'signals', 'spread-widening'))
      const { result } = await runBacktest({ signal, root, feed: 'kalshi', dates: ['2026-02-07'] })
      expect([result.data.records_processed, result.results.fire_count > 8]).toEqual([frames.length, true])
      expect(result.results.fires.every((f) => (f.payload as { spread: number }).spread >= 0.1)).toBe(true)
    } finally {
      await sim.stop()
    }
  })
})
