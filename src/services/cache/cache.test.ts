import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import Redis from 'ioredis'
import { waitFor } from '../../pipeline/core/wait.ts'
import { needLogicalWal, needService, uniqueId } from '../../../test/services.ts'
import { startCdc } from '../cdc/cdc.ts'
import { cdcFixture, type CdcFixture } from '../cdc/cdc-fixture.ts'
import { jetstreamManager } from '@nats-io/jetstream'
import { startCache, type Cache } from './cache.ts'
import { cacheKeys, globLiteral } from './keys.ts'

const pg = await needLogicalWal(await needService('postgres'))
const nats = await needService('nats')
const redisGate = await needService('redis')
const DAY = 86_400_000

describe.skipIf(!pg.ok || !nats.ok || !redisGate.ok)(`cache warm-up + CDC into Redis (${pg.reason}; ${redisGate.reason})`, () => {
  let f: CdcFixture
  let redis: Redis
  let cache: Cache | undefined
  let prefix: string
  const T = Math.floor(Date.now() / 1000) * 1000 // the cache's fixed clock
  // PostgreSQL's form, which CDC events and warmed rows carry: no fraction when it is zero
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')
  const cdcOptions = () => ({ sql: f.sql, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 10 })

  beforeAll(async () => {
    f = await cdcFixture(pg.url, nats.url, uniqueId('r'))
    redis = new Redis(redisGate.url, { lazyConnect: false })
    prefix = `${f.id}:`
  })
  afterAll(async () => {
    await cache?.stop()
    if (redis) {
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length) await redis.del(...keys)
      redis.disconnect()
    }
    await f?.cleanup()
  })

  async function snapshotKeys(): Promise<Record<string, number>> {
    const keys = (await redis.keys(`${prefix}*`)).sort()
    const out: Record<string, number> = {}
    for (const k of keys) out[k.slice(prefix.length)] = await redis.pexpiretime(k)
    return out
  }

  test('warms the expected keys, skips events before the snapshot, then applies CDC with the TTL policy', async () => {
    // the slot exists before the setup rows, so CDC will publish them later (they precede the snapshot)
    const first = await startCdc(cdcOptions())
    await first.stop()
    const { sql } = f
    await sql`insert into series (ticker, title, category) values ('S1', 'Series one', 'Crypto')`
    await sql`insert into series_fees (series_ticker, fee_type, fee_multiplier, effective_from) values ('S1', 'quadratic', 0.5, ${iso(T - 30 * DAY)})`
    await sql`insert into events (event_ticker, title, series_ticker, status, strike_date) values ('E1', 'Event one', 'S1', 'active', ${iso(T + 10 * DAY)}), ('E2', 'Event two', 'S1', 'closed', ${iso(T - 5 * DAY)})`
    await sql`insert into markets (ticker, event_ticker, title, status, close_time, yes_bid) values
      ('M1', 'E1', 'Market one', 'active', ${iso(T + 5 * DAY)}, 0.2500),
      ('M2', 'E1', 'Market two', 'settled', ${iso(T - 2 * DAY)}, null),
      ('M3', 'E2', 'Market three', 'closed', null, null)`

    cache = await startCache({ sql: f.sql, nc: f.nc, redis, stream: f.stream, subjectPrefix: f.subjectPrefix, consumer: `cache_${f.id}`, keyPrefix: prefix, now: () => T })
    // no CDC yet: every table × op counter exported at 0 before its first event (increase() would miss it)
    const metrics = (await cache.registry.metrics()).split('\n')
    const zero = ['events', 'markets', 'series', 'series_fees'].flatMap((t) => ['insert', 'update', 'delete'].map((op) => `ssmd_cache_cdc_events_total{table="${t}",op="${op}"} 0`))
    expect(zero.filter((l) => !metrics.includes(l))).toEqual([])
    expect(await snapshotKeys()).toEqual({
      'cache:warm': -1, // the warm-up's mark (a Redis that comes back without it is warmed again)
      'secmaster:series:S1': -1,
      'secmaster:series:S1:E1': -1,
      'secmaster:series:S1:E1:M1': -1,
      'secmaster:fee:S1': -1,
      'monitor:categories': -1,
      'monitor:series:Crypto': -1,
      'monitor:events:S1': -1,
      'monitor:markets:E1': -1,
    })
    expect(JSON.parse((await redis.get(`${prefix}secmaster:series:S1:E1:M1`))!)).toMatchObject({ ticker: 'M1', yes_bid: '0.2500', close_time: iso(T + 5 * DAY) })
    expect(JSON.parse((await redis.hget(`${prefix}monitor:categories`, 'Crypto'))!)).toEqual({ event_count: 1, series_count: 1 })
    expect(JSON.parse((await redis.hget(`${prefix}monitor:series:Crypto`, 'S1'))!)).toEqual({ title: 'Series one', active_events: 1, active_markets: 1 })
    expect(JSON.parse((await redis.hget(`${prefix}monitor:markets:E1`, 'M1'))!)).toEqual({ title: 'Market one', status: 'active', close_time: iso(T + 5 * DAY) })

    const cdc = await startCdc(cdcOptions())
    try {
      await waitFor(() => cache!.stats().skipped >= 7, 'the 7 setup changes to be skipped as already warm')
      await sql`update markets set status = 'settled', close_time = ${iso(T - DAY / 2)} where ticker = 'M1'`
      await sql`insert into markets (ticker, event_ticker, title, status) values ('M4', 'E1', 'Market four', 'active')`
      await sql`insert into markets (ticker, event_ticker, title, status, close_time) values ('M5', 'E1', 'Market five', 'settled', ${iso(T - 3 * DAY)})`
      await sql`update markets set status = 'settled' where ticker = 'M3'`
      await sql`update events set status = 'closed' where event_ticker = 'E1'`
      await sql`update markets set status = 'settled', close_time = ${iso(T - 2 * DAY)} where ticker = 'M4'`
      await waitFor(() => cache!.stats().applied >= 6, '6 live CDC events applied')
      expect(cache.stats()).toMatchObject({ skipped: 7, applied: 6 })
      expect(await snapshotKeys()).toEqual({
        'cache:warm': -1,
        'secmaster:series:S1': -1,
        'secmaster:series:S1:E1': T + 11 * DAY, // closed: strike_date + 1 day
        'secmaster:series:S1:E1:M1': T + DAY / 2, // settled: close_time + 1 day
        'secmaster:series:S1:E2:M3': T + DAY, // settled without close_time: now + 1 day
        'secmaster:fee:S1': -1,
        'monitor:categories': -1,
        'monitor:series:Crypto': -1,
        // M4 was written, then removed when it settled already expired; M5 was never written;
        // E1 left monitor:events:S1 and both markets left monitor:markets:E1, so those hashes are gone
      })
    } finally {
      await cdc.stop()
    }
  })
  const start = () => startCache({ sql: f.sql, nc: f.nc, redis, stream: f.stream, subjectPrefix: f.subjectPrefix, consumer: `cache_${f.id}`, keyPrefix: prefix, now: () => T })

  test('a restart deletes the keys of rows that stopped being active while no cache followed CDC, and leaves other keys alone', async () => {
    await cache?.stop()
    cache = undefined
    const { sql } = f
    await sql`insert into series (ticker, title, category) values ('S2', 'Series two', 'Weather')`
    await sql`insert into events (event_ticker, title, series_ticker, status) values ('E3', 'Event three', 'S2', 'active')`
    await sql`insert into markets (ticker, event_ticker, title, status) values ('M6', 'E3', 'Market six', 'active'), ('M7', 'E3', 'Market seven', 'active')`
    await redis.set(`${prefix}monitor:treemap`, '[]') // not the cache's key
    await redis.set(`${prefix}secmaster:pair:P1`, '{}') // another exchange's key, not written by this warm-up
    cache = await start()
    const k = cacheKeys(prefix)
    expect(await redis.exists(k.event('S2', 'E3'), k.market('S2', 'E3', 'M6'), k.market('S2', 'E3', 'M7'), k.monitorMarkets('E3'), k.monitorEvents('S2'))).toBe(5)
    await cache.stop()
    cache = undefined

    // while no cache runs: M6 settles long ago, M7 is deleted, so E3 has no active market left
    await sql`update markets set status = 'settled', close_time = ${iso(T - 3 * DAY)} where ticker = 'M6'`
    await sql`delete from markets where ticker = 'M7'`
    cache = await start()
    expect(await redis.exists(k.event('S2', 'E3'), k.market('S2', 'E3', 'M6'), k.market('S2', 'E3', 'M7'), k.monitorMarkets('E3'))).toBe(0)
    expect(cache.stats().warm.staleKeys).toBe(4)
    // the monitor still lists E3: an active event, now with no active market
    expect(JSON.parse((await redis.hget(k.monitorEvents('S2'), 'E3'))!)).toMatchObject({ status: 'active', market_count: 0 })
    expect(await redis.exists(k.series('S2'), `${prefix}monitor:treemap`, `${prefix}secmaster:pair:P1`)).toBe(3)
    expect(JSON.parse((await redis.hget(k.monitorSeries('Weather'), 'S2'))!)).toEqual({ title: 'Series two', active_events: 1, active_markets: 0 })
  })

  test('a consumer deleted under the running cache: it warms again behind a new consumer and goes on applying events', async () => {
    cache ??= await start()
    const k = cacheKeys(prefix)
    const cdc = await startCdc(cdcOptions())
    try {
      const { sql } = f
      await sql`insert into markets (ticker, event_ticker, title, status) values ('M8', 'E3', 'Market eight', 'active')`
      await waitFor(async () => (await redis.exists(k.market('S2', 'E3', 'M8'))) === 1, 'M8 applied from CDC')
      const jsm = await jetstreamManager(f.nc)
      await jsm.consumers.delete(f.stream, `cache_${f.id}`)
      await sql`insert into markets (ticker, event_ticker, title, status) values ('M9', 'E3', 'Market nine', 'active')`
      await waitFor(() => cache!.stats().rewarms === 1 && !cache!.stats().warming, 'the cache to warm again')
      await waitFor(async () => (await redis.exists(k.market('S2', 'E3', 'M9'))) === 1, 'M9 in Redis (from the new warm-up or CDC)')
      // the new consumer carries on: M8 settles, so its key gets the TTL policy's expiry
      await sql`update markets set status = 'settled', close_time = ${iso(T - DAY / 4)} where ticker = 'M8'`
      await waitFor(async () => (await redis.pexpiretime(k.market('S2', 'E3', 'M8'))) === T + (3 * DAY) / 4, 'M8 settled through the new consumer')
      expect(await jsm.consumers.info(f.stream, `cache_${f.id}`)).toBeDefined()
      expect(cache!.stats().warming).toBe(false)
    } finally {
      await cdc.stop()
    }
  })

  test('a second cache on the same consumer is refused naming the first (it re-created the consumer under the first)', async () => {
    cache ??= await start()
    const jsm = await jetstreamManager(f.nc)
    const before = (await jsm.consumers.info(f.stream, `cache_${f.id}`)).created
    const err = await start().then(async (c) => (await c.stop(), null), (e: unknown) => e as { code: string; message: string })
    expect(err?.code).toBe('CONSUMER_IN_USE')
    expect(err?.message).toContain(`cache: consumer cache_${f.id} of stream ${f.stream} is in use by PID ${process.pid}`)
    // the first one's consumer was left alone (the second deleted and re-created it)
    expect((await jsm.consumers.info(f.stream, `cache_${f.id}`)).created).toBe(before)
  })

  test('globLiteral: a prefix with glob characters matches only itself', () => {
    expect(globLiteral('a*b?[c]\\d')).toBe('a\\*b\\?\\[c\\]\\\\d')
    expect(cacheKeys('x*:').secmasterPatterns).toEqual(['x\\*:secmaster:series:*', 'x\\*:secmaster:fee:*'])
  })
})
