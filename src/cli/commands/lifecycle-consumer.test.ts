/** `ssmd lifecycle-consumer` as a child process: a failed start is one line with nothing consumed; a clean stop is logged. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { useJetStream } from '../../../test/jetstream.ts'
import { freePort, haveNatsServer, startOwnedNatsServer, stopNatsServer } from '../../../test/nats-server.ts'
import { startMuteNats } from '../../pipeline/transport/mute-nats.fixture.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { killIfRunning, runCli, spawnCli } from '../../../test/subprocess.ts'
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

describe.skipIf(!pg.ok || !haveNatsServer)(`ssmd lifecycle-consumer across NATS outages (${pg.reason}; a nats-server of its own)`, () => {
  let db: TestDatabase
  const cleanups: (() => Promise<void> | void)[] = []
  beforeAll(async () => {
    db = await createTestDatabase(pg.url, { migrated: true })
  })
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c()
    cleanups.length = 0
  })
  afterAll(() => db?.drop())

  const event = (ticker: string) => JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: { market_ticker: ticker, event_type: 'created', open_ts: 1770480000, close_ts: 1770490000 } })
  const count = async (ticker: string) => (await db.sql<{ n: number }[]>`select count(*)::int as n from markets where ticker = ${ticker}`)[0].n

  test('NATS stopped while running (finding 3, 5, 7): logged once, /ready 503 "reconnecting" while /health stays 200, back and applying once NATS returns (it used to say connected, then give up for good after ~20 s)', async () => {
    const port = await freePort()
    const store = mkdtempSync(join(tmpdir(), 'ssmd-lcc-outage-'))
    cleanups.push(() => rmSync(store, { recursive: true, force: true }))
    let server = await startOwnedNatsServer(port, store, cleanups)
    const url = `nats://127.0.0.1:${port}`
    const nc = await connect({ servers: url, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
    cleanups.push(() => nc.close().catch(() => {}))
    await (await jetstreamManager(nc)).streams.add({ name: 'LCO', subjects: ['lco.>'] })
    await jetstream(nc).publish('lco.json.lifecycle.KXO1', event('KXO1'))
    const c = spawnCli(['lifecycle-consumer', '--database-url', db.url, '--nats-url', url, '--stream', 'LCO', '--filter', 'lco.json.lifecycle.>',
      '--consumer', 'lco', '--health-port', '0'], { SSMD_LOG_LEVEL: 'info' })
    cleanups.push(() => killIfRunning(c))
    const [opsLine] = await c.waitOut(1, 'the ops url', (l) => l.includes('"health and metrics"'))
    const ops = (JSON.parse(opsLine) as { url: string }).url
    const probe = async (path: string) => {
      const r = await fetch(`${ops}${path}`)
      return { status: r.status, nats: ((await r.json()) as { nats: string }).nats }
    }
    await waitFor(async () => (await count('KXO1')) === 1, 'the first event applied')
    expect([await probe('/health'), await probe('/ready')]).toEqual([{ status: 200, nats: 'connected' }, { status: 200, nats: 'connected' }])

    await stopNatsServer(server)
    await waitFor(async () => (await probe('/ready')).status === 503, '/ready 503 while NATS is away')
    expect([await probe('/health'), await probe('/ready')]).toEqual([{ status: 200, nats: 'reconnecting' }, { status: 503, nats: 'reconnecting' }])
    await c.waitOut(1, 'the "lost" line', (l) => l.includes('NATS connection lost'))

    server = await startOwnedNatsServer(port, store, cleanups)
    await waitFor(async () => (await probe('/ready')).status === 200, '/ready 200 once NATS is back', 20_000)
    await c.waitOut(1, 'the "back" line', (l) => l.includes('"NATS connection back"'))
    await jetstream(nc).publish('lco.json.lifecycle.KXO2', event('KXO2'))
    await waitFor(async () => (await count('KXO2')) === 1, 'an event published after the outage applied', 20_000)
    expect(await c.stop('SIGTERM')).toBe(0)
    expect(c.out.filter((l) => l.includes('NATS connection')).length).toBe(2)
  }, 60_000)

  test('NATS that stops answering during start-up (finding 4): one line NATS_UNAVAILABLE naming the server, exit 1, nothing left open (was a raw TimeoutError stack)', async () => {
    const mute = await startMuteNats()
    cleanups.push(() => mute.close())
    const t0 = performance.now()
    const r = await runCli(['lifecycle-consumer', '--database-url', db.url, '--nats-url', mute.url, '--stream', 'LCM', '--filter', 'lcm.json.lifecycle.>', '--health-port', '0'])
    expect([r.code, r.err]).toEqual([1, [
      `error [NATS_UNAVAILABLE]: NATS at ${mute.url.slice('nats://'.length)} stopped answering during the JetStream set-up (stream and consumer) (timeout): it is down or restarting; start again once it is back`,
    ]])
    expect(performance.now() - t0).toBeLessThan(15_000) // not the 5 s wait for a handle left open on top
  }, 30_000)
})
