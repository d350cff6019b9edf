/**
 * End to end: a market created at the exchange (the simulator) reaches PostgreSQL through the
 * secmaster sync, the connector through CDC, and its frames reach NATS; when it settles, the
 * connector unsubscribes it. Real PostgreSQL, NATS, the simulator; nothing mocked.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { needLogicalWal, needService, uniqueId } from '../../../test/services.ts'
import { testConfig } from '../../pipeline/connector/connector.fixtures.ts'
import { startConnector } from '../../pipeline/connector/connector.ts'
import { encodeTickerToken } from '../../hot/subject.ts'
import { waitFor } from '../../pipeline/core/wait.ts'
import { cdcFixture } from '../cdc/cdc-fixture.ts'
import { startCdc } from '../cdc/index.ts'
import { KalshiRest } from '../../pipeline/kalshi-rest/index.ts'
import { syncSecmaster } from '../secmaster/index.ts'
import { startSim } from '../sim/index.ts'
import { followCdc, loadActiveMarkets } from './index.ts'

const pg = await needLogicalWal(await needService('postgres'))
const nats = await needService('nats')
const cleanups: (() => Promise<unknown> | unknown)[] = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe.skipIf(!pg.ok || !nats.ok)(`dynamic subscriptions (${pg.reason}; ${nats.reason})`, () => {
  test('a new market flows sim → PostgreSQL → CDC → connector → NATS, and is unsubscribed when it settles', async () => {
    let offset = 0
    const sim = startSim({ seed: 21, markets: 200, rate: 'realistic', framesPerSecond: 400, pingIntervalMs: 0, restRateLimit: 0, clock: () => Date.now() + offset })
    cleanups.push(() => sim.stop())
    const id = uniqueId('dyn')
    const f = await cdcFixture(pg.url, nats.url, id)
    cleanups.push(() => f.cleanup())
    const rest = new KalshiRest({ baseUrl: sim.restUrl })
    await syncSecmaster(f.db.sql, rest, { mode: 'full' })
    const cdc = await startCdc({ sql: f.sql, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 20 })
    cleanups.push(() => cdc.stop())

    const start = await loadActiveMarkets(f.db.sql)
    expect(start.tickers.length).toBeGreaterThan(0)
    const env = testConfig(nats.url, { mode: 'markets', channels: ['ticker', 'trade'], shardSize: 200 })
    cleanups.push(() => env.cleanup())
    const connector = await startConnector({ config: env.config, wsUrl: sim.wsUrl, noAuth: true, markets: start.tickers, opsPort: false })
    cleanups.push(() => connector.stop())
    const follower = await followCdc({ connector, nc: f.nc, sql: f.db.sql, stream: f.stream, consumer: `conn-${id}`, subjectPrefix: f.subjectPrefix, snapshotLsn: start.snapshotLsn, snapshotTime: start.snapshotTime, batchDelayMs: 20 })
    cleanups.push(() => follower.stop())

    // A new 15-minute event opens (Kalshi sends no event for initialized → active).
    const ev = sim.createEvent()
    const market = ev.markets[0].ticker
    offset = ev.markets[0].openMs - Date.now() + 1000
    sim.tick()
    expect(sim.universe.market(market)!.status).toBe('active')
    await syncSecmaster(f.db.sql, rest, { mode: 'full', noDelete: true })
    await waitFor(() => connector.shards.some((s) => s.markets.includes(market)), 'the connector to subscribe the new market via CDC', 15_000)

    const nc = await connect({ servers: nats.url })
    cleanups.push(() => nc.close())
    const jsm = await jetstreamManager(nc)
    const subject = `${env.prefix}.json.ticker.${encodeTickerToken(market)}`
    await waitFor(async () => (await jsm.streams.info(env.stream, { subjects_filter: subject })).state.subjects?.[subject] ?? 0, `ticker frames of ${market} on NATS`, 15_000)

    sim.settleMarket(market)
    await syncSecmaster(f.db.sql, rest, { mode: 'full', noDelete: true })
    await waitFor(() => !connector.shards.some((s) => s.markets.includes(market)), 'the settled market to be unsubscribed', 15_000)
    type Conn = { subscriptions: { market_tickers: string[] | null }[] }
    await waitFor(() => !(sim.stats().connections as Conn[]).some((c) => c.subscriptions.some((s) => s.market_tickers?.includes(market))), 'the exchange to drop the market from its sids')
    // Moving the sim clock also opens and settles other markets, which follow the same path; their
    // changes may still sit in the follower's batch window (20 ms), so wait for it to drain.
    await waitFor(() => follower.stats().pending === 0, 'the follower to apply every batched change')
    const st = follower.stats()
    expect([st.added >= 1, st.removed >= 1, st.retried]).toEqual([true, true, 0])
  })
})

describe.skipIf(!pg.ok || !nats.ok)(`dynamic subscriptions, category filter (${pg.reason}; ${nats.reason})`, () => {
  /**
   * CDC on a database of its own, the events given, and a follower with a recording sink (the
   * connector's part is the first test's): what it added, in order.
   */
  async function follow(prefix: string, events: string, categories: string[], retryDelayMs?: number) {
    const id = uniqueId(prefix)
    const f = await cdcFixture(pg.url, nats.url, id)
    cleanups.push(() => f.cleanup())
    const cdc = await startCdc({ sql: f.sql, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 20 })
    cleanups.push(() => cdc.stop())
    const db = f.db.sql
    await db.unsafe(`insert into events (event_ticker, title, category, series_ticker) values ${events}`)
    const start = await loadActiveMarkets(db, categories)
    const added: string[] = []
    const sink = { addMarkets: async (t: string[]) => (added.push(...t), t), removeMarkets: async (t: string[]) => t }
    const consumer = `c-${id}`
    const follower = await followCdc({ connector: sink, nc: f.nc, sql: db, stream: f.stream, consumer, subjectPrefix: f.subjectPrefix, snapshotLsn: start.snapshotLsn, snapshotTime: start.snapshotTime, categories, batchDelayMs: 10, retryDelayMs })
    cleanups.push(() => follower.stop())
    return { f, db, added, follower, consumer }
  }

  test('a failing category lookup is retried until it succeeds, never skipped; other categories are skipped', async () => {
    const { db, added, follower } = await follow('dyc', `('EV-C', 'crypto', 'Crypto', 'S'), ('EV-P', 'politics', 'Politics', 'S')`, ['Crypto'], 50)
    await db`alter table events rename to events_away`
    // the foreign key follows the renamed table, so the markets still insert
    await db`insert into markets (ticker, event_ticker, title, status) values ('M-P', 'EV-P', 'p', 'active'), ('M-C', 'EV-C', 'c', 'active')`
    await waitFor(() => follower.stats().retried >= 2, 'lookups to fail and be retried')
    expect(added).toEqual([])
    await db`alter table events_away rename to events`
    await waitFor(() => added.includes('M-C'), 'the market to be subscribed once the lookup works', 10_000)
    expect(added).toEqual(['M-C'])
  })

  test('a consumer deleted under the follower is created again from the first message not acked: nothing applied is replayed, what comes next is applied', async () => {
    const { f, db, added, consumer } = await follow('dyd', `('EV-D', 'd', 'Crypto', 'S')`, [])
    await db`insert into markets (ticker, event_ticker, title, status) values ('D1', 'EV-D', 'd1', 'active'), ('D2', 'EV-D', 'd2', 'active')`
    await waitFor(() => added.length === 2, 'D1 and D2 applied')
    const jsm = await jetstreamManager(f.nc)
    await waitFor(async () => (await jsm.consumers.info(f.stream, consumer)).num_ack_pending === 0, 'both acked')
    const floor = (await jsm.consumers.info(f.stream, consumer)).ack_floor.stream_seq
    await jsm.consumers.delete(f.stream, consumer)
    await db`insert into markets (ticker, event_ticker, title, status) values ('D3', 'EV-D', 'd3', 'active')`
    await waitFor(() => added.includes('D3'), 'D3 applied through the new consumer', 15_000)
    expect(added).toEqual(['D1', 'D2', 'D3']) // from the snapshot time again it was D1, D2, D1, D2, D3
    const info = await jsm.consumers.info(f.stream, consumer)
    expect([info.config.deliver_policy, info.config.opt_start_seq]).toEqual(['by_start_sequence', floor + 1])
  })
})
