/** `ssmd cache` as a child process when its start fails: one line, at once, nothing created. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { jetstreamManager } from '@nats-io/jetstream'
import Redis from 'ioredis'
import { freePort } from '../../../test/nats-server.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { runCli } from '../../../test/subprocess.ts'
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
})
