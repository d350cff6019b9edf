import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { startSim, type Sim } from './server.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

let sim: Sim
afterEach(() => sim?.stop())
const get = async (path: string) => (await fetch(`${sim.restUrl}${path}`)).json() as Promise<Record<string, any>>

async function pageAll(path: string, key: string): Promise<{ items: Record<string, any>[]; pages: number }> {
  const items: Record<string, any>[] = []
  let cursor = ''
  let pages = 0
  do {
    const sep = path.includes('?') ? '&' : '?'
    const r = await get(`${path}${cursor ? `${sep}cursor=${cursor}` : ''}`)
    items.push(...r[key])
    cursor = r.cursor
    pages++
  } while (cursor)
  return { items, pages }
}

describe('sim REST', () => {
  test('markets and events page to the last page (empty cursor) with counts equal to the universe', async () => {
    sim = startSim({ markets: 2500, restRateLimit: 0 })
    const markets = await pageAll('/markets?limit=1000', 'markets')
    expect([markets.pages, markets.items.length, new Set(markets.items.map((m) => m.ticker)).size]).toEqual([3, 2500, 2500])
    const events = await pageAll('/events?limit=200&with_nested_markets=true', 'events')
    expect(events.items.flatMap((e) => e.markets).length).toBe(2500)
    expect(events.items.length).toBe(sim.universe.events.length)
    const byStatus = await Promise.all(['unopened', 'open', 'closed', 'settled'].map(async (s) => (await pageAll(`/markets?limit=1000&status=${s}`, 'markets')).items.length))
    expect(byStatus.reduce((a, b) => a + b, 0)).toBe(2500)
    expect(byStatus[1]).toBe(sim.universe.active().length)
  })

  test('filters, single objects, series, fee changes and limits answer as Kalshi does', async () => {
    sim = startSim({ markets: 300, restRateLimit: 0, format: 'mixed' })
    const m = sim.universe.active()[0]
    const one = await get(`/markets/${m.ticker}`)
    expect([one.market.ticker, one.market.status, typeof one.market.yes_bid, typeof one.market.yes_bid_dollars]).toEqual([m.ticker, 'active', 'number', 'string'])
    expect((await get(`/markets?event_ticker=${m.eventTicker}`)).markets.length).toBe(sim.universe.eventsByTicker.get(m.eventTicker)!.markets.length)
    expect((await get(`/markets?tickers=${m.ticker}`)).markets.map((x: { ticker: string }) => x.ticker)).toEqual([m.ticker])
    expect((await get('/series?category=Crypto')).series.every((s: { category: string }) => s.category === 'Crypto')).toBe(true)
    expect((await get('/series/KXBTCD')).series.fee_type).toBe('quadratic')
    expect((await get(`/events/${m.eventTicker}`)).event.series_ticker).toBe(m.seriesTicker)
    const fees = (await get('/series/fee_changes?show_historical=true')).series_fee_change_arr
    expect(Object.keys(fees[0]).sort()).toEqual(['fee_multiplier', 'fee_type', 'id', 'scheduled_ts', 'series_ticker'])
    expect((await fetch(`${sim.restUrl}/markets?limit=1001`)).status).toBe(400)
    expect((await fetch(`${sim.restUrl}/markets/NOPE`)).status).toBe(404)
  })

  test('above the rate limit the answer is 429 with Retry-After in seconds', async () => {
    sim = startSim({ markets: 20, restRateLimit: 2 })
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${sim.restUrl}/series`)).status)
    const limited = await fetch(`${sim.restUrl}/series`)
    expect([...statuses, limited.status, Number(limited.headers.get('retry-after')) >= 1]).toEqual([200, 200, 429, 429, true])
    expect(sim.stats().rest.rateLimited).toBe(2)
  })

  test('the malformed_page fault returns one invalid JSON page, then normal pages', async () => {
    sim = startSim({ markets: 20, restRateLimit: 0, faults: [{ name: 'malformed_page' }] })
    const bad = await fetch(`${sim.restUrl}/markets`)
    expect(await bad.json().catch(() => 'invalid')).toBe('invalid')
    expect((await get('/markets')).markets.length).toBe(20)
  })
})
