/**
 * NATS goes away while the connector is capturing: frames received meanwhile go to the local
 * journal and land in the stream after NATS returns, once each, in order. The test starts and
 * stops its own nats-server (by PID) on its own port and store directory.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import type { Subprocess } from 'bun'
import { freePort, haveNatsServer, NATS_SERVER, startNatsServer, stopNatsServer } from '../../../test/nats-server.ts'
import { startWsTap, type WsTap } from '../../../test/ws-tap.ts'
import { startSim, type Sim } from '../../services/sim/index.ts'
import { waitFor } from '../core/wait.ts'
import { readStream } from '../transport/read-stream.ts'
import { startConnector, type Connector } from './connector.ts'
import { DATA_TYPES, frameType, testConfig, unwrap, type TestEnv } from './connector.fixtures.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

let server: Subprocess | undefined
let sim: Sim | undefined
let tap: WsTap | undefined
let connector: Connector | undefined
let env: TestEnv | undefined
let store = ''
afterEach(async () => {
  await connector?.stop().catch(() => {})
  tap?.stop()
  await sim?.stop()
  if (server) await stopNatsServer(server)
  env?.cleanupLocal()
  rmSync(store, { recursive: true, force: true })
  server = sim = tap = connector = env = undefined
})

describe.skipIf(!haveNatsServer)(`connector through a NATS outage (${haveNatsServer ? NATS_SERVER : `SKIPPED: no ${NATS_SERVER}`})`, () => {
  test('frames received while NATS is down land in the stream after it returns, once each, in order', async () => {
    const port = await freePort()
    store = mkdtempSync(join(tmpdir(), 'ssmd-outage-'))
    const url = `nats://127.0.0.1:${port}`
    server = await startNatsServer(port, store)
    sim = startSim({ seed: 11, markets: 300, rate: 'realistic', framesPerSecond: 400, pingIntervalMs: 0 })
    tap = startWsTap(sim.wsUrl)
    env = testConfig(url, { mode: 'markets', channels: ['ticker', 'trade', 'orderbook_delta'], shardSize: 10 })
    const markets = sim.universe.markets.slice(0, 30).map((m) => m.ticker)
    connector = await startConnector({ config: env.config, wsUrl: tap.url, noAuth: true, markets, opsPort: false })
    const sent = () => [...tap!.frames.values()].flat().filter((f) => DATA_TYPES.has(frameType(f)))

    await waitFor(() => (connector!.stats().out.accepted ?? 0) > 50, 'frames acked before the outage')
    await stopNatsServer(server)
    const atOutage = sent().length
    await waitFor(() => (connector!.stats().out.journalRecords ?? 0) > 50 && sent().length > atOutage + 50, 'frames journaled during the outage', 15_000)
    server = await startNatsServer(port, store)
    await waitFor(() => sent().length > atOutage + 150, 'more frames after NATS returned')
    await waitFor(() => {
      const o = connector!.stats().out
      return o.mode === 'live' && o.journalRecords === 0 && (o.accepted ?? 0) >= sent().length - 5
    }, 'the journal to be replayed into the stream', 20_000)
    // Quiesce: the exchange stops sending, and every frame it sent has reached the connector.
    sim.applyFault({ name: 'stall', value: 'data' })
    // (a frame the exchange sent just before the stall can still be on its way: wait until the
    // count has stood still for 250 ms with the connector holding all of it)
    let count = -1
    let since = 0
    await waitFor(() => {
      const n = sent().length
      if (n !== count || connector!.stats().forwarded !== n) {
        count = n
        since = performance.now()
        return false
      }
      return performance.now() - since >= 250
    }, 'the connector to hold every frame sent, and no more frames coming')
    await connector.stop()
    connector = undefined

    const nc = await connect({ servers: url })
    const stored = await readStream(nc, env.stream, 30_000)
    await nc.close()
    const got = stored.map((r) => unwrap(r.payload))
    if (got.length !== sent().length) {
      const have = new Set(got.map((g) => g.frame))
      const missing = sent().filter((f) => !have.has(f))
      throw new Error(`stream holds ${got.length} data frames, the exchange sent ${sent().length}; ${missing.length} sent frames missing (first: ${missing[0]?.slice(0, 160)})`)
    }
    expect(new Set(stored.map((r) => r.msgId)).size).toBe(stored.length)
    // In order: per shard, the stream holds that socket's frames in the order they arrived.
    const byShard = new Map<number, string[]>()
    for (const g of got) byShard.set(g.shard, [...(byShard.get(g.shard) ?? []), g.frame])
    const byConn = [...tap.frames.values()].map((frames) => frames.filter((f) => DATA_TYPES.has(frameType(f))).join('\n'))
    expect([...byShard.values()].map((l) => l.join('\n')).sort()).toEqual(byConn.sort())
  })
})
