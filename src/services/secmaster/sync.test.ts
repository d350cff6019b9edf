import { afterAll, describe, expect, test } from 'bun:test'
import { needService } from '../../../test/services.ts'
import { DataError } from '../../pipeline/core/errors.ts'
import { createTestDatabase } from '../db/index.ts'
import { KalshiRest } from '../../pipeline/kalshi-rest/index.ts'
import { startSim, type Sim } from '../sim/index.ts'
import { ANCHOR_KEYS } from './anchors.ts'
import { syncSeries } from './series-sync.ts'
import { syncSecmaster, type SyncProgress } from './sync.ts'

const pg = await needService('postgres')
const NOW = Date.parse('2026-03-02T12:07:00Z')
const sims: Sim[] = []
function sim(markets: number, o: { seed?: number; restRateLimit?: number; format?: 'cents' | 'dollars' } = {}): Sim {
  const s = startSim({ seed: o.seed ?? 3, markets, restRateLimit: o.restRateLimit ?? 0, clock: () => NOW, lifecycleTickMs: 3_600_000, format: o.format })
  sims.push(s)
  return s
}
afterAll(() => Promise.all(sims.map((s) => s.stop())))

/** A REST client that records the URLs it asked for (real fetch underneath). */
function client(s: Sim, urls: string[] = []): KalshiRest {
  return new KalshiRest({ baseUrl: s.restUrl, ratePerSecond: 10_000, fetch: ((u: URL, init?: RequestInit) => (urls.push(String(u)), fetch(u, init))) as typeof fetch })
}

async function counts(sql: import('postgres').Sql) {
  const [r] = await sql<{ e: number; m: number; de: number; dm: number }[]>`
    select (select count(*)::int from events where deleted_at is null) e, (select count(*)::int from markets where deleted_at is null) m,
           (select count(*)::int from events where deleted_at is not null) de, (select count(*)::int from markets where deleted_at is not null) dm`
  return r
}

describe.skipIf(!pg.ok)(`secmaster sync (${pg.reason})`, () => {
  test('full sync fetches every page and stores exactly the universe, statuses mapped', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const s = sim(430)
    const rest = client(s)
    const progress: SyncProgress[] = []
    const r = await syncSecmaster(db.sql, rest, { eventsPageSize: 7, marketsPageSize: 50, onProgress: (p) => progress.push(p) })
    const u = s.universe
    expect(r.pages).toBe(Math.ceil(u.events.length / 7) + Math.ceil(u.markets.length / 50))
    expect(progress.filter((p) => p.phase === 'markets').map((p) => p.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(await counts(db.sql)).toEqual({ e: u.events.length, m: 430, de: 0, dm: 0 })
    expect([r.events, r.markets, r.orphans, r.changedMarkets]).toEqual([u.events.length, 430, 0, 430])
    const byStatus = await db.sql<{ status: string; n: number }[]>`select status, count(*)::int n from markets group by 1 order by 1`
    const want: Record<string, number> = {}
    for (const m of u.markets) want[m.status] = (want[m.status] ?? 0) + 1
    expect(Object.fromEntries(byStatus.map((x) => [x.status, x.n]))).toEqual(want)
    const m = u.markets[0]
    const [row] = await db.sql`select yes_bid::text, close_time, volume::text from markets where ticker = ${m.ticker}`
    expect([row.close_time.getTime(), row.volume]).toEqual([m.closeMs, String(m.volume)])
  })

  test('a second identical sync changes no row and keeps updated_at', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const s = sim(120)
    await syncSecmaster(db.sql, client(s))
    await db.sql`alter table markets disable trigger markets_touch_updated_at`
    await db.sql`update markets set updated_at = '2020-01-01'`
    await db.sql`alter table markets enable trigger markets_touch_updated_at`
    const r = await syncSecmaster(db.sql, client(s))
    expect([r.markets, r.changedMarkets, r.changedEvents]).toEqual([120, 0, 0])
    expect((await db.sql`select count(*)::int n from markets where updated_at = '2020-01-01'`)[0].n).toBe(120)
  })

  test('rows the API stops returning get deleted_at; they come back when it returns them again', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const big = sim(300)
    const small = sim(140, { seed: 4 })
    await syncSecmaster(db.sql, client(big))
    const r = await syncSecmaster(db.sql, client(small))
    const kept = new Set(small.universe.markets.map((m) => m.ticker))
    const gone = big.universe.markets.filter((m) => !kept.has(m.ticker)).map((m) => m.ticker).sort()
    const deleted = await db.sql<{ ticker: string }[]>`select ticker from markets where deleted_at is not null order by ticker`
    expect(deleted.map((d) => d.ticker)).toEqual(gone)
    expect(r.deleted?.markets).toBe(gone.length)
    expect((await counts(db.sql)).m).toBe(140)
    const noDelete = await syncSecmaster(db.sql, client(big), { noDelete: true })
    expect([noDelete.deleted, (await counts(db.sql)).dm]).toEqual([null, 0])
  })

  test('dry run writes nothing but counts what a sync would do', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const s = sim(90)
    const r = await syncSecmaster(db.sql, client(s), { dryRun: true })
    expect([r.markets, r.dryRun, r.deleted]).toEqual([90, true, { events: 0, markets: 0 }])
    expect([r.changedEvents, r.changedMarkets]).toEqual([s.universe.events.length, 90])
    expect(await counts(db.sql)).toEqual({ e: 0, m: 0, de: 0, dm: 0 })
    await syncSecmaster(db.sql, client(s))
    const changed = s.universe.markets.slice(0, 3).map((m) => m.ticker)
    await db.sql`update markets set volume = volume + 1 where ticker = any(${changed}::text[])`
    await db.sql`update markets set deleted_at = now() where ticker = ${s.universe.markets[3].ticker}`
    const dry = await syncSecmaster(db.sql, client(s), { dryRun: true })
    const real = await syncSecmaster(db.sql, client(s))
    expect([dry.changedEvents, dry.changedMarkets]).toEqual([0, 4])
    expect([real.changedEvents, real.changedMarkets]).toEqual([0, 4])
  })

  test('the soft delete spares rows written while the sync paged, and an event whose markets it saw', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const s = sim(80)
    let inserted = false
    // the lifecycle consumer's `created`: a placeholder event and its market, written mid-sync
    const lifecycleCreated = async () => {
      await db.sql`insert into events (event_ticker, title, series_ticker) values ('LC-NEW', 'placeholder', 'LC')`
      await db.sql`insert into markets (ticker, event_ticker, title, status) values ('LC-NEW-M1', 'LC-NEW', 'placeholder', 'active')`
    }
    const rest = new KalshiRest({
      baseUrl: s.restUrl,
      ratePerSecond: 10_000,
      fetch: (async (u: URL, init?: RequestInit) => {
        if (!inserted && String(u).includes('/markets')) await lifecycleCreated().then(() => (inserted = true))
        return fetch(u, init)
      }) as typeof fetch,
    })
    const r = await syncSecmaster(db.sql, rest)
    expect(inserted).toBe(true)
    expect(r.deleted).toEqual({ events: 0, markets: 0 })
    expect(await counts(db.sql)).toEqual({ e: s.universe.events.length + 1, m: 81, de: 0, dm: 0 })
  })

  test('429s from a low rate limit are waited out and the sync completes', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const s = sim(100, { restRateLimit: 3 })
    const rest = client(s)
    const r = await syncSecmaster(db.sql, rest, { eventsPageSize: 10, marketsPageSize: 25 })
    expect(rest.stats.rateLimited).toBeGreaterThan(0)
    expect([r.markets, (await counts(db.sql)).m]).toEqual([100, 100])
  })

  test('a malformed page fails the sync naming the page; committed pages stay, nothing of the bad page is written', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const s = sim(200)
    const rest = client(s)
    const events = rest.pages('/events', 'events', { limit: 200 })
    for await (const _ of events) void _
    let err: unknown
    const sync = syncSecmaster(db.sql, rest, {
      marketsPageSize: 60,
      onProgress: (p) => p.phase === 'markets' && p.page === 2 && s.applyFault({ name: 'malformed_page' }),
    }).catch((e) => (err = e))
    await sync
    expect(err).toBeInstanceOf(DataError)
    expect((err as DataError).message).toStartWith('GET /markets page 3: the response is not JSON')
    expect((await counts(db.sql)).m).toBe(120)
  })

  test('incremental sync uses the stored anchors and moves them to the start of the run', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const s = sim(200)
    const settledAnchor = '2026-02-27T00:00:00.000Z'
    await db.sql`update settings set value = ${db.sql.json(settledAnchor)} where key = ${ANCHOR_KEYS.settled}`
    const urls: string[] = []
    const r = await syncSecmaster(db.sql, client(s, urls), { mode: 'incremental', now: () => NOW })
    const q = urls.map((u) => new URL(u).searchParams)
    const settled = q.find((p) => p.get('status') === 'settled')!
    const closed = q.find((p) => p.get('status') === 'closed')!
    expect(settled.get('min_settled_ts')).toBe(String(Date.parse(settledAnchor) / 1000))
    expect(closed.get('min_close_ts')).toBe(String((NOW - 7 * 86_400_000) / 1000))
    expect(q.filter((p) => p.has('mve_filter')).length).toBe(4)
    const anchors = await db.sql`select key, value from settings where key like 'secmaster.sync.%' order by key`
    expect(anchors.map((a) => a.value)).toEqual([new Date(NOW).toISOString(), new Date(NOW).toISOString()])
    expect(r.deleted).toBeNull()
    // every market the four passes can see is stored, with its event (fetched when not open)
    expect([r.orphans, (await counts(db.sql)).m]).toEqual([0, r.markets])
  })

  test('by series: series sync, then per series and status the nested events of one category', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const s = sim(400)
    const series = await syncSeries(db.sql, client(s))
    expect(series.series).toBe(s.universe.series.length)
    const cat = s.universe.series[0].category
    const urls: string[] = []
    const progress: string[] = []
    const r = await syncSecmaster(db.sql, client(s, urls), {
      mode: 'by-series', categories: [cat], minCloseDaysAgo: 30, now: () => NOW, onProgress: (p) => p.phase === 'series' && progress.push(`${p.page}/${p.total}:${p.label}`),
    })
    const inCat = s.universe.series.filter((x) => x.category === cat).map((x) => x.ticker).sort()
    expect(progress).toEqual(inCat.map((t, i) => `${i + 1}/${inCat.length}:${t}`))
    const want = s.universe.markets.filter((m) => inCat.includes(m.seriesTicker) && m.closeMs >= NOW - 30 * 86_400_000)
    expect([r.markets, (await counts(db.sql)).m, r.errors]).toEqual([want.length, want.length, 0])
    expect(urls.every((u) => new URL(u).searchParams.get('min_close_ts') === String(Math.floor((NOW - 30 * 86_400_000) / 1000)))).toBe(true)
  })
})
