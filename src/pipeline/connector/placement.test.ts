import { afterEach, expect, setDefaultTimeout, test } from 'bun:test'
import { startSim, type Sim } from '../../services/sim/index.ts'
import { waitFor } from '../core/wait.ts'
import { MemorySink } from '../transport/memory-sink.ts'
import { startConnector, type Connector } from './connector.ts'
import { testConfig, type TestEnv } from './connector.fixtures.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

let sim: Sim | undefined
let connector: Connector | undefined
let env: TestEnv | undefined
afterEach(async () => {
  await connector?.stop().catch(() => {})
  await sim?.stop()
  env?.cleanupLocal()
  sim = connector = env = undefined
})

type SimConn = { id: number; subscriptions: { channel: string; market_tickers: string[] | null }[] }
const subscribed = (s: Sim) => (s.stats().connections as SimConn[]).flatMap((c) => c.subscriptions.flatMap((x) => (x.market_tickers ?? []).map((t) => `${c.id}:${x.channel}:${t}`))).sort()

test('markets added at run time fill the least-loaded shard, then a new shard; a removed market leaves only its owner', async () => {
  sim = startSim({ seed: 4, markets: 300, rate: 'realistic', framesPerSecond: 300, pingIntervalMs: 0 })
  const all = sim.universe.markets.map((m) => m.ticker)
  env = testConfig('nats://127.0.0.1:1', { mode: 'markets', channels: ['ticker', 'orderbook_delta'], shardSize: 10 })
  const sink = new MemorySink()
  connector = await startConnector({ config: env.config, wsUrl: sim.wsUrl, noAuth: true, sink, markets: all.slice(0, 15), opsPort: false })
  expect(connector.shards.map((s) => s.marketCount)).toEqual([10, 5])

  expect(await connector.addMarkets([...all.slice(15, 23), all[0]])).toEqual(all.slice(15, 23))
  expect(connector.shards.map((s) => s.marketCount)).toEqual([10, 10, 3])
  await waitFor(() => subscribed(sim!).length === 2 * 23, 'the simulator to hold 23 markets on two channels')

  const victim = all[16] // on shard 1
  expect(await connector.removeMarkets([victim, 'NOT-SUBSCRIBED'])).toEqual([victim])
  await waitFor(() => subscribed(sim!).length === 2 * 22, 'the market to leave its sids')
  expect(subscribed(sim!).some((k) => k.endsWith(`:${victim}`))).toBe(false)
  expect(connector.shards.map((s) => [s.marketCount, s.epoch])).toEqual([[10, 1], [9, 1], [3, 1]])

  const newest = all[22]
  await waitFor(() => sink.records().some((r) => new TextDecoder().decode(r.payload).includes(`"market_ticker":"${newest}"`)), 'frames of an added market')
})

const controls = (sink: MemorySink, kind: string) => sink.records().filter((r) => r.subject.endsWith(`.control.${kind}`)).map((r) => JSON.parse(new TextDecoder().decode(r.payload)) as Record<string, unknown>)

test('a ticker the exchange does not know (error 16, naming none) is found over REST and left out; the shard subscribes the rest, at start and when added, without reconnecting', async () => {
  sim = startSim({ seed: 5, markets: 100, rate: 'realistic', framesPerSecond: 200, pingIntervalMs: 0, restRateLimit: 0 })
  const all = sim.universe.markets.map((m) => m.ticker)
  env = testConfig('nats://127.0.0.1:1', { mode: 'markets', channels: ['ticker', 'orderbook_delta'], shardSize: 10 })
  const sink = new MemorySink()
  connector = await startConnector({ config: env.config, wsUrl: sim.wsUrl, restUrl: sim.restUrl, noAuth: true, sink, markets: [all[0], 'NOPE-1', all[1], all[2]], opsPort: false })
  await waitFor(() => subscribed(sim!).length === 2 * 3, 'the known markets subscribed on both channels')
  expect(connector.shards.map((s) => [[...s.markets].sort(), s.epoch])).toEqual([[[all[0], all[1], all[2]].sort(), 1]])

  expect(await connector.addMarkets([all[3], 'NOPE-2', all[4]])).toEqual([all[3], 'NOPE-2', all[4]])
  await waitFor(() => subscribed(sim!).length === 2 * 5, 'the added known markets subscribed on both channels')
  expect(connector.shards.map((s) => [[...s.markets].sort(), s.epoch, s.subscribed])).toEqual([[all.slice(0, 5).sort(), 1, true]])
  expect(subscribed(sim!).some((k) => k.includes('NOPE'))).toBe(false)
  // named where operators look: control records on the stream
  await waitFor(() => controls(sink, 'error').some((c) => Array.isArray(c.dropped)), 'the control record naming the dropped markets')
  expect(controls(sink, 'error').filter((c) => Array.isArray(c.dropped)).map((c) => [c.cmd, c.dropped])).toEqual([
    ['subscribe', ['NOPE-1']], ['subscribe', ['NOPE-1']], ['add_markets', ['NOPE-2']],
  ])
  // the placement forgot it: a market of that name added later is placed again
  expect(await connector.addMarkets(['NOPE-2'])).toEqual(['NOPE-2'])
})

test('adding markets that fails otherwise closes the socket, and the reconnect subscribes the whole list, the new markets included', async () => {
  sim = startSim({ seed: 6, markets: 100, rate: 'realistic', framesPerSecond: 200, pingIntervalMs: 0 })
  const all = sim.universe.markets.map((m) => m.ticker)
  env = testConfig('nats://127.0.0.1:1', { mode: 'markets', channels: ['ticker'], shardSize: 10 })
  connector = await startConnector({ config: env.config, wsUrl: sim.wsUrl, noAuth: true, sink: new MemorySink(), markets: [all[0]], opsPort: false })
  await waitFor(() => subscribed(sim!).length === 1, 'the first market subscribed')
  // The add is an update_subscription on the shard's ticker sid, which the simulator cannot be made
  // to refuse; with the sid forgotten, the add is a first subscribe, which it can (code 17).
  const shard = connector.shards[0]
  shard.sids.clear() // the connector believes it holds no sid: the add subscribes anew
  sim.applyFault({ name: 'refuse_subscribe', value: '17:1' })
  await connector.addMarkets([all[1], all[2]])
  await waitFor(() => shard.epoch === 2 && shard.subscribed, 'the shard to reconnect and subscribe again')
  const latest = () => (sim!.stats().connections as SimConn[]).filter((c) => c.subscriptions.length > 0).at(-1)
  await waitFor(() => latest()?.subscriptions.flatMap((x) => x.market_tickers ?? []).length === 3, 'the whole list subscribed on the new socket')
  expect(latest()!.subscriptions.flatMap((x) => x.market_tickers ?? []).sort()).toEqual(all.slice(0, 3).sort())
})
