import { afterAll, describe, expect, test } from 'bun:test'
import { needService } from '../../../test/services.ts'
import { createTestDatabase } from '../db/index.ts'
import { KalshiRest } from '../../pipeline/kalshi-rest/index.ts'
import { startSim } from '../sim/index.ts'
import { kalshiFee } from './kalshi-fee.ts'
import { feeScheduleAt, syncFees } from './sync.ts'

const pg = await needService('postgres')
const NOW = Date.parse('2026-03-02T12:00:00Z')
const sim = startSim({ seed: 2, markets: 50, restRateLimit: 0, clock: () => NOW, lifecycleTickMs: 3_600_000 })
afterAll(() => sim.stop())
const DAY = 86_400_000

describe.skipIf(!pg.ok)(`fees sync (${pg.reason})`, () => {
  test('fee changes become non-overlapping periods; series without changes are seeded from 2020-01-01; a rerun adds nothing', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const rest = new KalshiRest({ baseUrl: sim.restUrl })
    const series = sim.universe.series
    const r = await syncFees(db.sql, rest, { now: () => NOW })
    // the simulator: series i%3==0 has a change i+1 days ago, and (i even) another i+1 days ahead
    const changed = series.filter((_, i) => i % 3 === 0)
    const future = series.filter((_, i) => i % 3 === 0 && i % 2 === 0)
    expect(r).toEqual({ fetched: changed.length + future.length, inserted: changed.length + future.length, skipped: 0, invalid: 0, seeded: series.length - changed.length })
    const periods = await db.sql`select series_ticker, fee_type::text, effective_from, effective_to, source_id from series_fees order by series_ticker, effective_from`
    const s0 = series[0]
    expect(periods.filter((p) => p.series_ticker === s0.ticker).map((p) => [p.effective_from.getTime(), p.effective_to?.getTime() ?? null])).toEqual([
      [NOW - DAY, NOW + DAY],
      [NOW + DAY, null],
    ])
    const s1 = series[1]
    expect(periods.filter((p) => p.series_ticker === s1.ticker).map((p) => [p.effective_from.toISOString(), p.effective_to, p.source_id])).toEqual([
      ['2020-01-01T00:00:00.000Z', null, `seed:${s1.ticker}`],
    ])
    expect(await syncFees(db.sql, rest, { now: () => NOW })).toEqual({ ...r, inserted: 0, skipped: r.fetched, seeded: 0 })
  })

  test('feeScheduleAt returns the period in force, which prices a fill with the fee formula', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    await syncFees(db.sql, new KalshiRest({ baseUrl: sim.restUrl }), { now: () => NOW })
    const s0 = sim.universe.series[0]
    const now = await feeScheduleAt(db.sql, s0.ticker, new Date(NOW))
    const later = await feeScheduleAt(db.sql, s0.ticker, new Date(NOW + 2 * DAY))
    expect([now?.feeType, later?.feeType, later?.effectiveTo]).toEqual([s0.feeType, 'quadratic_with_maker_fees', null])
    expect(await feeScheduleAt(db.sql, s0.ticker, new Date('2019-01-01'))).toBeNull()
    const fee = kalshiFee({ price: 0.5, contracts: 100, side: 'taker', feeType: later!.feeType, multiplier: later!.feeMultiplier })
    expect(fee).toBe(1.75)
  })

  test('a change older than a stored period ends where that period starts (no overlap)', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    await db.sql`insert into series_fees (series_ticker, fee_type, effective_from, source_id) values ('X', 'quadratic', '2026-02-01', 'b')`
    await using server = Bun.serve({
      port: 0,
      fetch: (req) => new URL(req.url).pathname.endsWith('fee_changes')
        ? Response.json({ series_fee_change_arr: [{ id: 'a', series_ticker: 'X', fee_type: 'flat', fee_multiplier: 1, scheduled_ts: '2026-01-01T00:00:00Z' }, { id: 'z', series_ticker: 'X', fee_type: 'bogus', scheduled_ts: '2026-01-02T00:00:00Z' }] })
        : Response.json({ series: [], cursor: '' }),
    })
    const r = await syncFees(db.sql, new KalshiRest({ baseUrl: `http://127.0.0.1:${server.port}/trade-api/v2` }))
    expect([r.inserted, r.invalid]).toEqual([1, 1])
    const rows = await db.sql`select source_id, effective_from, effective_to from series_fees order by effective_from`
    expect(rows.map((x) => [x.source_id, x.effective_from.toISOString().slice(0, 10), x.effective_to?.toISOString().slice(0, 10) ?? null])).toEqual([
      ['a', '2026-01-01', '2026-02-01'],
      ['b', '2026-02-01', null],
    ])
  })
})
