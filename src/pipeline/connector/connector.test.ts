import { afterEach, describe, expect, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { needService } from '../../../test/services.ts'
import { startWsTap, type WsTap } from '../../../test/ws-tap.ts'
import { startSim, type Sim } from '../../services/sim/index.ts'
import type { SsmdError } from '../core/errors.ts'
import { waitFor, withTimeout } from '../core/wait.ts'
import { Journal } from '../transport/journal.ts'
import { readStream } from '../transport/read-stream.ts'
import { startConnector, type Connector } from './connector.ts'
import { DATA_TYPES, frameType, testConfig, unwrap, type TestEnv } from './connector.fixtures.ts'

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`connector → JetStream (${nats.reason})`, () => {
  let sim: Sim | undefined
  let tap: WsTap | undefined
  let connector: Connector | undefined
  let env: TestEnv | undefined
  afterEach(async () => {
    await connector?.stop().catch(() => {})
    tap?.stop()
    await sim?.stop()
    await env?.cleanup()
    sim = tap = connector = env = undefined
  })

  test('every frame the exchange sent over several shards lands in the stream exactly once, byte for byte, in order per sid', async () => {
    sim = startSim({ seed: 7, markets: 600, rate: 'max', format: 'mixed', countPerSubscription: 400, pingIntervalMs: 0 })
    tap = startWsTap(sim.wsUrl)
    const markets = sim.universe.markets.slice(0, 450).map((m) => m.ticker)
    env = testConfig(nats.url, { mode: 'markets', channels: ['ticker', 'trade', 'orderbook_delta'], shardSize: 200 })
    connector = await startConnector({ config: env.config, wsUrl: tap.url, noAuth: true, markets, opsPort: false })
    expect(connector.shards.length).toBe(3)
    // 3 shards × 3 channels × 400 frames, plus one snapshot per market ahead of the deltas.
    const sent = () => [...tap!.frames.values()].flat().filter((f) => DATA_TYPES.has(frameType(f)))
    await waitFor(() => sent().length >= 3 * 3 * 400, 'the simulator to send every counted frame', 30_000)
    await waitFor(() => connector!.stats().out.accepted === sent().length, 'every frame to be acked by JetStream', 30_000)
    await connector.stop()
    connector = undefined

    const nc = await connect({ servers: nats.url })
    const stored = await readStream(nc, env.stream, 30_000)
    await nc.close()
    const byConn = [...tap.frames.values()].map((frames) => frames.filter((f) => DATA_TYPES.has(frameType(f))))
    const storedFrames = stored.map((r) => unwrap(r.payload))
    expect(stored.length).toBe(sent().length)
    expect(new Set(stored.map((r) => r.msgId)).size).toBe(stored.length)
    expect(storedFrames.filter((s) => !(s.shard >= 0 && s.shard < 3 && s.receivedAt > 1e15)).slice(0, 2)).toEqual([])
    // Byte-identical, and in the socket's order, connection by connection.
    const byShard = new Map<number, string[]>()
    for (const s of storedFrames) byShard.set(s.shard, [...(byShard.get(s.shard) ?? []), s.frame])
    expect([...byShard.values()].map((l) => l.join('\n')).sort()).toEqual(byConn.map((l) => l.join('\n')).sort())
    // Per sid, seq runs 1, 2, 3 … without a hole.
    const seqs = new Map<string, number[]>()
    for (const s of storedFrames) {
      const f = JSON.parse(s.frame)
      if (f.seq === undefined) continue
      const k = `${s.shard}:${f.sid}`
      seqs.set(k, [...(seqs.get(k) ?? []), f.seq])
    }
    for (const list of seqs.values()) expect(list).toEqual(list.map((_, i) => i + 1))
  })

  test('a stream whose subjects do not cover the prefix is refused with an error naming both', async () => {
    env = testConfig(nats.url)
    const nc = await connect({ servers: nats.url })
    const { jetstreamManager } = await import('@nats-io/jetstream')
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: env.stream, subjects: [`${env.prefix}.json.trade.>`] })
    await nc.close()
    sim = startSim({ markets: 10, pingIntervalMs: 0 })
    const err = await startConnector({ config: env.config, wsUrl: sim.wsUrl, noAuth: true, opsPort: false }).catch((e) => e)
    expect(err.code).toBe('STREAM_SUBJECTS')
    expect(err.message).toContain(env.stream)
    expect(err.message).toContain(`${env.prefix}.>`)
  })

  test('a stream deleted under a running connector fails it (NO_STREAM) at once; its stop keeps every frame received, acked or journaled', async () => {
    sim = startSim({ seed: 5, markets: 100, rate: 'realistic', framesPerSecond: 2000, pingIntervalMs: 0 })
    env = testConfig(nats.url, { mode: 'markets', channels: ['ticker', 'trade', 'orderbook_delta'], shardSize: 50 })
    const markets = sim.universe.markets.slice(0, 100).map((m) => m.ticker)
    connector = await startConnector({ config: env.config, wsUrl: sim.wsUrl, noAuth: true, markets, opsPort: false })
    await waitFor(() => (connector!.stats().out.accepted ?? 0) > 200, 'some frames acked', 15_000)
    const nc = await connect({ servers: nats.url })
    await (await jetstreamManager(nc)).streams.delete(env.stream)
    await nc.close()
    const failure = await withTimeout(connector.failed, 10_000, 'the connector to report the lost stream')
    expect([failure.code, failure.message]).toEqual(['NO_STREAM', expect.stringContaining(`no JetStream stream captures subject ${env.prefix}.`)])
    const stopped = await connector.stop().then(() => 'stopped', (e: SsmdError) => e.code)
    const s = connector.stats()
    connector = undefined
    expect(stopped).toBe('NO_STREAM')
    expect({ written: s.out.written, accepted: s.out.accepted }).toEqual({ written: s.forwarded, accepted: s.forwarded })
    const journal = Journal.open(env.config.transport.journalDir)
    const journaled = journal.segments().reduce((n, id) => n + journal.read(id).length, 0)
    journal.close()
    expect(journaled).toBe(s.out.journalRecords ?? -1)
    expect(journaled).toBeGreaterThan(0)
  })

  test('segments an older ssmd left in {data dir}/journal (one journal for every stream) are pointed out, not replayed', async () => {
    sim = startSim({ seed: 4, markets: 20, rate: 'realistic', framesPerSecond: 200, pingIntervalMs: 0 })
    env = testConfig(nats.url, { mode: 'markets', channels: ['ticker'], shardSize: 20 })
    const legacy = join(env.dir, 'journal')
    env.config.transport.journalDir = join(legacy, env.stream)
    mkdirSync(legacy, { recursive: true })
    writeFileSync(join(legacy, 'segment-000000000001.jnl'), '')
    const lines: string[] = []
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) })
    connector = await startConnector({ config: env.config, log, wsUrl: sim.wsUrl, noAuth: true, markets: sim.universe.markets.slice(0, 20).map((m) => m.ticker), opsPort: false })
    await connector.stop()
    connector = undefined
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; dir?: string }).find((l) => l.msg.includes('journal segment(s) of an older ssmd'))
    expect(warned?.msg).toBe(`${legacy} holds 1 journal segment(s) of an older ssmd (one journal for every stream); start a connector once with SSMD_JOURNAL_DIR=${legacy} to replay them`)
  })
})
