import { afterAll, describe, expect, test } from 'bun:test'
import { needService } from '../../../test/services.ts'
import { silentLogger } from '../../pipeline/core/log.ts'
import { createTestDatabase } from '../db/index.ts'
import { KalshiRest } from '../../pipeline/kalshi-rest/index.ts'
import { startSim } from '../sim/index.ts'
import { MARKET_COLUMNS, marketRow } from './mapping.ts'
import { softDeleteUnseen } from './soft-delete.ts'
import { batchSize, upsertEvents, upsertMarkets } from './upsert.ts'
import { SyncWriter } from './writer.ts'

const pg = await needService('postgres')
const sim = startSim({ seed: 5, markets: 60, restRateLimit: 0, lifecycleTickMs: 3_600_000 })
afterAll(() => sim.stop())

describe.skipIf(!pg.ok)(`secmaster upserts (${pg.reason})`, () => {
  test('batches stay under the bind-parameter limit: 6,000 markets (24 columns) in three statements', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    expect(batchSize(MARKET_COLUMNS.length)).toBe(2730)
    await upsertEvents(db.sql, [{ event_ticker: 'E-1', title: 'E', category: 'C', series_ticker: 'E', strike_date: null, mutually_exclusive: false, status: 'active' }])
    const rows = Array.from({ length: 6000 }, (_, i) => marketRow({ ticker: `E-1-M${i}`, event_ticker: 'E-1', status: 'open', yes_bid_dollars: '0.1200' }))
    expect(await upsertMarkets(db.sql, rows.concat(rows.slice(0, 5)))).toBe(6000)
    expect(await upsertMarkets(db.sql, rows)).toBe(0)
    rows[7].yes_bid = '0.1300'
    expect(await upsertMarkets(db.sql, rows)).toBe(1)
  })

  test("a market whose event is missing has the event fetched; if Kalshi has none, the market is reported and skipped", async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const w = new SyncWriter(db.sql, new KalshiRest({ baseUrl: sim.restUrl }), silentLogger(), false)
    const real = sim.universe.markets[0]
    await w.write([], [
      marketRow({ ticker: real.ticker, event_ticker: real.eventTicker, status: 'open' }),
      marketRow({ ticker: 'NOPE-1-X', event_ticker: 'NOPE-1', status: 'open' }),
    ])
    expect([w.totals.fetchedEvents, w.totals.orphans, w.totals.orphanTickers]).toEqual([1, 1, ['NOPE-1-X (event NOPE-1)']])
    const stored = await db.sql`select ticker from markets union all select event_ticker from events`
    expect(stored.map((r) => r.ticker).sort()).toEqual([real.eventTicker, real.ticker].sort())
  })

  test('an event already stored whose market a sync writes counts as seen by the soft delete', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const real = sim.universe.markets[0]
    await upsertEvents(db.sql, [{ event_ticker: real.eventTicker, title: 'placeholder', category: '', series_ticker: 'S', strike_date: null, mutually_exclusive: false, status: 'active' }])
    const w = new SyncWriter(db.sql, new KalshiRest({ baseUrl: sim.restUrl }), silentLogger(), false)
    await w.write([], [marketRow({ ticker: real.ticker, event_ticker: real.eventTicker, status: 'open' })])
    expect([w.totals.fetchedEvents, w.seenEvents.has(real.eventTicker)]).toEqual([0, true])
    expect(await softDeleteUnseen(db.sql, w.seenEvents, w.seenMarkets)).toEqual({ events: 0, markets: 0 })
  })
})
