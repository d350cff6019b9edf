/**
 * CDC and cache throughput, end to end on the local services:
 * - CDC events/s: N series rows inserted (batches of 1000) while CDC is down, then the time for
 *   `ssmd cdc`'s loop to put all N events in the stream; baseline: the INSERT rate of those rows.
 * - cache warm writes/s (N series keys) and cache CDC apply events/s (N updates, from the first
 *   update to the last one applied in Redis); baseline: bare pipelined SETs of the same values.
 * Needs PostgreSQL (wal_level=logical), NATS and Redis. Run: `bun bench/cdc.bench.ts`
 * (SSMD_BENCH_CDC_ROWS, default 20,000).
 */
import { jetstreamManager } from '@nats-io/jetstream'
import Redis from 'ioredis'
import { LOCAL_SERVICES } from '../src/pipeline/core/services.ts'
import { waitFor } from '../src/pipeline/core/wait.ts'
import { startCache } from '../src/services/cache/index.ts'
import { startCdc } from '../src/services/cdc/index.ts'
import { cdcFixture } from '../src/services/cdc/cdc-fixture.ts'
import { report } from './runner.ts'

const N = Number(process.env.SSMD_BENCH_CDC_ROWS ?? 20_000)
const BATCH = 1000
const id = `b${Date.now().toString(36)}`
const f = await cdcFixture(LOCAL_SERVICES.postgres, LOCAL_SERVICES.nats, id)
const redis = new Redis(LOCAL_SERVICES.redis)
const prefix = `${id}:`
const options = { sql: f.sql, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 5 }
try {
  await (await startCdc(options)).stop() // slot and publication exist before the rows
  const rows = Array.from({ length: N }, (_, i) => ({ ticker: `BENCH${i}`, title: `Bench series ${i}`, category: 'Bench', tags: ['a', 'b'] }))
  let t0 = performance.now()
  for (let i = 0; i < N; i += BATCH) await f.sql`insert into series ${f.sql(rows.slice(i, i + BATCH))}`
  const insertRate = N / ((performance.now() - t0) / 1000)

  const jsm = await jetstreamManager(f.nc)
  t0 = performance.now()
  const cdc = await startCdc(options)
  await waitFor(async () => (await jsm.streams.info(f.stream)).state.messages >= N, `${N} events in the stream`, 120_000, 20)
  const cdcRate = N / ((performance.now() - t0) / 1000)

  t0 = performance.now()
  const cache = await startCache({ sql: f.sql, nc: f.nc, redis, stream: f.stream, subjectPrefix: f.subjectPrefix, consumer: `cache_${id}`, keyPrefix: prefix })
  const warmRate = cache.stats().warm.series / ((performance.now() - t0) / 1000)
  t0 = performance.now()
  for (let i = 0; i < N; i += BATCH) await f.sql`update series set volume = volume + 1 where ticker in ${f.sql(rows.slice(i, i + BATCH).map((r) => r.ticker))}`
  await waitFor(() => cache.stats().applied >= N, `${N} updates applied`, 120_000, 20)
  const applyRate = N / ((performance.now() - t0) / 1000)
  await cache.stop()
  await cdc.stop()

  const value = JSON.stringify({ ...rows[0], volume: 0, active: true })
  t0 = performance.now()
  for (let i = 0; i < N; i += BATCH) {
    const pipe = redis.pipeline()
    for (let j = i; j < Math.min(N, i + BATCH); j++) pipe.set(`${prefix}bare:${j}`, value)
    await pipe.exec()
  }
  const setRate = N / ((performance.now() - t0) / 1000)

  report(`cdc events/s (${N} inserts → stream)`, cdcRate, 'events/s', { baseline: insertRate, baselineName: 'INSERT rows/s of the same rows' })
  report(`cache warm writes/s (${N} series)`, warmRate, 'keys/s', { baseline: setRate, baselineName: 'bare pipelined SET/s' })
  report(`cache apply events/s (${N} updates → CDC → Redis)`, applyRate, 'events/s', { baseline: setRate, baselineName: 'bare pipelined SET/s' })
} finally {
  const keys = await redis.keys(`${prefix}*`)
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000))
  redis.disconnect()
  await f.cleanup()
}
