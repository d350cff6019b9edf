import { describe, expect, test } from 'bun:test'
import { jetstream } from '@nats-io/jetstream'
import { useJetStream } from '../../../test/jetstream.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { connect } from '@nats-io/transport-node'
import { waitFor } from '../../pipeline/core/wait.ts'
import { ensureStream } from '../../pipeline/transport/stream.ts'
import { createTestDatabase, type TestDatabase } from '../db/index.ts'
import { lifecycleMsg } from '../sim/frames.ts'
import { Universe, type LifecycleChange } from '../sim/index.ts'
import { applyLifecycle } from './apply.ts'
import { startLifecycleConsumer } from './consumer.ts'
import { parseLifecycle } from './frame.ts'
import { sweepInitialized } from './sweep.ts'

const pg = await needService('postgres')
const nats = await needService('nats')
const NOW = Date.parse('2026-03-02T12:07:00Z')
/** A `created` lifecycle frame for `ticker`, open from NOW for 15 minutes. */
const created = (ticker: string) => JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: { market_ticker: ticker, event_type: 'created', open_ts: NOW / 1000, close_ts: NOW / 1000 + 900 } })

/** Frames exactly as the connector publishes them: the Kalshi frame plus `_shard_id`. */
function frames(changes: LifecycleChange[]): { subject: string; body: string }[] {
  return changes.map((c, i) => {
    const [type, msg] = lifecycleMsg(c)
    const id = c.kind === 'event' ? c.event.eventTicker : c.market.ticker
    return { subject: `${type === 'event_lifecycle' ? 'event_lifecycle' : 'lifecycle'}.${id}`, body: `{"type":"${type}","sid":1,"seq":${i + 1},"msg":${msg},"_shard_id":0}` }
  })
}

describe.skipIf(!pg.ok || !nats.ok)(`lifecycle consumer (${pg.reason}; ${nats.reason})`, () => {
  const js$ = useJetStream(nats)

  async function setup(): Promise<{ db: TestDatabase; stream: string; prefix: string; publish: (subject: string, body: string) => Promise<number> }> {
    const prefix = uniqueId('lc')
    const stream = prefix.toUpperCase()
    js$.streams.push(stream)
    await ensureStream(js$.jsm, { name: stream, subjects: [`${prefix}.>`], maxAgeMs: 3_600_000, maxBytes: 16 << 20, duplicateWindowMs: 60_000 })
    const db = await createTestDatabase(pg.url, { migrated: true })
    const js = jetstream(js$.nc)
    return { db, stream, prefix, publish: async (subject, body) => (await js.publish(`${prefix}.json.${subject}`, body)).seq }
  }

  test('every outcome counter is exported at 0 before the first message (increase() saw no first db_error)', async () => {
    const { db, stream, prefix } = await setup()
    await using _db = db
    const c = await startLifecycleConsumer({ sql: db.sql, nc: js$.nc, stream, filter: `${prefix}.json.>`, consumer: uniqueId('c'), sweepIntervalMs: 0, opsPort: 0 })
    try {
      const text = (await (await fetch(`${c.ops!.url}/metrics`)).text()).split('\n')
      const zero = ['applied', 'duplicate', 'skipped', 'malformed', 'db_error'].map((o) => `ssmd_lifecycle_messages_total{outcome="${o}"} 0`)
      expect(zero.filter((l) => !text.includes(l))).toEqual([])
    } finally {
      await c.stop()
    }
  })

  test('/health stays 200 while NATS reconnects but is 503 once the client is closed for good (a restart is what helps then)', async () => {
    const { db, stream, prefix } = await setup()
    await using _db = db
    const own = await connect({ servers: nats.url })
    const c = await startLifecycleConsumer({ sql: db.sql, nc: own, stream, filter: `${prefix}.json.>`, consumer: uniqueId('c'), sweepIntervalMs: 0, opsPort: 0 })
    try {
      const health = async () => {
        const r = await fetch(`${c.ops!.url}/health`)
        const b = (await r.json()) as { status: string; nats: string }
        return [r.status, b.status, b.nats]
      }
      expect(await health()).toEqual([200, 'ok', 'connected'])
      await own.close()
      expect(await health()).toEqual([503, 'nats_closed', 'closed'])
    } finally {
      await c.stop().catch(() => {})
    }
  })

  test('created/closed/determined/settled frames land once each, discover markets and events, and set statuses', async () => {
    const { db, stream, prefix, publish } = await setup()
    await using _db = db
    const u = new Universe(9, 10, NOW)
    const changes: LifecycleChange[] = []
    u.onChange = (c) => changes.push(c)
    const ev = u.createEvent(NOW, u.series.find((s) => s.template.marketsPerEvent >= 2)!.ticker)
    const [a, b] = ev.markets
    u.transition(a.ticker, 'settled', NOW + 60_000, 'yes')
    const fs = frames(changes)
    for (const f of fs) await publish(f.subject, f.body)
    await publish(`lifecycle.${b.ticker}`, JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, seq: 99, msg: { market_ticker: b.ticker, event_type: 'close_date_updated', close_ts: NOW / 1000 + 7200 } }))
    await publish(`lifecycle.${b.ticker}`, '{"type":"market_lifecycle_v2","msg":')
    const marketFrames = fs.filter((f) => f.subject.startsWith('lifecycle.')).length + 1

    const c = await startLifecycleConsumer({ sql: db.sql, nc: js$.nc, stream, filter: `${prefix}.json.>`, consumer: uniqueId('c'), sweepIntervalMs: 0, opsPort: 0 })
    try {
      await waitFor(() => c.stats.applied + c.stats.skipped + c.stats.malformed === fs.length + 2, 'every message handled')
      expect([c.stats.applied, c.stats.skipped, c.stats.malformed, c.stats.dbErrors]).toEqual([marketFrames, 1, 1, 0])
      const rows = await db.sql`select market_ticker, event_type from market_lifecycle_events where market_ticker = ${a.ticker} order by nats_seq`
      expect(rows.map((r) => r.event_type)).toEqual(['created', 'closed', 'determined', 'settled'])
      const markets = await db.sql`select ticker, status, close_time, event_ticker from markets order by ticker`
      expect(markets.length).toBe(ev.markets.length)
      const byTicker = Object.fromEntries(markets.map((m) => [m.ticker, m]))
      expect([byTicker[a.ticker].status, byTicker[b.ticker].status, byTicker[b.ticker].close_time.getTime()]).toEqual(['settled', 'initialized', NOW + 7_200_000])
      const [event] = await db.sql`select event_ticker, series_ticker from events`
      expect(event).toEqual({ event_ticker: ev.eventTicker, series_ticker: ev.seriesTicker })
      const health = await fetch(`${c.ops!.url}/health`)
      expect(health.status).toBe(200)
      expect(await (await fetch(`${c.ops!.url}/metrics`)).text()).toContain(`ssmd_lifecycle_messages_total{outcome="applied"} ${marketFrames}`)
    } finally {
      await c.stop()
    }

    // The same messages delivered again (a fresh durable replays the stream): nothing new.
    const again = await startLifecycleConsumer({ sql: db.sql, nc: js$.nc, stream, filter: `${prefix}.json.lifecycle.>`, consumer: uniqueId('c'), sweepIntervalMs: 0 })
    try {
      await waitFor(() => again.stats.duplicates + again.stats.malformed === marketFrames + 1, 'every message redelivered')
      expect([again.stats.applied, again.stats.duplicates]).toEqual([0, marketFrames])
      expect((await db.sql`select count(*)::int n from market_lifecycle_events`)[0].n).toBe(marketFrames)
    } finally {
      await again.stop()
    }
  })

  test('a stream deleted and created again under it: the consumer is attached again and the new stream\'s events (seq 1, 2 … again) are applied, not taken for redeliveries', async () => {
    const { db, stream, prefix, publish } = await setup()
    await using _db = db
    await publish('lifecycle.KXR-1-A', created('KXR-1-A'))
    await publish('lifecycle.KXR-1-B', created('KXR-1-B'))
    const c = await startLifecycleConsumer({ sql: db.sql, nc: js$.nc, stream, filter: `${prefix}.json.lifecycle.>`, consumer: uniqueId('c'), sweepIntervalMs: 0 })
    try {
      await waitFor(() => c.stats.applied === 2, 'the first stream\'s two events')
      await js$.jsm.streams.delete(stream)
      await ensureStream(js$.jsm, { name: stream, subjects: [`${prefix}.>`], maxAgeMs: 3_600_000, maxBytes: 16 << 20, duplicateWindowMs: 60_000 })
      expect(await publish('lifecycle.KXR-2-A', created('KXR-2-A'))).toBe(1)
      await publish('lifecycle.KXR-2-B', created('KXR-2-B'))
      await waitFor(() => c.stats.applied === 4, `the new stream's two events (applied ${c.stats.applied}, duplicates ${c.stats.duplicates})`, 20_000)
      expect(c.stats.duplicates).toBe(0)
      const markets = await db.sql`select ticker from markets order by ticker`
      expect(markets.map((m) => m.ticker)).toEqual(['KXR-1-A', 'KXR-1-B', 'KXR-2-A', 'KXR-2-B'])
    } finally {
      await c.stop()
    }
  })

  test('a consumer deleted under it is created again from the first message not acked: nothing applied comes again', async () => {
    const { db, stream, prefix, publish } = await setup()
    await using _db = db
    await publish('lifecycle.KXQ-1-A', created('KXQ-1-A'))
    const last = await publish('lifecycle.KXQ-1-B', created('KXQ-1-B'))
    const name = uniqueId('c')
    const c = await startLifecycleConsumer({ sql: db.sql, nc: js$.nc, stream, filter: `${prefix}.json.lifecycle.>`, consumer: name, sweepIntervalMs: 0 })
    try {
      await waitFor(() => c.stats.applied === 2, 'the two events')
      await waitFor(async () => (await js$.jsm.consumers.info(stream, name)).num_ack_pending === 0, 'both acked')
      await js$.jsm.consumers.delete(stream, name)
      await publish('lifecycle.KXQ-1-C', created('KXQ-1-C'))
      await waitFor(() => c.stats.applied === 3, `the third (applied ${c.stats.applied}, duplicates ${c.stats.duplicates})`, 20_000)
      expect(c.stats.duplicates).toBe(0) // from the stream's start again, the first two came back as duplicates
      const info = await js$.jsm.consumers.info(stream, name)
      expect([info.config.deliver_policy, info.config.opt_start_seq]).toEqual(['by_start_sequence', last + 1])
    } finally {
      await c.stop()
    }
  })

  test('a database error NAKs the message; it is applied once the database is back', async () => {
    const { db, stream, prefix, publish } = await setup()
    await using _db = db
    await db.sql`alter table market_lifecycle_events rename to mle_away`
    await publish('lifecycle.KXT-1-A', created('KXT-1-A'))
    const c = await startLifecycleConsumer({ sql: db.sql, nc: js$.nc, stream, filter: `${prefix}.json.lifecycle.>`, consumer: uniqueId('c'), sweepIntervalMs: 0, nakDelayMs: 20 })
    try {
      await waitFor(() => c.stats.dbErrors > 0, 'a database error')
      await db.sql`alter table mle_away rename to market_lifecycle_events`
      await waitFor(() => c.stats.applied === 1, 'the redelivered message applied')
      const [m] = await db.sql`select status, event_ticker from markets where ticker = 'KXT-1-A'`
      expect(m).toEqual({ status: 'initialized', event_ticker: 'KXT-1' })
    } finally {
      await c.stop()
    }
  })

  test('the sweep promotes initialized markets once open_time ≤ now < close_time (injected clock)', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    await db.sql`insert into events (event_ticker, title) values ('E-1', 'E')`
    const at = (min: number) => new Date(NOW + min * 60_000)
    await db.sql`insert into markets (ticker, event_ticker, title, status, open_time, close_time) values
      ('E-1-A', 'E-1', 'A', 'initialized', ${at(10)}, ${at(20)}),
      ('E-1-B', 'E-1', 'B', 'initialized', ${at(30)}, ${at(40)}),
      ('E-1-C', 'E-1', 'C', 'closed', ${at(0)}, ${at(20)})`
    expect(await sweepInitialized(db.sql, at(5))).toBe(0)
    expect(await sweepInitialized(db.sql, at(10))).toBe(1)
    expect(await sweepInitialized(db.sql, at(45))).toBe(0) // B closed before anyone saw it open
    const rows = await db.sql`select ticker, status from markets order by ticker`
    expect(rows.map((r) => `${r.ticker}:${r.status}`)).toEqual(['E-1-A:active', 'E-1-B:initialized', 'E-1-C:closed'])
  })

  test('applying the same stream sequence twice is a no-op; a late closed never undoes settled', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const created = parseLifecycle(JSON.stringify({ type: 'market_lifecycle_v2', msg: { market_ticker: 'S-1-X', event_type: 'created', open_ts: 1 } }), 't')!
    const settled = parseLifecycle(JSON.stringify({ type: 'market_lifecycle_v2', msg: { market_ticker: 'S-1-X', event_type: 'settled', result: 'no', settled_ts: 2 } }), 't')!
    const closed = parseLifecycle(JSON.stringify({ type: 'market_lifecycle_v2', msg: { market_ticker: 'S-1-X', event_type: 'closed' } }), 't')!
    expect([await applyLifecycle(db.sql, created, 1), await applyLifecycle(db.sql, created, 1)]).toEqual(['applied', 'duplicate'])
    await applyLifecycle(db.sql, settled, 2)
    await applyLifecycle(db.sql, closed, 3)
    const [m] = await db.sql`select status from markets`
    const [e] = await db.sql`select metadata, settled_ts from market_lifecycle_events where nats_seq = 2`
    expect([m.status, e.metadata, e.settled_ts.getTime()]).toEqual(['settled', { result: 'no' }, 2000])
  })
})
