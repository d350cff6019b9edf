/** `ssmd cache` as a child process when its start fails: one line, at once, nothing created. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { reachable } from '../../pipeline/core/services.ts'
import { waitFor } from '../../pipeline/core/wait.ts'
import { startMuteNats } from '../../pipeline/transport/mute-nats.fixture.ts'
import { jetstreamManager } from '@nats-io/jetstream'
import Redis from 'ioredis'
import { freePort } from '../../../test/nats-server.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { killIfRunning, runCli, spawnCli } from '../../../test/subprocess.ts'
import { createTestDatabase, type TestDatabase } from '../../services/db/index.ts'
import { connectNats } from '../../pipeline/transport/connect.ts'

const pg = await needService('postgres')
const nats = await needService('nats')
const redis = await needService('redis')

describe.skipIf(!pg.ok || !nats.ok || !redis.ok)(`ssmd cache, a failed start (${pg.reason}; ${nats.reason}; ${redis.reason})`, () => {
  let db: TestDatabase
  const id = uniqueId('cch')
  beforeAll(async () => {
    db = await createTestDatabase(pg.url, { migrated: true })
  })
  afterAll(async () => {
    await db?.drop()
    const r = new Redis(redis.url)
    const keys = await r.keys(`${id}:*`)
    if (keys.length) await r.del(...keys)
    r.disconnect()
  })

  test('NATS unreachable: one line naming the server without its password (was a ConnectionError trace)', async () => {
    const port = await freePort()
    const r = await runCli(['cache', '--database-url', db.url, '--redis-url', redis.url, '--nats-url', `nats://ops:natspw@127.0.0.1:${port}`, '--health-port', '0'])
    expect([r.code, r.err]).toEqual([1, [`error [NATS_CONNECT]: cannot connect to NATS at nats://ops:***@127.0.0.1:${port}: connection refused`]])
  })

  test('its health port taken: exit 1 with EADDRINUSE before the stream, the consumer or Redis are touched (they were, first)', async () => {
    const stream = `CDC_${id}`
    const held = Bun.serve({ port: 0, hostname: '0.0.0.0', fetch: () => new Response('') })
    const nc = await connectNats(nats.url)
    const jsm = await jetstreamManager(nc)
    try {
      const r = await runCli(['cache', '--database-url', db.url, '--redis-url', redis.url, '--nats-url', nats.url, '--stream', stream,
        '--subject-prefix', `cdc_${id}`, '--key-prefix', `${id}:`, '--health-port', String(held.port)])
      expect([r.code, r.err]).toEqual([1, [expect.stringMatching(/^error \[EADDRINUSE\]: /)]])
      expect(await jsm.streams.info(stream).catch(() => null)).toBeNull()
    } finally {
      await held.stop(true)
      await jsm.streams.delete(stream).catch(() => {})
      await nc.close()
    }
  })

  test('NATS that stops answering during start-up (finding 4): one line NATS_UNAVAILABLE naming the server, exit 1, at once (was a raw TimeoutError stack)', async () => {
    const mute = await startMuteNats()
    try {
      const t0 = performance.now()
      const r = await runCli(['cache', '--database-url', db.url, '--redis-url', redis.url, '--nats-url', mute.url, '--stream', `CDC_M_${id}`,
        '--subject-prefix', `cdcm_${id}`, '--key-prefix', `${id}:`, '--health-port', '0'])
      expect([r.code, r.err]).toEqual([1, [
        `error [NATS_UNAVAILABLE]: NATS at ${mute.url.slice('nats://'.length)} stopped answering during the JetStream set-up and warm-up (stream, consumer) (timeout): it is down or restarting; start again once it is back`,
      ]])
      expect(performance.now() - t0).toBeLessThan(15_000)
    } finally {
      await mute.close()
    }
  }, 30_000)

  test.skipIf(!existsSync(REDIS_SERVER))('Redis stopped while running (finding 7): /health stays 200 naming redis, /ready 503 until Redis is back and warmed (liveness used to fail: a restart for nothing)', async () => {
    const port = await freePort()
    let server = await startRedis(port)
    const stream = `CDC_R_${id}`
    const c = spawnCli(['cache', '--database-url', db.url, '--redis-url', `redis://127.0.0.1:${port}`, '--nats-url', nats.url, '--stream', stream,
      '--subject-prefix', `cdcr_${id}`, '--consumer', `cache_r_${id}`, '--key-prefix', `${id}:`, '--health-port', '0'], { SSMD_LOG_LEVEL: 'info' })
    const nc = await connectNats(nats.url)
    try {
      const [line] = await c.waitOut(1, 'cache running', (l) => l.includes('"cache running"'))
      const ops = (JSON.parse(line) as { ops: string }).ops
      const probe = async (path: string) => {
        const r = await fetch(`${ops}${path}`)
        const b = (await r.json()) as { redis: string; nats: string }
        return { status: r.status, redis: b.redis === 'ready' ? 'ready' : 'away', nats: b.nats }
      }
      expect([await probe('/health'), await probe('/ready')]).toEqual([
        { status: 200, redis: 'ready', nats: 'connected' }, { status: 200, redis: 'ready', nats: 'connected' },
      ])
      server.kill('SIGKILL')
      await server.exited
      await waitFor(async () => (await probe('/ready')).status === 503, '/ready 503 while Redis is away')
      expect([await probe('/health'), await probe('/ready')]).toEqual([
        { status: 200, redis: 'away', nats: 'connected' }, { status: 503, redis: 'away', nats: 'connected' },
      ])
      server = await startRedis(port)
      await waitFor(async () => (await probe('/ready')).status === 200, '/ready 200 once Redis is back and warmed', 20_000)
      expect(await c.stop('SIGTERM')).toBe(0)
    } finally {
      killIfRunning(c)
      server.kill('SIGKILL')
      await server.exited
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => {})
      await nc.close()
    }
  }, 60_000)
})

const REDIS_SERVER = '/usr/bin/redis-server'

/** A redis-server of the test's own (no persistence); stopped by its PID. */
async function startRedis(port: number): Promise<Bun.Subprocess> {
  const proc = Bun.spawn([REDIS_SERVER, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'ignore' })
  await waitFor(() => reachable(`redis://127.0.0.1:${port}`, 200), `redis-server on port ${port}`)
  return proc
}
