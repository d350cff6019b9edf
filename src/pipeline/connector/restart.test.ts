/**
 * The exchange goes away and comes back (the simulator stopped, then started again with the same
 * seed on the same port) under a running connector on real NATS: through the outage /health and
 * the idle metrics report the time since the last frame actually received (each reconnect
 * attempt is a new socket) and /health says disconnected; the recovery is logged; every trade of
 * both runs is stored (trade ids are unique per run, so JetStream dedupes none of them); the stop
 * line says stored beside duplicates; no log line has a key twice.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { connect } from '@nats-io/transport-node'
import pino from 'pino'
import { needService } from '../../../test/services.ts'
import { startSim, type Sim } from '../../services/sim/index.ts'
import { waitFor } from '../core/wait.ts'
import { readStream } from '../transport/read-stream.ts'
import { startConnector, type Connector } from './connector.ts'
import { duplicateKeys, testConfig, type TestEnv } from './connector.fixtures.ts'

const nats = await needService('nats')

type Line = { msg: string; [k: string]: any }

describe.skipIf(!nats.ok)(`connector across an exchange restart (${nats.reason})`, () => {
  let sims: Sim[] = []
  let connector: Connector | undefined
  let env: TestEnv | undefined
  afterEach(async () => {
    await connector?.stop().catch(() => {})
    for (const s of sims) await s.stop()
    await env?.cleanup()
    sims = []
    connector = env = undefined
  })

  test('the outage is reported as it is, the recovery logged, and every trade of both runs stored', async () => {
    const simOptions = { seed: 9, markets: 100, rate: 'realistic' as const, framesPerSecond: 400, pingIntervalMs: 0 }
    const first = startSim(simOptions)
    sims.push(first)
    const e = (env = testConfig(nats.url, { mode: 'markets', channels: ['ticker', 'trade'], shardSize: 200 }))
    const lines: string[] = []
    const log = pino({ name: 'ssmd', level: 'info' }, { write: (l: string) => void lines.push(l) })
    const logged = () => lines.map((l) => JSON.parse(l) as Line)
    const markets = first.universe.markets.slice(0, 20).map((m) => m.ticker)
    connector = await startConnector({ config: e.config, log, wsUrl: first.wsUrl, noAuth: true, markets, opsPort: 0 })
    const shard = connector.shards[0]
    const trades = async () => Number(/message_type="trade"\} (\d+)/.exec(await connector!.registry.getSingleMetricAsString('ssmd_connector_messages_total'))?.[1] ?? 0)
    await waitFor(async () => (await trades()) >= 30 && (connector!.stats().out.accepted ?? 0) > 60, 'trades of the first run stored')

    await first.stop()
    await waitFor(() => !shard.connected, 'the connector to see the exchange gone')
    const downAt = Date.now()
    // the drop and three failed attempts: over a second without a frame (at 250 ms × 2ⁿ ± 25 %)
    await waitFor(() => shard.reconnects >= 4, 'three failed reconnect attempts', 15_000)
    const base = connector.ops!.url
    const scrapedAt = Date.now()
    const metrics = await (await fetch(`${base}/metrics`)).text()
    const health = await fetch(`${base}/health`)
    const gauge = (name: string) => Number(new RegExp(`^${name}\\{feed="kalshi",category="markets",shard="0"\\} (\\S+)$`, 'm').exec(metrics)?.[1])
    // since the last frame received, before the exchange went; not since the last attempt's socket
    expect(gauge('ssmd_connector_idle_seconds')).toBeGreaterThanOrEqual((scrapedAt - downAt) / 1000)
    const lastActivity = gauge('ssmd_connector_last_activity_timestamp')
    expect([lastActivity <= downAt / 1000, lastActivity > downAt / 1000 - 30]).toEqual([true, true])
    const body = (await health.json()) as Record<string, unknown>
    expect([health.status, body.status, body.connected, typeof body.disconnected_secs]).toEqual([200, 'disconnected', false, 'number'])
    expect(body.last_message_secs_ago).toBeGreaterThanOrEqual(Math.max(1, Math.round((scrapedAt - downAt) / 1000)))

    const restartAt = Date.now()
    const second = startSim({ ...simOptions, port: first.port })
    sims.push(second)
    await waitFor(() => logged().some((l) => l.msg.includes('connected and subscribed again')), 'the recovery to be logged', 15_000)
    const recovered = logged().find((l) => l.msg.includes('connected and subscribed again'))!
    expect(recovered).toMatchObject({ level: 30, shard: 0, markets: 20 })
    expect(recovered.attempts).toBeGreaterThanOrEqual(4)
    expect(recovered.outageMs).toBeGreaterThanOrEqual(restartAt - downAt)
    expect((await fetch(`${base}/health`)).status).toBe(200)
    const before = await trades()
    await waitFor(async () => (await trades()) >= before + 30, 'trades of the second run')
    await connector.stop()
    const received = await trades()
    connector = undefined

    const nc = await connect({ servers: nats.url })
    const stored = await readStream(nc, e.stream, 30_000)
    await nc.close()
    expect(stored.filter((r) => r.subject.startsWith(`${e.prefix}.json.trade.`)).length).toBe(received)
    const stop = logged().find((l) => l.msg === 'connector stopped')!
    expect(stop.out).toMatchObject({ stored: stop.out.records, duplicates: 0 })
    expect(stop.out.written).toBeUndefined()
    expect(lines.map(duplicateKeys).filter((d) => d.length > 0)).toEqual([])
    expect(duplicateKeys('{"name":"ssmd","a":{"name":1,"b":[{"name":2},"name"]},"name":"X"}')).toEqual(['name'])
  })
})
