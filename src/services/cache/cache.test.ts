import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import Redis from 'ioredis'
import { waitFor } from '../../pipeline/core/wait.ts'
import { needLogicalWal, needService, uniqueId } from '../../../test/services.ts'
import { startCdc } from '../cdc/cdc.ts'
import { cdcFixture, type CdcFixture } from '../cdc/cdc-fixture.ts'
import { startCache, type Cache } from './cache.ts'

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
    expect(await snapshotKeys()).toEqual({
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
})
