import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import Redis from 'ioredis'
import { waitFor } from '../../pipeline/core/wait.ts'
import { needLogicalWal, needService, uniqueId } from '../../../test/services.ts'
import { startCdc, type Cdc } from '../cdc/cdc.ts'
import { cdcFixture, type CdcFixture } from '../cdc/cdc-fixture.ts'
import type { Sql } from 'postgres'
import type { CdcEvent } from '../cdc/index.ts'
import { applyEvents } from './apply.ts'
import { startCache, type Cache } from './cache.ts'
import { cacheKeys } from './keys.ts'
import { newCacheState } from './write.ts'

const pg = await needLogicalWal(await needService('postgres'))
const nats = await needService('nats')
const redisGate = await needService('redis')

describe.skipIf(!pg.ok || !nats.ok || !redisGate.ok)(`cache keys that change with no event on their row (${pg.reason}; ${redisGate.reason})`, () => {
  let f: CdcFixture
  let redis: Redis
  let cache: Cache | undefined
  let cdc: Cdc | undefined
  let prefix: string

  beforeAll(async () => {
    f = await cdcFixture(pg.url, nats.url, uniqueId('rf'))
    redis = new Redis(redisGate.url)
    prefix = `${f.id}:`
  })
  afterAll(async () => {
    await cache?.stop()
    await cdc?.stop().catch(() => {})
    if (redis) {
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length) await redis.del(...keys)
      redis.disconnect()
    }
    await f?.cleanup()
  })

  const start = (markCheckMs?: number) =>
    startCache({ sql: f.sql, nc: f.nc, redis, stream: f.stream, subjectPrefix: f.subjectPrefix, consumer: `cache_${f.id}`, keyPrefix: prefix, markCheckMs })

  test('a market that becomes active writes its event key, which the warm-up skipped (no active market then)', async () => {
    const { sql } = f
    await sql`insert into series (ticker, title, category) values ('S1', 'Series one', 'Crypto')`
    await sql`insert into events (event_ticker, title, series_ticker, status) values ('E1', 'Event one', 'S1', 'active')`
    await sql`insert into markets (ticker, event_ticker, title, status) values ('M1', 'E1', 'Market one', 'initialized')`
    cdc = await startCdc({ sql, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 10 })
    cache = await start()
    const k = cacheKeys(prefix)
    expect(await redis.exists(k.event('S1', 'E1'))).toBe(0)
    await sql`update markets set status = 'active' where ticker = 'M1'`
    await waitFor(async () => (await redis.exists(k.market('S1', 'E1', 'M1'))) === 1, 'M1 applied from CDC')
    const warmed = JSON.parse((await redis.get(k.event('S1', 'E1'))) ?? 'null')
    expect(warmed).toMatchObject({ event_ticker: 'E1', status: 'active' })
    expect(await redis.pexpiretime(k.event('S1', 'E1'))).toBe(-1)
    // the same JSON a warm-up writes
    await cache.stop()
    cache = await start()
    expect(JSON.parse((await redis.get(k.event('S1', 'E1')))!)).toEqual(warmed)
  })

  test('a batch of many active markets of an event that is not active (or not there) reads the events once', async () => {
    const { sql } = f
    await sql`insert into events (event_ticker, title, series_ticker, status) values ('EIN', 'Inactive', 'S1', 'closed'), ('EON', 'On', 'S1', 'active')`
    let queries = 0
    const counted = new Proxy(sql, {
      apply: (t, self, args) => (queries++, Reflect.apply(t, self, args)),
      get: (t, p) => (p === 'unsafe' ? (...a: unknown[]) => (queries++, (t.unsafe as (...x: unknown[]) => unknown)(...a)) : Reflect.get(t, p)),
    }) as Sql
    const market = (ticker: string, event: string): CdcEvent => ({
      lsn: '0/1', commit_lsn: '0/1', table: 'markets', op: 'insert', old_keys: null, commit_time: '', xid: 1,
      row: { ticker, event_ticker: event, title: ticker, status: 'active', close_time: null },
    })
    const events = [
      ...Array.from({ length: 40 }, (_, i) => market(`MIN${i}`, 'EIN')),
      ...Array.from({ length: 10 }, (_, i) => market(`MNO${i}`, 'ENOTYET')),
      ...Array.from({ length: 5 }, (_, i) => market(`MON${i}`, 'EON')),
    ]
    const k = cacheKeys(`${prefix}batch:`)
    const pipe = redis.pipeline()
    await applyEvents(pipe, events, { sql: counted, keys: k, state: newCacheState(), nowMs: Date.now() })
    expect(queries).toBe(1)
    await pipe.exec()
    expect(await redis.exists(k.event('S1', 'EIN'))).toBe(0)
    expect(await redis.exists(k.event('S1', 'EON'))).toBe(1)
    // the monitor entry, as the warm-up writes it (no active market of EON in PostgreSQL)
    expect(JSON.parse((await redis.hget(k.monitorEvents('S1'), 'EON'))!)).toEqual({ title: 'On', status: 'active', strike_date: null, market_count: 0 })
    expect(JSON.parse((await redis.get(k.event('S1', 'EON')))!)).not.toHaveProperty('__market_count')
  })

  test('a scheduled fee change takes effect in Redis at its boundary, with no CDC event then', async () => {
    cache ??= await start()
    const { sql } = f
    const k = cacheKeys(prefix)
    const boundary = new Date(Date.now() + 3000).toISOString()
    await sql`insert into series_fees (series_ticker, fee_type, fee_multiplier, effective_from, effective_to) values
      ('S1', 'quadratic', 0.5, now() - interval '1 day', ${boundary}), ('S1', 'quadratic', 0.7, ${boundary}, null)`
    const fee = async () => Number(JSON.parse((await redis.get(k.fee('S1'))) ?? '{}').fee_multiplier)
    await waitFor(async () => (await fee()) === 0.5, 'the current fee from CDC', 2_500)
    await waitFor(async () => (await fee()) === 0.7, 'the next fee at its boundary', 5_000)
  })

  test('keys deleted under a connected cache (the mark with them): it warms again', async () => {
    await cache?.stop()
    cache = await start(100)
    const k = cacheKeys(prefix)
    const keys = await redis.keys(`${prefix}*`)
    await redis.del(...keys)
    await waitFor(() => cache!.stats().rewarms === 1 && !cache!.stats().warming, 'the cache to warm again', 5_000)
    expect(await redis.exists(k.warmMark, k.series('S1'), k.event('S1', 'E1'), k.market('S1', 'E1', 'M1'), k.fee('S1'))).toBe(5)
    expect(cache.stats().warmMark).toBe(true)
  })
})
