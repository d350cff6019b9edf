/**
 * Faults injected by the simulator (its control API): each is detected, recorded on a control
 * subject, and recovered from, and no frame that reached the connector is lost.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import pino from 'pino'
import { startWsTap, type WsTap } from '../../../test/ws-tap.ts'
import { startSim, type Sim, type SimOptions } from '../../services/sim/index.ts'
import { waitFor } from '../core/wait.ts'
import { MemorySink } from '../transport/memory-sink.ts'
import { startConnector, type Connector } from './connector.ts'
import { DATA_TYPES, frameType, testConfig, unwrap, type TestEnv } from './connector.fixtures.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const decoder = new TextDecoder()
let sim: Sim | undefined
let tap: WsTap | undefined
let connector: Connector | undefined
let env: TestEnv | undefined
let sink: MemorySink
let lines: string[] = []
const warned = (start: string) => lines.map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: any }).filter((l) => l.level === 40 && l.msg.startsWith(start))

afterEach(async () => {
  await connector?.stop().catch(() => {})
  tap?.stop()
  await sim?.stop()
  env?.cleanupLocal()
  sim = tap = connector = env = undefined
  lines = []
})

async function start(simOptions: SimOptions, connectorOver: Partial<TestEnv['config']['connector']> = {}, markets = 20) {
  sim = startSim({ seed: 3, markets: 300, pingIntervalMs: 0, ...simOptions })
  tap = startWsTap(sim.wsUrl)
  env = testConfig('nats://127.0.0.1:1', { mode: 'markets', channels: ['ticker', 'trade', 'orderbook_delta'], shardSize: 200, ...connectorOver })
  sink = new MemorySink()
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) })
  connector = await startConnector({ config: env.config, log, wsUrl: tap.url, noAuth: true, sink, markets: sim.universe.markets.slice(0, markets).map((m) => m.ticker), opsPort: false })
  await waitFor(() => connector!.shards.every((s) => s.subscribed), 'every shard to subscribe')
  return connector
}

const control = (kind: string) => sink.records(`${env!.prefix}.json.control.${kind}`).map((r) => JSON.parse(decoder.decode(r.payload)))
const dataFrames = () => sink.records(`${env!.prefix}.json.*.>`).filter((r) => !r.subject.includes('.json.control.')).map((r) => unwrap(r.payload).frame)
const isJson = (f: string) => {
  try {
    JSON.parse(f)
    return true
  } catch {
    return false
  }
}
const sentFrames = () => [...tap!.frames.values()].flat().filter((f) => DATA_TYPES.has(frameType(f)) && isJson(f))

/** Every data frame the exchange sent arrived once, in order (a multiset check per connection order). */
async function expectNothingLost() {
  await waitFor(() => dataFrames().length >= sentFrames().length, 'every sent data frame to reach the sink')
  expect(dataFrames().sort()).toEqual(sentFrames().sort())
}

describe('connector faults', () => {
  test('a dropped connection is detected, recorded and the shard reconnects and resubscribes by itself', async () => {
    await start({ rate: 'realistic', framesPerSecond: 400 })
    await waitFor(() => dataFrames().length > 20, 'data before the drop')
    sim!.applyFault({ name: 'drop' })
    await waitFor(() => connector!.shards[0].subscribed && connector!.shards[0].epoch >= 2 && control('reconnect').length >= 1, 'a reconnect, its record, and a resubscribe')
    const before = dataFrames().length
    await waitFor(() => dataFrames().length > before + 20, 'data after the reconnect')
    expect(control('reconnect')[0]).toMatchObject({ type: 'ssmd_control', kind: 'reconnect', shard: 0, conn: '0.1' })
    await expectNothingLost()
  })

  test('dropping one shard\'s connection leaves the other shards untouched', async () => {
    await start({ rate: 'realistic', framesPerSecond: 400 }, { shardSize: 10 }, 30)
    expect(connector!.shards.length).toBe(3)
    const victim = connector!.shards[1].markets[0]
    const conns = sim!.stats().connections as { id: number; subscriptions: { market_tickers: string[] | null }[] }[]
    const conn = conns.find((c) => c.subscriptions.some((s) => s.market_tickers?.includes(victim)))!.id
    sim!.applyFault({ name: 'drop', conn })
    await waitFor(() => connector!.shards[1].epoch === 2 && connector!.shards[1].subscribed, 'shard 1 to reconnect by itself')
    expect(connector!.shards.map((s) => [s.id, s.epoch, s.reconnects])).toEqual([
      [0, 1, 0],
      [1, 2, 1],
      [2, 1, 0],
    ])
    await expectNothingLost()
  })

  test('a silent socket (no data, no pings, no pongs) is detected within the staleness and replaced', async () => {
    // Straight to the simulator (the tap, a WebSocket server, would answer pings itself). The
    // connector pings every staleness/3; a dead peer answers nothing, so pongs are held too.
    sim = startSim({ seed: 3, markets: 300, pingIntervalMs: 0, rate: 'realistic', framesPerSecond: 200, faults: [{ name: 'delay_pong', value: 0 }] })
    env = testConfig('nats://127.0.0.1:1', { mode: 'markets', channels: ['ticker', 'trade'], shardSize: 200, stalenessMs: 600 })
    sink = new MemorySink()
    connector = await startConnector({ config: env.config, wsUrl: sim.wsUrl, noAuth: true, sink, markets: sim.universe.markets.slice(0, 20).map((m) => m.ticker), opsPort: false })
    await waitFor(() => dataFrames().length > 5, 'data before the stall')
    sim.applyFault({ name: 'delay_pong', value: 60_000 })
    sim.applyFault({ name: 'stall', value: 'all' })
    await waitFor(() => control('reconnect').length >= 1, 'the stale socket to be replaced', 5000)
    sim.clearFaults()
    await waitFor(() => connector!.shards[0].subscribed && connector!.shards[0].epoch >= 2, 'the new socket to subscribe')
    const before = dataFrames().length
    await waitFor(() => dataFrames().length > before + 5, 'data on the new socket')
    expect(control('reconnect')[0]).toMatchObject({ kind: 'reconnect', code: 4002, reason: 'stale' })
  })

  test('a skipped seq is a gap record, a metric and a warning, and the order book is re-snapshotted', async () => {
    await start({ rate: 'realistic', framesPerSecond: 400 }, { channels: ['orderbook_delta'] }, 5)
    const sid = [...connector!.shards[0].sids.keys()][0]
    await waitFor(() => dataFrames().length > 10, 'deltas before the skip')
    const snapshotsBefore = dataFrames().filter((f) => frameType(f) === 'orderbook_snapshot').length
    sim!.applyFault({ name: 'skip_seq', value: 3 })
    await waitFor(() => connector!.stats().gaps === 1 && control('gap').length === 1, 'the gap to be detected and recorded')
    expect(control('gap')[0]).toMatchObject({ kind: 'gap', shard: 0, sid, channel: 'orderbook_delta', missing: 3 })
    expect(connector!.stats().missing).toBe(3)
    await waitFor(() => dataFrames().filter((f) => frameType(f) === 'orderbook_snapshot').length >= snapshotsBefore + 5, 'fresh snapshots after the gap')
    expect(await connector!.registry.getSingleMetricAsString('ssmd_connector_seq_gaps_total')).toContain('channel="orderbook_delta"} 1')
    expect(warned('sequence gap')).toMatchObject([{ count: 1, missing: 3, samples: [{ shard: 0, sid, channel: 'orderbook_delta', got: expect.any(Number) }] }])
    await expectNothingLost()
  })

  test('a malformed frame is forwarded verbatim in an invalid control record (a JSON object with its stamps), counted and warned; data keeps flowing', async () => {
    await start({ rate: 'realistic', framesPerSecond: 300 })
    await waitFor(() => dataFrames().length > 5, 'data before the bad frame')
    sim!.applyFault({ name: 'malformed_frame', value: 1 })
    await waitFor(() => sink.records(`${env!.prefix}.json.control.invalid`).length === 1, 'the malformed frame on the control subject')
    const payload = decoder.decode(sink.records(`${env!.prefix}.json.control.invalid`)[0].payload)
    const sentBad = [...tap!.frames.values()].flat().filter((f) => !isJson(f))
    expect(sentBad.length).toBe(1)
    const record = JSON.parse(payload)
    expect(record).toEqual({ type: 'ssmd_control', kind: 'invalid', reason: 'not a JSON object', raw: sentBad[0], _shard_id: 0, _received_at: expect.any(Number) })
    expect(payload).toEndWith(`,"_shard_id":0,"_received_at":${record._received_at}}`)
    expect(record._received_at).toBeGreaterThan(1e15)
    expect(connector!.stats().invalid).toBe(1)
    expect(warned('malformed frame')).toMatchObject([{ count: 1, samples: [{ shard: 0, frame: sentBad[0].slice(0, 200) }] }])
    const before = dataFrames().length
    await waitFor(() => dataFrames().length > before + 5, 'data after the bad frame')
    await expectNothingLost()
  })

  test('a refused subscribe surfaces the Kalshi code, is recorded, and is retried until it succeeds', async () => {
    sim = undefined
    const s = startSim({ seed: 3, markets: 300, pingIntervalMs: 0, rate: 'realistic', framesPerSecond: 300, faults: [{ name: 'refuse_subscribe', value: '17:2' }] })
    sim = s
    tap = startWsTap(s.wsUrl)
    env = testConfig('nats://127.0.0.1:1', { mode: 'markets', channels: ['ticker'], shardSize: 200 })
    sink = new MemorySink()
    connector = await startConnector({ config: env.config, wsUrl: tap.url, noAuth: true, sink, markets: s.universe.markets.slice(0, 10).map((m) => m.ticker), opsPort: false })
    await waitFor(() => connector!.shards[0].subscribed && control('error').length === 2, 'the subscribe to succeed after the refusals', 10_000)
    expect(control('error').map((e) => [e.cmd, e.code])).toEqual([
      ['subscribe', 17],
      ['subscribe', 17],
    ])
    expect(await connector!.registry.getSingleMetricAsString('ssmd_connector_kalshi_errors_total')).toContain('code="17"} 2')
    await waitFor(() => dataFrames().length > 5, 'data after subscribing')
    await expectNothingLost()
  })
})
