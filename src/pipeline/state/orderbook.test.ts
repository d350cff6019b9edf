import { describe, expect, test } from 'bun:test'
import { Prng } from '../../services/sim/prng.ts'
import { parseRecord } from '../records/parse.ts'
import type { MarketRecord } from '../records/types.ts'
import { simLines } from '../records/fixture-sim.test.ts'
import { OrderbookBuilder } from './orderbook.ts'
import { newBuilderContext } from './types.ts'

type Ev =
  | { kind: 'snap'; ticker: string; seq: number; yes: [number, number][]; no: [number, number][] }
  | { kind: 'delta'; ticker: string; seq: number; side: 'yes' | 'no'; price: number; delta: number }

function frame(e: Ev, i: number): MarketRecord {
  const msg = e.kind === 'snap'
    ? { market_ticker: e.ticker, yes: e.yes, no: e.no }
    : { market_ticker: e.ticker, price: e.price, delta_fp: e.delta.toFixed(2), side: e.side, ts: new Date(i * 1000).toISOString() }
  const type = e.kind === 'snap' ? 'orderbook_snapshot' : 'orderbook_delta'
  return parseRecord(JSON.stringify({ type, sid: 1, seq: e.seq, msg })) as MarketRecord
}

/** The trivially correct model: rebuild the book of `ticker` from every event so far. */
function model(events: Ev[], ticker: string) {
  let s = -1
  for (let i = 0; i < events.length; i++) if (events[i].kind === 'snap' && events[i].ticker === ticker) s = i
  if (s < 0) return { valid: false, yes: [], no: [] }
  const snap = events[s] as Extract<Ev, { kind: 'snap' }>
  const book = { yes: new Map<number, number>(), no: new Map<number, number>() }
  for (const [p, q] of snap.yes) book.yes.set(p, q)
  for (const [p, q] of snap.no) book.no.set(p, q)
  for (let i = s + 1; i < events.length; i++) {
    const e = events[i]
    if (e.seq !== events[i - 1].seq + 1) return { valid: false, yes: [], no: [] }
    if (e.kind !== 'delta' || e.ticker !== ticker) continue
    const q = (book[e.side].get(e.price) ?? 0) + e.delta
    if (q < 0) return { valid: false, yes: [], no: [] }
    book[e.side].set(e.price, q)
  }
  const side = (m: Map<number, number>) => [...m].filter(([, q]) => q > 0).sort((a, b) => b[0] - a[0]).map(([p, q]) => [p / 100, q])
  return { valid: true, yes: side(book.yes), no: side(book.no) }
}

describe('orderbook builder', () => {
  test('matches a book rebuilt from every event, including negative levels and seq gaps (seeded)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rng = new Prng(`orderbook:${seed}`)
      const ctx = newBuilderContext()
      const books = new Map(['A', 'B'].map((t) => [t, new OrderbookBuilder(ctx, { depthLevels: 100 })]))
      const events: Ev[] = []
      let seq = 0
      const levels = () => Array.from({ length: rng.range(0, 6) }, () => [rng.range(1, 99), rng.range(1, 50)] as [number, number])
        .filter(([p], i, a) => a.findIndex(([x]) => x === p) === i)
      for (let i = 0; i < 2000; i++) {
        const ticker = rng.chance(0.5) ? 'A' : 'B'
        seq += rng.chance(0.01) ? 2 : 1
        const e: Ev = rng.chance(0.03)
          ? { kind: 'snap', ticker, seq, yes: levels(), no: levels() }
          : { kind: 'delta', ticker, seq, side: rng.chance(0.5) ? 'yes' : 'no', price: rng.range(1, 99), delta: rng.range(-20, 30) + (rng.chance(0.2) ? 0.5 : 0) }
        events.push(e)
        books.get(ticker)!.update(frame(e, i))
        for (const t of ['A', 'B']) {
          const m = model(events, t)
          const s = books.get(t)!.getState()
          const got = { valid: s.valid, yes: s.depth.yes, no: s.depth.no }
          if (JSON.stringify(got) !== JSON.stringify(m)) expect({ seed, i, t, got }).toEqual({ seed, i, t, got: m as unknown as typeof got })
          if (m.valid && m.yes.length > 0) expect(s.bestBid).toBe(m.yes[0][0] as number)
          if (m.valid && m.no.length > 0) expect(s.bestAsk).toBe(Math.round((1 - (m.no[0][0] as number)) * 10_000) / 10_000)
        }
      }
      expect(ctx.sequences.gaps).toBeGreaterThan(0)
    }
  })

  test('takes top of book from ticker frames until a depth book exists, then spread and mid from the book', () => {
    const ob = new OrderbookBuilder(newBuilderContext())
    ob.update(parseRecord('{"type":"ticker","msg":{"market_ticker":"X","yes_bid_dollars":"0.4000","yes_ask_dollars":"0.4300","ts":1}}')!)
    expect(ob.getState()).toMatchObject({ source: 'ticker', bestBid: 0.4, bestAsk: 0.43, spread: 0.03, valid: false })
    ob.update(parseRecord('{"type":"orderbook_snapshot","sid":2,"seq":1,"msg":{"market_ticker":"X","yes_dollars_fp":[["0.4100","5.00"]],"no_dollars_fp":[["0.5500","7.50"]]}}')!)
    expect(ob.getState()).toMatchObject({ source: 'book', valid: true, bestBid: 0.41, bestAsk: 0.45, spread: 0.04, mid: 0.43, bidDepth: 5, askDepth: 7.5 })
  })

  test('simulator books stay valid over thousands of frames in every format', () => {
    for (const format of ['cents', 'dollars', 'mixed'] as const) {
      const ctx = newBuilderContext()
      const books = new Map<string, OrderbookBuilder>()
      for (const l of simLines({ seed: 11, count: 5000, format })) {
        const r = parseRecord(l.line)!
        if (!books.has(r.ticker)) books.set(r.ticker, new OrderbookBuilder(ctx))
        books.get(r.ticker)!.update(r)
      }
      const states = [...books.values()].map((b) => b.getState())
      expect(states.every((s) => s.valid && s.bestBid !== null && s.bestAsk !== null && s.bestBid < s.bestAsk)).toBe(true)
    }
  })
})
