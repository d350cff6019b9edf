import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { Subprocess } from 'bun'
import Redis from 'ioredis'
import { waitFor } from '../../pipeline/core/wait.ts'
import { reachable } from '../../pipeline/core/services.ts'
import { freePort, haveNatsServer, startOwnedNatsServer, stopNatsServer } from '../../../test/nats-server.ts'
import { needLogicalWal, needService, uniqueId } from '../../../test/services.ts'
import { startCdc, type Cdc } from '../cdc/cdc.ts'
import { cdcFixture, type CdcFixture } from '../cdc/cdc-fixture.ts'
import { startCache, type Cache } from './cache.ts'
import { cacheKeys } from './keys.ts'

const pg = await needLogicalWal(await needService('postgres'))
const redisGate = await needService('redis')
const nats = await needService('nats')

describe.skipIf(!pg.ok || !redisGate.ok || !haveNatsServer)(`cache across a NATS restart (${pg.reason}; ${redisGate.reason}; a nats-server of its own)`, () => {
  let f: CdcFixture
  let server: Subprocess
  let port: number
  let store: string
  let nc: NatsConnection
  let redis: Redis
  let cache: Cache | undefined
  let cdc: Cdc | undefined
  const cleanups: (() => Promise<void> | void)[] = []

  beforeAll(async () => {
    port = await freePort()
    store = mkdtempSync(join(tmpdir(), 'ssmd-cache-outage-'))
    server = await startOwnedNatsServer(port, store, cleanups)
    f = await cdcFixture(pg.url, `nats://127.0.0.1:${port}`, uniqueId('co'))
    nc = await connect({ servers: `nats://127.0.0.1:${port}`, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
    redis = new Redis(redisGate.url)
  })
  afterAll(async () => {
    await cache?.stop()
    await cdc?.stop().catch(() => {})
    const keys = await redis.keys(`${f.id}:*`)
    if (keys.length) await redis.del(...keys)
    redis.disconnect()
    await nc.close().catch(() => {})
    await f?.cleanup().catch(() => {})
    for (const c of cleanups.reverse()) await c()
    rmSync(store, { recursive: true, force: true })
  })

  test('pulls that fail while the server is away are retried; the changes made meanwhile reach Redis once it is back', async () => {
    const { sql } = f
    const k = cacheKeys(`${f.id}:`)
    cdc = await startCdc({ sql, nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 10 })
    cache = await startCache({ sql, nc, redis, stream: f.stream, subjectPrefix: f.subjectPrefix, consumer: `cache_${f.id}`, keyPrefix: `${f.id}:` })
    await sql`insert into series (ticker, title, category) values ('S1', 'one', 'Crypto')`
    await waitFor(async () => (await redis.exists(k.series('S1'))) === 1, 'S1 in Redis')

    await stopNatsServer(server)
    await sql`insert into series (ticker, title, category) values ('S2', 'two', 'Crypto')`
    await sql`update series set title = 'one again' where ticker = 'S1'`
    server = await startOwnedNatsServer(port, store, cleanups)
    await waitFor(async () => (await redis.exists(k.series('S2'))) === 1, 'S2 in Redis after the restart', 30_000)
    await waitFor(async () => JSON.parse((await redis.get(k.series('S1'))) ?? '{}').title === 'one again', 'the update to S1', 30_000)
    let finished = false
    void cache.done.finally(() => (finished = true))
    await Promise.resolve()
    expect({ finished, rewarms: cache.stats().rewarms }).toEqual({ finished: false, rewarms: 0 })
  }, 90_000)
})

const REDIS_SERVER = '/usr/bin/redis-server'

/** A redis-server of the test's own (no persistence, as the local default runs it); stopped by its PID. */
async function startRedis(port: number): Promise<Subprocess> {
  const proc = Bun.spawn([REDIS_SERVER, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'ignore' })
  await waitFor(() => reachable(`redis://127.0.0.1:${port}`, 200), `redis-server on port ${port}`)
  return proc
}

describe.skipIf(!pg.ok || !nats.ok || !existsSync(REDIS_SERVER))(`cache across a Redis restart that loses its data (${pg.reason}; ${nats.reason}; a redis-server of its own)`, () => {
  test('the cache notices the empty Redis and warms it again; CDC events go on being applied', async () => {
    const port = await freePort()
    let server = await startRedis(port)
    const stopRedis = async () => {
      server.kill('SIGKILL')
      await server.exited
    }
    const f = await cdcFixture(pg.url, nats.url, uniqueId('cr'))
    const redis = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: null, retryStrategy: () => 100 })
    let cache: Cache | undefined
    let cdc: Cdc | undefined
    try {
      const { sql } = f
      const k = cacheKeys(`${f.id}:`)
      await sql`insert into series (ticker, title, category) values ('S1', 'one', 'Crypto')`
      cdc = await startCdc({ sql, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 10 })
      cache = await startCache({ sql, nc: f.nc, redis, stream: f.stream, subjectPrefix: f.subjectPrefix, consumer: `cache_${f.id}`, keyPrefix: `${f.id}:` })
      expect(await redis.exists(k.series('S1'), k.warmMark)).toBe(2)

      await stopRedis() // its data with it
      server = await startRedis(port)
      await waitFor(() => cache!.stats().rewarms === 1 && !cache!.stats().warming, 'the cache to warm the new Redis', 20_000)
      expect(await redis.exists(k.series('S1'), k.warmMark, k.monitorCategories)).toBe(3)
      await sql`insert into series (ticker, title, category) values ('S2', 'two', 'Crypto')`
      await waitFor(async () => (await redis.exists(k.series('S2'))) === 1, 'S2 applied after the warm-up')
    } finally {
      await cache?.stop()
      await cdc?.stop().catch(() => {})
      redis.disconnect()
      await f.cleanup().catch(() => {})
      await stopRedis()
    }
  }, 60_000)
})
