/** `ssmd lifecycle-consumer` as a child process: a failed start is one line with nothing consumed; a clean stop is logged. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { jetstream } from '@nats-io/jetstream'
import { useJetStream } from '../../../test/jetstream.ts'
import { freePort } from '../../../test/nats-server.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { runCli, spawnCli } from '../../../test/subprocess.ts'
import { waitFor } from '../../pipeline/core/wait.ts'
import { createTestDatabase, type TestDatabase } from '../../services/db/index.ts'

const pg = await needService('postgres')
const nats = await needService('nats')

describe.skipIf(!pg.ok || !nats.ok)(`ssmd lifecycle-consumer, child process (${pg.reason}; ${nats.reason})`, () => {
  const ctx = useJetStream(nats)
  const id = uniqueId('lcc')
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase(pg.url, { migrated: true })
  })
  afterAll(() => db?.drop())

  /** A stream on `{subject}.>` holding one lifecycle event. */
  async function stream(name: string, subject: string): Promise<void> {
    await ctx.jsm.streams.add({ name, subjects: [`${subject}.>`] })
    ctx.streams.push(name)
    await jetstream(ctx.nc).publish(`${subject}.json.lifecycle.KXA`, JSON.stringify({
      type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: { market_ticker: 'KXA', event_type: 'created', open_ts: 1770480000, close_ts: 1770490000 },
    }))
  }

  test('NATS unreachable: one line naming the server without its password', async () => {
    const port = await freePort()
    const r = await runCli(['lifecycle-consumer', '--database-url', db.url, '--nats-url', `nats://ops:natspw@127.0.0.1:${port}`, '--health-port', '0'])
    expect([r.code, r.err]).toEqual([1, [`error [NATS_CONNECT]: cannot connect to NATS at nats://ops:***@127.0.0.1:${port}: connection refused`]])
  })

  test('a filter outside the stream (the default dev.kalshi.json.lifecycle.>): exit 1 naming filter, stream, subjects and --filter; no consumer (was a JetStreamApiError trace)', async () => {
    const name = `LC_F_${id}`
    await stream(name, `${id}-f`)
    const r = await runCli(['lifecycle-consumer', '--database-url', db.url, '--nats-url', nats.url, '--stream', name, '--consumer', `c-${id}`, '--health-port', '0'])
    expect([r.code, r.err]).toEqual([1, [
      `error [FILTER_NOT_IN_STREAM]: consumer filter dev.kalshi.json.lifecycle.> is outside stream ${name}, whose subjects are [${id}-f.>]: change the filter (--filter, or lifecycle.filter in the environment) to a subject inside them, or read another stream`,
    ]])
    expect(await ctx.jsm.consumers.info(name, `c-${id}`).catch(() => null)).toBeNull()
  })

  test('its health port taken: exit 1 with EADDRINUSE before the consumer exists (it used to consume first)', async () => {
    const name = `LC_P_${id}`
    await stream(name, `${id}-p`)
    const held = Bun.serve({ port: 0, hostname: '0.0.0.0', fetch: () => new Response('') })
    try {
      const r = await runCli(['lifecycle-consumer', '--database-url', db.url, '--nats-url', nats.url, '--stream', name, '--filter', `${id}-p.json.lifecycle.>`,
        '--consumer', `c-${id}`, '--health-port', String(held.port)])
      expect([r.code, r.err]).toEqual([1, [expect.stringMatching(/^error \[EADDRINUSE\]: /)]])
      expect(await ctx.jsm.consumers.info(name, `c-${id}`).catch(() => null)).toBeNull()
      expect((await db.sql<{ n: number }[]>`select count(*)::int as n from markets`)[0].n).toBe(0)
    } finally {
      await held.stop(true)
    }
  })

  test('a clean stop (SIGINT) is logged, with what it applied: stopping, then stopped with the counts (exit 0)', async () => {
    const name = `LC_S_${id}`
    await stream(name, `${id}-s`)
    const c = spawnCli(['lifecycle-consumer', '--database-url', db.url, '--nats-url', nats.url, '--stream', name, '--filter', `${id}-s.json.lifecycle.>`,
      '--consumer', `s-${id}`, '--health-port', '0'], { SSMD_LOG_LEVEL: 'info' })
    try {
      await waitFor(async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from markets where ticker = 'KXA'`)[0].n === 1, 'the created event applied')
      expect(await c.stop('SIGINT')).toBe(0)
      const lines = c.out.map((l) => JSON.parse(l) as { msg: string; applied?: number })
      expect(lines.map((l) => l.msg).slice(-2)).toEqual(['stopping: finishing the batch in hand', 'stopped'])
      expect(lines.at(-1)!.applied).toBe(1)
    } finally {
      if (c.proc.exitCode === null) c.proc.kill('SIGKILL')
    }
  })
})
