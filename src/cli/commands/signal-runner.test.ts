/**
 * `ssmd signal-runner` as a child process: two of the example signals (signals/volume-1m-1min,
 * signals/spread-widening) on a unique input stream, fires into a unique fires stream.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { needService, uniqueId } from '../../../test/services.ts'
import { killIfRunning, runCli, spawnCli, type CliChild } from '../../../test/subprocess.ts'
import { freePort } from '../../../test/nats-server.ts'
import { startMuteNats } from '../../pipeline/transport/mute-nats.fixture.ts'
import { waitFor } from '../../pipeline/core/wait.ts'

const nats = await needService('nats')
const SIGNALS_DIR = join(import.meta.dir, '..', '..', '..', 'signals')
const SIGNALS = ['volume-1m-1min', 'spread-widening']
const T0 = 1_770_480_000 // 2026-02-07T16:00:00Z, seconds (as Kalshi sends ticker ts)

const tickerFrame = (ticker: string, dt: number, msg: Record<string, number>) =>
  JSON.stringify({ type: 'ticker', sid: 1, msg: { market_ticker: ticker, ...msg, ts: T0 + dt } })

interface Fire { subject: string; id: string; body: { signalId: string; ts: number; ticker: string; payload: Record<string, unknown> } }

describe.skipIf(!nats.ok)(`ssmd signal-runner (child process, ${nats.reason})`, () => {
  let nc: NatsConnection
  let js: JetStreamClient
  let jsm: JetStreamManager
  const id = uniqueId('sgr')
  const input = `IN_${id}`
  const fires = `F_${id}`
  const prefix = `${id}-sig`
  const dir = mkdtempSync(join(tmpdir(), 'ssmd-signal-runner-'))
  const children: CliChild[] = []
  beforeAll(async () => {
    nc = await connect({ servers: nats.url, noAsyncTraces: true })
    js = jetstream(nc)
    jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: input, subjects: [`${id}.>`] })
  })
  afterEach(() => {
    for (const c of children.splice(0)) killIfRunning(c)
  })
  afterAll(async () => {
    for (const s of [input, fires]) await jsm?.streams.delete(s).catch(() => {})
    await nc?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Starts the runner (info logs: the start line carries the ops port) and returns its ops URL. */
  async function start(args: string[], env: Record<string, string> = {}): Promise<{ child: CliChild; url: string }> {
    const child = spawnCli(['signal-runner', '--signals-dir', SIGNALS_DIR, ...args], { SSMD_LOG_LEVEL: 'info', ...env })
    children.push(child)
    const [line] = await child.waitOut(1, 'the signal-runner started log line', (l) => l.includes('"signal-runner started"'))
    const { port } = JSON.parse(line) as { port: number }
    expect(port).toBeGreaterThan(0)
    return { child, url: `http://127.0.0.1:${port}` }
  }

  async function publish(subject: string, data: string): Promise<number> {
    return (await js.publish(`${id}.${subject}`, data)).seq
  }

  async function firesInStream(): Promise<Fire[]> {
    const info = await jsm.streams.info(fires)
    const out: Fire[] = []
    for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
      const m = await jsm.streams.getMessage(fires, { seq: s })
      out.push({ subject: m!.subject, id: m!.header!.get('Nats-Msg-Id'), body: m!.json() })
    }
    return out
  }

  const health = async (url: string) => (await (await fetch(`${url}/health`)).json()) as { records: number; signals: string[] }
  const metric = (text: string, name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `))
    return line === undefined ? undefined : Number(line.slice(name.length + 1))
  }

  test('fires land on JetStream with their dedupe ids; /health /ready /metrics; SIGTERM exits 0; a restart resumes without re-firing', async () => {
    // records published before the runner starts: its durable consumer reads the stream from the start
    const volBase = await publish('kalshi.json.ticker.KXA', tickerFrame('KXA', 0, { volume: 10, dollar_volume: 100 }))
    await publish('kalshi.json.ticker.KXB', tickerFrame('KXB', 1, { yes_bid: 50, yes_ask: 52 })) // spread 2¢: armed
    await publish('other.json.ticker.KXA', tickerFrame('KXA', 2, { volume: 10, dollar_volume: 9_000_000 })) // outside the filter
    const volSeq = await publish('kalshi.json.ticker.KXA', tickerFrame('KXA', 10, { volume: 2_000_010, dollar_volume: 1_000_100 }))
    expect(volSeq).toBe(volBase + 3)

    const config = join(dir, 'runner.yaml')
    writeFileSync(config, [
      `signals: [${SIGNALS.join(', ')}]`,
      `nats: { url: "${nats.url}", stream: ${input}, filter: "${id}.kalshi.json.>" }`,
      `output_prefix: ${prefix}`,
      `fires_stream: ${fires}`,
      'port: 0',
    ].join('\n'))
    const first = await start(['--config', config])

    // and records published while it runs
    const spreadSeq = await publish('kalshi.json.ticker.KXB', tickerFrame('KXB', 11, { yes_bid: 45, yes_ask: 58 })) // 13¢: fires
    await publish('kalshi.json.ticker.KXB', tickerFrame('KXB', 12, { yes_bid: 44, yes_ask: 60 })) // still wide: not re-armed
    await waitFor(async () => (await health(first.url)).records === 5, '5 records seen (the one outside the filter is not)')
    await waitFor(async () => (await jsm.streams.info(fires).catch(() => null))?.state.messages === 2, '2 fires in the fires stream')
    const got = await firesInStream()
    expect(got.map((f) => [f.subject, f.id])).toEqual([
      [`${prefix}.volume-1m-1min.fires`, `volume-1m-1min:KXA:${(T0 + 10) * 1000}:${volSeq}`],
      [`${prefix}.spread-widening.fires`, `spread-widening:KXB:${(T0 + 11) * 1000}:${spreadSeq}`],
    ])
    expect(got.map((f) => f.body)).toEqual([
      {
        signalId: 'volume-1m-1min', ts: (T0 + 10) * 1000, ticker: 'KXA',
        payload: { ticker: 'KXA', dollarVolume: 1_000_000, contractVolume: 2_000_000, tradeCount: 1, buyRatio: 0.5, lastPrice: null, windowMs: 60_000, lastUpdate: '2026-02-07T16:00:10.000Z' },
      },
      {
        signalId: 'spread-widening', ts: (T0 + 11) * 1000, ticker: 'KXB',
        payload: { bestBid: 0.45, bestAsk: 0.58, spread: 0.13, source: 'ticker', valid: false },
      },
    ])
    const h = (await health(first.url)) as { records: number; signals: string[]; pending: number; ackPending: number }
    expect(h).toMatchObject({ records: 5, signals: SIGNALS, fireRetries: 0, ackRetries: 0 })
    // the consumer's lag, as last read (every 5 s): caught up once read after the acks
    expect([Number.isInteger(h.pending) && h.pending >= -1, Number.isInteger(h.ackPending) && h.ackPending >= -1]).toEqual([true, true])
    const ready = await fetch(`${first.url}/ready`)
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ok', connected: true, nats: 'connected' }])
    const m1 = await (await fetch(`${first.url}/metrics`)).text()
    expect([
      metric(m1, 'ssmd_signal_records_total'), metric(m1, 'ssmd_signal_tickers'),
      metric(m1, 'ssmd_signal_fires_total{signal="volume-1m-1min"}'), metric(m1, 'ssmd_signal_fires_total{signal="spread-widening"}'),
      metric(m1, 'ssmd_signal_evaluations_total{signal="spread-widening"}'), metric(m1, 'ssmd_signal_errors_total{signal="volume-1m-1min"}'),
    ]).toEqual([5, 2, 1, 1, 5, 0])
    expect(metric(m1, 'process_resident_memory_bytes')).toBeGreaterThan(0)
    expect(await first.child.stop('SIGTERM')).toBe(0)
    const consumer = await jsm.consumers.info(input, 'signal-volume-1m-1min+spread-widening')
    expect(consumer.ack_floor.stream_seq).toBe(spreadSeq + 1)

    // published while it is down; the restart (configured from env this time) sees only these
    await publish('kalshi.json.ticker.KXC', tickerFrame('KXC', 20, { volume: 1, dollar_volume: 5 }))
    const kxcSeq = await publish('kalshi.json.ticker.KXC', tickerFrame('KXC', 21, { volume: 3_000_001, dollar_volume: 2_000_005 }))
    const second = await start(['--port', '0'], {
      SIGNALS: SIGNALS.join(','), NATS_URL: nats.url, NATS_STREAM: input, NATS_FILTER: `${id}.kalshi.json.>`,
      OUTPUT_PREFIX: prefix, FIRES_STREAM: fires,
    })
    await waitFor(async () => (await jsm.streams.info(fires)).state.messages === 3, 'the third fire')
    await waitFor(async () => (await health(second.url)).records === 2, 'the 2 new records')
    const after = await firesInStream()
    expect(after.slice(0, 2)).toEqual(got)
    expect([after[2].subject, after[2].id]).toEqual([`${prefix}.volume-1m-1min.fires`, `volume-1m-1min:KXC:${(T0 + 21) * 1000}:${kxcSeq}`])
    const m2 = await (await fetch(`${second.url}/metrics`)).text()
    // nothing of the first run was evaluated again (a re-fire would count here even if deduplicated)
    expect([
      metric(m2, 'ssmd_signal_records_total'), metric(m2, 'ssmd_signal_fires_total{signal="volume-1m-1min"}'),
      metric(m2, 'ssmd_signal_fires_total{signal="spread-widening"}'), metric(m2, 'ssmd_signal_evaluations_total{signal="volume-1m-1min"}'),
    ]).toEqual([2, 1, 0, 2])
    expect(await second.child.stop('SIGTERM')).toBe(0)
    expect(second.child.err).toEqual([])
    expect((await jsm.consumers.info(input, 'signal-volume-1m-1min+spread-widening')).ack_floor.stream_seq).toBe(kxcSeq)
  }, 60_000)

  test('SIGTERM logs "stopping", then "stopped" with what it did: records, fires, errors, stored fires, acks and the last acked sequence (it logged nothing)', async () => {
    const stream = `STOP_${id}`
    const stopFires = `F_STOP_${id}`
    try {
      await jsm.streams.add({ name: stream, subjects: [`${id}-stop.>`] })
      const { child, url } = await start(['--port', '0'], {
        SIGNALS: 'volume-1m-1min', NATS_URL: nats.url, NATS_STREAM: stream, FIRES_STREAM: stopFires, OUTPUT_PREFIX: `${id}-stop-sig`,
      })
      // counters at 0 from the start (increase() must see the first fire)
      const m0 = await (await fetch(`${url}/metrics`)).text()
      expect(['ssmd_signal_fires_total{signal="volume-1m-1min"}', 'ssmd_signal_errors_total{signal="volume-1m-1min"}', 'ssmd_signal_records_total', 'ssmd_signal_fire_retries_total', 'ssmd_signal_ack_retries_total']
        .map((n) => metric(m0, n))).toEqual([0, 0, 0, 0, 0])
      await js.publish(`${id}-stop.kalshi.json.ticker.KXA`, tickerFrame('KXA', 0, { volume: 10, dollar_volume: 100 }))
      const last = (await js.publish(`${id}-stop.kalshi.json.ticker.KXA`, tickerFrame('KXA', 10, { volume: 2_000_010, dollar_volume: 1_000_100 }))).seq
      await waitFor(async () => (await jsm.consumers.info(stream, 'signal-volume-1m-1min')).ack_floor.stream_seq === last, 'both records acked')
      expect(await child.stop('SIGTERM')).toBe(0)
      const said = child.out.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).startsWith('stop'))
      expect(said.map((l) => l.msg)).toEqual(['stopping: closing the consumer, finishing fires and acks', 'stopped'])
      expect(said[1]).toMatchObject({ records: 2, fires: 1, errors: 0, firesStored: 1, fireDuplicates: 0, ackedSeq: last, fireRetries: 0, ackRetries: 0 })
      expect(said[1].acks).toBeGreaterThanOrEqual(1)
    } finally {
      for (const s of [stream, stopFires]) await jsm.streams.delete(s).catch(() => {})
    }
  }, 30_000)

  test('a bad config or no signals is a usage error (exit 2)', async () => {
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, 'signals: []\nfires_stream: "a.b"\n')
    const r = await runCli(['signal-runner', '--config', bad, '--signals-dir', SIGNALS_DIR])
    expect(r.code).toBe(2)
    expect(r.err.join('\n')).toContain('signals: ')
    expect(r.err.join('\n')).toContain('fires_stream: stream names are letters, digits, _ and -')
    const none = await runCli(['signal-runner', '--signals-dir', SIGNALS_DIR], { SIGNALS: '' })
    expect([none.code, none.err]).toEqual([2, ['error: no signals: pass --config or set SIGNALS=a,b']])
  }, 30_000)

  test('a stream that does not exist: exit 1 naming it, nothing created (was a raw StreamNotFoundError, the fires stream made first)', async () => {
    const missing = `MISSING_${id}`
    const fires = `F_MISSING_${id}`
    const r = await runCli(['signal-runner', '--signals-dir', SIGNALS_DIR, '--port', '0'], { SIGNALS: 'volume-1m-1min', NATS_URL: nats.url, NATS_STREAM: missing, FIRES_STREAM: fires })
    expect(r.code).toBe(1)
    expect(r.err.join('\n')).toContain(`error [STREAM_NOT_FOUND]: stream ${missing} does not exist on ${nats.url}`)
    expect(await jsm.streams.info(fires).catch(() => null)).toBeNull()
  }, 30_000)
  test('its ops port taken: exit 1 with EADDRINUSE before anything is consumed: no consumer, no fires stream (it used to consume and fire for 5 s)', async () => {
    const held = Bun.serve({ port: 0, hostname: '0.0.0.0', fetch: () => new Response('') })
    const stream = `HELD_${id}`
    const heldFires = `F_HELD_${id}`
    try {
      await jsm.streams.add({ name: stream, subjects: [`${id}-held.>`] })
      await js.publish(`${id}-held.kalshi.json.ticker.KXA`, tickerFrame('KXA', 0, { volume: 10, dollar_volume: 100 }))
      await js.publish(`${id}-held.kalshi.json.ticker.KXA`, tickerFrame('KXA', 10, { volume: 2_000_010, dollar_volume: 1_000_100 }))
      const r = await runCli(['signal-runner', '--signals-dir', SIGNALS_DIR, '--port', String(held.port)], {
        SIGNALS: 'volume-1m-1min', NATS_URL: nats.url, NATS_STREAM: stream, FIRES_STREAM: heldFires, OUTPUT_PREFIX: `${id}-held-sig`,
      })
      expect([r.code, r.err]).toEqual([1, [expect.stringMatching(/^error \[EADDRINUSE\]: /)]])
      expect(await jsm.consumers.info(stream, 'signal-volume-1m-1min').catch(() => null)).toBeNull()
      expect(await jsm.streams.info(heldFires).catch(() => null)).toBeNull()
    } finally {
      await held.stop(true)
      for (const s of [stream, heldFires]) await jsm.streams.delete(s).catch(() => {})
    }
  }, 30_000)

  test('a filter the stream does not cover: exit 1 naming the filter, the stream, its subjects and NATS_FILTER; nothing created (was a JetStreamApiError trace)', async () => {
    const filter = `elsewhere-${id}.>`
    const other = `F_FILTER_${id}`
    try {
      const r = await runCli(['signal-runner', '--signals-dir', SIGNALS_DIR, '--port', '0'], {
        SIGNALS: 'volume-1m-1min', NATS_URL: nats.url, NATS_STREAM: input, NATS_FILTER: filter, FIRES_STREAM: other,
      })
      expect([r.code, r.err]).toEqual([1, [
        `error [FILTER_NOT_IN_STREAM]: consumer filter ${filter} is outside stream ${input}, whose subjects are [${id}.>]: change NATS_FILTER to a subject inside them, or read another stream`,
      ]])
      expect(await jsm.consumers.info(input, 'signal-volume-1m-1min').catch(() => null)).toBeNull()
      expect(await jsm.streams.info(other).catch(() => null)).toBeNull()
    } finally {
      await jsm.streams.delete(other).catch(() => {})
    }
  }, 30_000)

  test('without a stream named, signal-runner and signal run read the dev environment\'s, as the other roles do (was PROD_KALSHI)', async () => {
    // a config dir whose dev environment names a stream that does not exist: the error names it
    const configDir = join(dir, 'config-default-stream')
    const missing = `MISSING_DEV_${id}`
    mkdirSync(join(configDir, 'environments'), { recursive: true })
    writeFileSync(join(configDir, 'environments', 'dev.yaml'), [
      'name: dev', 'feed: kalshi', 'exchange: { type: sim }',
      `transport: { type: nats, url: "${nats.url}", stream: ${missing}, subject_prefix: dev.kalshi }`,
    ].join('\n'))
    // a filter no stream of the old default could hold either: nothing is consumed whatever the default
    const env = { NATS_FILTER: `nowhere-${id}.>`, FIRES_STREAM: `F_DEFAULT_${id}` }
    const expected = [1, [expect.stringContaining(`error [STREAM_NOT_FOUND]: stream ${missing} does not exist on ${nats.url}`)]]
    const runner = await runCli(['--config-dir', configDir, 'signal-runner', '--signals-dir', SIGNALS_DIR, '--port', '0'], { ...env, SIGNALS: 'volume-1m-1min' })
    expect([runner.code, runner.err]).toEqual(expected)
    const run = await runCli(['--config-dir', configDir, 'signal', 'run', 'volume-1m-1min', '--signals-dir', SIGNALS_DIR], env)
    expect([run.code, run.err]).toEqual(expected)
    expect(await jsm.streams.info(env.FIRES_STREAM).catch(() => null)).toBeNull()
  }, 30_000)

  test('signal run (live) stores its fires in --fires-stream (it always used SIGNALS) under --prefix (it had none); a name JetStream refuses is a usage error', async () => {
    const stream = `RUN_${id}`
    const firesStream = `F_RUN_${id}`
    const prefix = `${id}-run-sig`
    const children: CliChild[] = []
    try {
      await jsm.streams.add({ name: stream, subjects: [`${id}-run.>`] })
      await js.publish(`${id}-run.kalshi.json.ticker.KXA`, tickerFrame('KXA', 0, { volume: 10, dollar_volume: 100 }))
      const seq = (await js.publish(`${id}-run.kalshi.json.ticker.KXA`, tickerFrame('KXA', 10, { volume: 2_000_010, dollar_volume: 1_000_100 }))).seq
      const child = spawnCli(['signal', 'run', 'volume-1m-1min', '--signals-dir', SIGNALS_DIR, '--nats-url', nats.url, '--stream', stream,
        '--filter', `${id}-run.kalshi.json.>`, '--fires-stream', firesStream, '--prefix', prefix], { OUTPUT_PREFIX: 'not-this-one' }) // the flag wins over the env
      children.push(child)
      await waitFor(async () => (await jsm.streams.info(firesStream).catch(() => null))?.state.messages === 1, `the fire in ${firesStream}`)
      const m = await jsm.streams.getMessage(firesStream, { seq: 1 })
      expect([m!.subject, m!.header!.get('Nats-Msg-Id')]).toEqual([`${prefix}.volume-1m-1min.fires`, `volume-1m-1min:KXA:${(T0 + 10) * 1000}:${seq}`])
      expect([await child.stop('SIGTERM'), child.err]).toEqual([0, []])
      const bad = await runCli(['signal', 'run', 'volume-1m-1min', '--signals-dir', SIGNALS_DIR, '--fires-stream', 'a.b'])
      expect([bad.code, bad.err]).toEqual([2, ['error: --fires-stream must be a stream name of letters, digits, _ and - (got "a.b")']])
    } finally {
      for (const c of children) killIfRunning(c)
      for (const s of [stream, firesStream]) await jsm.streams.delete(s).catch(() => {})
    }
  }, 30_000)

  test('NATS unreachable: one line naming the server without its password', async () => {
    const r = await runCli(['signal-runner', '--signals-dir', SIGNALS_DIR, '--port', '0'], { SIGNALS: 'volume-1m-1min', NATS_URL: 'nats://ops:natspw@127.0.0.1:1' })
    expect([r.code, r.err]).toEqual([1, [expect.stringMatching(/^error \[NATS_CONNECT\]: cannot connect to NATS at nats:\/\/ops:\*\*\*@127\.0\.0\.1:1: /)]])
  }, 30_000)

  test('malformed YAML is a config error at its line; a missing config file a usage error naming it (exit 2, no trace)', async () => {
    const bad = join(dir, 'malformed.yaml')
    writeFileSync(bad, 'signals: [volume-1m-1min]\nnats: { url: "x"\nport: 0\n')
    const r = await runCli(['signal-runner', '--config', bad, '--signals-dir', SIGNALS_DIR])
    expect(r.code).toBe(2)
    expect(r.err[0]).toMatch(new RegExp(`^error: ${bad}:[23]:\\d+: malformed YAML: `))
    expect(r.err.join('\n')).not.toContain('    at ')
    const missing = join(dir, 'nope.yaml')
    const m = await runCli(['signal-runner', '--config', missing, '--signals-dir', SIGNALS_DIR])
    expect([m.code, m.err]).toEqual([2, [`error: cannot read the signal-runner config ${missing}: no such file`]])
  }, 30_000)
})

// It answered /health 503 'starting' until its start was done, which now includes rebuilding the
// day's state: a liveness probe restarted it mid-way, for ever.
test('while it starts (here: a NATS that never answers), /health is 200 "starting" and /ready 503', async () => {
  const mute = await startMuteNats()
  const port = await freePort()
  const child = spawnCli(['signal-runner', '--signals-dir', SIGNALS_DIR, '--port', String(port)], { SIGNALS: 'volume-1m-1min', NATS_URL: mute.url, NATS_STREAM: 'ANY' })
  try {
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`)
      return [r.status, ((await r.json()) as { status: string }).status]
    }
    await waitFor(() => get('/health').catch(() => null), 'the ops server')
    expect(await get('/health')).toEqual([200, 'starting'])
    expect(await get('/ready')).toEqual([503, 'starting'])
  } finally {
    killIfRunning(child)
    await mute.close()
  }
}, 30_000)

test('the ops port comes from --health-port or SSMD_HEALTH_PORT too, as in every other role (it took only --port)', async () => {
  const mute = await startMuteNats()
  const [a, b] = [await freePort(), await freePort()]
  const viaFlag = spawnCli(['signal-runner', '--signals-dir', SIGNALS_DIR, '--health-port', String(a)], { SIGNALS: 'volume-1m-1min', NATS_URL: mute.url, NATS_STREAM: 'ANY' })
  const viaEnv = spawnCli(['signal-runner', '--signals-dir', SIGNALS_DIR], { SIGNALS: 'volume-1m-1min', NATS_URL: mute.url, NATS_STREAM: 'ANY', SSMD_HEALTH_PORT: String(b) })
  try {
    for (const port of [a, b]) {
      await waitFor(() => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 200, () => false), `the ops server on ${port}`)
    }
    const bad = await runCli(['signal-runner', '--signals-dir', SIGNALS_DIR], { SIGNALS: 'volume-1m-1min', SSMD_HEALTH_PORT: 'x' })
    expect([bad.code, bad.err]).toEqual([2, ['error: SSMD_HEALTH_PORT must be an integer from 0 to 65535 (got "x")']])
  } finally {
    killIfRunning(viaFlag)
    killIfRunning(viaEnv)
    await mute.close()
  }
}, 30_000)
