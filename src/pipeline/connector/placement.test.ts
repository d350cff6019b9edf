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
