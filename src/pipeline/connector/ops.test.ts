import { afterEach, describe, expect, test } from 'bun:test'
import { needService } from '../../../test/services.ts'
import { startSim, type Sim } from '../../services/sim/index.ts'
import { waitFor } from '../core/wait.ts'
import { Connector, startConnector } from './connector.ts'
import { testConfig, type TestEnv } from './connector.fixtures.ts'

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`connector /health /ready /metrics (${nats.reason})`, () => {
  let sim: Sim | undefined
  let connector: Connector | undefined
  let env: TestEnv | undefined
  afterEach(async () => {
    await connector?.stop().catch(() => {})
    await sim?.stop()
    await env?.cleanup()
    sim = connector = env = undefined
  })

  test('answers /health (200, connecting) and /ready (503) while the exchange does not answer at start, before the start gives up', async () => {
    // a port that refuses connections: the shards retry with backoff until connectTimeoutMs
    const closed = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const port = closed.port
    closed.stop(true)
    env = testConfig(nats.url, { mode: 'markets', channels: ['ticker'] })
    const c = new Connector({ config: env.config, wsUrl: `ws://127.0.0.1:${port}/trade-api/ws/v2`, noAuth: true, markets: ['KXNOBODY-1'], opsPort: 0, connectTimeoutMs: 3_000 })
    const started = c.start().then(() => null, (e: unknown) => e as { code: string })
    const base = await waitFor(() => c.ops?.url, 'the ops server during the start')
    const health = await fetch(`${base}/health`)
    expect([health.status, ((await health.json()) as { status: string }).status]).toEqual([200, 'connecting'])
    const ready = await fetch(`${base}/ready`)
    expect([ready.status, ((await ready.json()) as { status: string }).status]).toEqual([503, 'not_connected'])
    expect((await started)?.code).toBe('WS_CONNECT')
    expect(await fetch(`${base}/health`).then(() => 'up', () => 'down')).toBe('down') // the failed start stopped it
  })

  test('serves health, readiness and the reference metric names plus the transport metrics', async () => {
    const startedAt = Date.now()
    sim = startSim({ seed: 5, markets: 300, rate: 'realistic', framesPerSecond: 500, pingIntervalMs: 0 })
    env = testConfig(nats.url, { mode: 'markets', channels: ['ticker', 'trade', 'orderbook_delta'], shardSize: 200 })
    connector = await startConnector({ config: env.config, wsUrl: sim.wsUrl, noAuth: true, markets: sim.universe.markets.slice(0, 250).map((m) => m.ticker), opsPort: 0 })
    await waitFor(() => (connector!.stats().out.accepted ?? 0) > 100, 'frames acked')
    const base = connector.ops!.url
    const health = await fetch(`${base}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok', feed: 'kalshi', connected: true })
    await waitFor(() => connector!.ready().ok, 'readiness')
    const ready = await fetch(`${base}/ready`)
    expect([ready.status, ((await ready.json()) as { status: string }).status]).toEqual([200, 'ready'])
    const text = await (await fetch(`${base}/metrics`)).text()
    const names = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]))
    for (const name of [
      'ssmd_connector_messages_total',
      'ssmd_connector_last_activity_timestamp',
      'ssmd_connector_websocket_connected',
      'ssmd_connector_shards_total',
      'ssmd_connector_markets_subscribed',
      'ssmd_connector_idle_seconds',
      'ssmd_connector_ws_process_duration_seconds',
      'ssmd_connector_nats_publish_duration_seconds',
      'ssmd_connector_publish_latency_seconds',
      'ssmd_connector_seq_gaps_total',
      'ssmd_connector_reconnects_total',
      'ssmd_connector_ring_used_bytes',
      'ssmd_connector_ring_backpressure_total',
      'ssmd_connector_journal_records',
      'ssmd_connector_journal_bytes',
    ]) expect([name, names.has(name)]).toEqual([name, true])
    // Each family appears once (the Worker's registry is appended, not duplicated).
    expect([...text.matchAll(/^# TYPE (\S+) /gm)].length).toBe(names.size)
    expect(text).toMatch(/ssmd_connector_websocket_connected\{feed="kalshi",category="markets",shard="1"\} 1/)
    expect(text).toMatch(/ssmd_connector_markets_subscribed\{feed="kalshi",category="markets",shard="0"\} 200/)
    expect(text).toMatch(/ssmd_connector_messages_total\{[^}]*message_type="orderbook_delta"\} [1-9]/)
    // records leaving for the transport are counted
    expect(Number(/^ssmd_connector_records_out_total\{transport="nats"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(100)
    // counters exist at 0 before their first increment (an increase() alert sees the first one)
    for (const series of [
      'ssmd_connector_seq_gaps_total{feed="kalshi",shard="0",channel="trade"} 0',
      'ssmd_connector_seq_missing_total{feed="kalshi",shard="1",channel="orderbook_delta"} 0',
      'ssmd_connector_reconnects_total{feed="kalshi",shard="1"} 0',
      'ssmd_connector_parse_errors_total{feed="kalshi"} 0',
      'ssmd_connector_messages_total{feed="kalshi",category="markets",shard="all",message_type="market_lifecycle_v2"} 0',
    ]) expect(text.split('\n')).toContain(series)
    // the last activity of this scrape, not of the one before (this is the first: it has one)
    const lastActivity = Number(/^ssmd_connector_last_activity_timestamp\{feed="kalshi",category="markets",shard="0"\} (\S+)$/m.exec(text)?.[1])
    expect([lastActivity > startedAt / 1000, lastActivity <= Date.now() / 1000]).toEqual([true, true])
    // memory: each thread's heap (the flusher's from the Worker's registry) and the process's RSS
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])
    const memory = ['ssmd_connector_heap_bytes', 'ssmd_connector_flusher_heap_bytes', 'process_resident_memory_bytes'].map(gauge)
    expect([memory.every((b) => b > 1e6 && b < 4e9), memory]).toEqual([true, memory])
  })
})
