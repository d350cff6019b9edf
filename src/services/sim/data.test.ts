import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { SimClient } from './sim-client.ts'
import { startSim, type Sim } from './server.ts'
import type { SimOptions } from './options.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

let sims: Sim[] = []
afterEach(async () => {
  await Promise.all(sims.map((s) => s.stop()))
  sims = []
})
const start = (o: SimOptions) => {
  const s = startSim(o)
  sims.push(s)
  return s
}
const T0 = 1_770_480_000_000

/** Subscribes orderbook (2 markets), trade (2 markets) and global ticker; waits for N data frames per sid. */
async function session(sim: Sim, n: number): Promise<SimClient> {
  const c = await SimClient.connect(sim.wsUrl)
  const [a, b] = sim.universe.active().map((m) => m.ticker)
  c.send('subscribe', { channels: ['orderbook_delta', 'trade'], market_tickers: [a, b] })
  c.send('subscribe', { channels: ['ticker'] })
  await c.waitFrames(3 + 3 * n, `3 replies + ${3 * n} data frames`)
  return c
}

function checkBooks(frames: Record<string, any>[], sid: number): { snapshotsFirst: boolean; negative: number } {
  const books = new Map<string, Map<string, number>>()
  let negative = 0
  let deltaSeen = false
  let snapshotsFirst = true
  for (const f of frames.filter((x) => x.sid === sid)) {
    const t = f.msg.market_ticker
    if (f.type === 'orderbook_snapshot') {
      if (deltaSeen && !books.has(t)) snapshotsFirst = false
      const book = new Map<string, number>()
      for (const side of ['yes', 'no']) for (const [p, q] of f.msg[side] ?? []) book.set(`${side}${p}`, q)
      books.set(t, book)
    } else {
      deltaSeen = true
      if (!books.has(t)) snapshotsFirst = false
      const book = books.get(t)!
      const k = `${f.msg.side}${f.msg.price}`
      const q = (book.get(k) ?? 0) + f.msg.delta
      if (q < 0) negative++
      book.set(k, q)
    }
  }
  return { snapshotsFirst, negative }
}

describe('sim data frames', () => {
  test('seq is per sid from 1 with +1 per frame, ticker has none, and snapshots precede deltas on a consistent book', async () => {
    const sim = start({ markets: 100, rate: 'max', format: 'mixed', countPerSubscription: 400 })
    const c = await session(sim, 400)
    const data = c.parsed().filter((f) => f.sid !== undefined && f.type !== 'subscribed')
    const seqs = (sid: number) => data.filter((f) => f.sid === sid).map((f) => f.seq)
    expect(seqs(1)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1))
    expect(seqs(2)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1))
    expect(new Set(seqs(3))).toEqual(new Set([undefined]))
    expect(data.filter((f) => f.sid === 1).slice(0, 2).map((f) => f.type)).toEqual(['orderbook_snapshot', 'orderbook_snapshot'])
    expect(checkBooks(data, 1)).toEqual({ snapshotsFirst: true, negative: 0 })
    const stats = sim.stats()
    expect([stats.frames_sent, stats.connections[0].frames_sent]).toEqual([1200, 1200])
    expect((stats.connections[0].subscriptions as { frames_sent: number }[]).map((s) => s.frames_sent)).toEqual([400, 400, 400])
  })

  test('the three wire formats carry their own field sets', async () => {
    const keys: Record<string, Record<string, string[]>> = {}
    for (const format of ['cents', 'dollars', 'mixed'] as const) {
      const sim = start({ markets: 50, rate: 'max', format, countPerSubscription: 3 })
      const c = await session(sim, 3)
      const one = (type: string) => Object.keys(c.parsed().find((f) => f.type === type)!.msg).sort()
      keys[format] = { ticker: one('ticker'), trade: one('trade'), delta: one('orderbook_delta'), snapshot: one('orderbook_snapshot') }
    }
    expect(keys.cents).toEqual({
      ticker: ['Clock', 'dollar_open_interest', 'dollar_volume', 'market_id', 'market_ticker', 'open_interest', 'price', 'ts', 'volume', 'yes_ask', 'yes_bid'],
      trade: ['count', 'market_ticker', 'no_price', 'taker_side', 'trade_id', 'ts', 'yes_price'],
      delta: ['delta', 'market_id', 'market_ticker', 'price', 'side', 'ts'],
      snapshot: ['market_id', 'market_ticker', 'no', 'yes'],
    })
    expect(keys.dollars).toEqual({
      ticker: ['dollar_open_interest', 'dollar_volume', 'last_trade_size_fp', 'market_id', 'market_ticker', 'open_interest_fp', 'price_dollars', 'time', 'ts', 'ts_ms', 'volume_fp', 'yes_ask_dollars', 'yes_ask_size_fp', 'yes_bid_dollars', 'yes_bid_size_fp'],
      trade: ['count_fp', 'market_ticker', 'no_price_dollars', 'taker_side', 'trade_id', 'ts', 'yes_price_dollars'],
      delta: ['delta_fp', 'market_id', 'market_ticker', 'price_dollars', 'side', 'ts'],
      snapshot: ['market_id', 'market_ticker', 'no_dollars_fp', 'yes_dollars_fp'],
    })
    expect(keys.mixed.trade).toEqual(['count', 'count_fp', 'market_ticker', 'no_price', 'no_price_dollars', 'taker_side', 'trade_id', 'ts', 'yes_price', 'yes_price_dollars'])
    expect(keys.mixed.ticker).toContain('Clock')
    expect(keys.mixed.ticker).toContain('yes_bid_dollars')
  })

  test('the same seed and clock give byte-identical frames; another seed does not', async () => {
    const run = async (seed: number) => {
      const sim = start({ seed, markets: 80, rate: 'max', countPerSubscription: 50, clock: () => T0 })
      const c = await session(sim, 50)
      // Interleaving across sids depends on scheduling; each sid's own stream is deterministic.
      return [1, 2, 3].map((sid) => c.frames.filter((f) => f.includes(`"sid":${sid},`)))
    }
    const [a, b, other] = [await run(7), await run(7), await run(8)]
    expect(a).toEqual(b)
    expect(a).not.toEqual(other)
  })

  test('trade ids are unique per run: a sim restarted with the same seed repeats none (JetStream would drop those trades as duplicates); an injected clock reproduces them', async () => {
    const tradeIds = async (o: SimOptions) => {
      const sim = start({ seed: 7, markets: 20, rate: 'max', countPerSubscription: 50, ...o })
      const c = await SimClient.connect(sim.wsUrl)
      c.send('subscribe', { channels: ['trade'] })
      await c.waitFrames(1 + 50, 'the subscribed reply and 50 trades')
      c.close()
      return c.ofType('trade').map((f) => f.msg.trade_id as string)
    }
    const [first, restarted] = [await tradeIds({}), await tradeIds({})]
    expect(first.length).toBe(50)
    expect(new Set(first).size).toBe(50)
    expect(first.filter((id) => restarted.includes(id))).toEqual([])
    for (const id of [...first, ...restarted]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(await tradeIds({ clock: () => T0 })).toEqual(await tradeIds({ clock: () => T0 }))
  })

  test('realistic mode sends Poisson arrivals by the sim clock, and stats match what arrived', async () => {
    let now = T0
    const sim = start({ markets: 60, rate: 'realistic', framesPerSecond: 2000, clock: () => now })
    const c = await SimClient.connect(sim.wsUrl)
    const tickers = sim.universe.active().slice(0, 5).map((m) => m.ticker)
    await c.reply(c.send('subscribe', { channels: ['trade', 'ticker', 'orderbook_delta'], market_tickers: tickers }))
    await c.waitFrames(3 + 5)
    now += 1000
    sim.pumpRealistic()
    const sent = sim.stats().frames_sent
    await c.waitFrames(3 + sent, `${sent} data frames`)
    expect(sent).toBeGreaterThan(1000)
    expect(c.frames.length - 3).toBe(sent)
    expect(checkBooks(c.parsed(), 3)).toEqual({ snapshotsFirst: true, negative: 0 })
  })

  test('lifecycle frames follow control calls: event_lifecycle + created, closed, determined, settled, with seq', async () => {
    const sim = start({ markets: 30, clock: () => T0 })
    const c = await SimClient.connect(sim.wsUrl)
    await c.reply(c.send('subscribe', { channels: ['market_lifecycle_v2'] }))
    const res = await fetch(`${sim.controlUrl}/markets`, { method: 'POST', body: JSON.stringify({ series_ticker: 'KXBTC15M' }) })
    const { market_tickers } = (await res.json()) as { market_tickers: string[] }
    const t = market_tickers[0]
    await fetch(`${sim.controlUrl}/markets/${t}/close`, { method: 'POST' })
    await fetch(`${sim.controlUrl}/markets/${t}/settle`, { method: 'POST', body: JSON.stringify({ result: 'yes' }) })
    await c.waitFrames(6)
    const frames = c.parsed().slice(1)
    expect(frames.map((f) => [f.type, f.msg.event_type ?? null, f.seq])).toEqual([
      ['event_lifecycle', null, 1],
      ['market_lifecycle_v2', 'created', 2],
      ['market_lifecycle_v2', 'closed', 3],
      ['market_lifecycle_v2', 'determined', 4],
      ['market_lifecycle_v2', 'settled', 5],
    ])
    expect(t).toMatch(/^KXBTC15M-\d{2}[A-Z]{3}\d{6}-\d{2}$/)
    expect([frames[4].msg.settlement_value, frames[4].msg.result]).toEqual(['1.0000', 'yes'])
  })

  test('time closes, determines and settles markets, and opens initialized ones without a frame', async () => {
    let now = T0
    const sim = start({ markets: 400, clock: () => now })
    const c = await SimClient.connect(sim.wsUrl)
    await c.reply(c.send('subscribe', { channels: ['market_lifecycle_v2'] }))
    const init = sim.universe.markets.find((m) => m.status === 'initialized')!
    const active = sim.universe.markets.filter((m) => m.status === 'active').sort((a, b) => a.closeMs - b.closeMs)[0]
    now = Math.max(init.openMs, active.closeMs + 11 * 60_000)
    sim.tick()
    expect([init.status === 'initialized', active.status]).toEqual([false, 'settled'])
    await c.waitFrames(4)
    const mine = c.parsed().filter((f) => f.msg?.market_ticker === active.ticker).map((f) => f.msg.event_type)
    expect(mine).toEqual(['closed', 'determined', 'settled'])
    expect(c.parsed().some((f) => f.msg?.market_ticker === init.ticker)).toBe(false)
  })
})
