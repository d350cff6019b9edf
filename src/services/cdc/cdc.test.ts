import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { waitFor } from '../../pipeline/core/wait.ts'
import { needLogicalWal, needService, uniqueId } from '../../../test/services.ts'
import { startCdc, type Cdc } from './cdc.ts'
import { openCdcSql } from './connect.ts'
import { cdcFixture, type CdcFixture } from './cdc-fixture.ts'

const pg = await needLogicalWal(await needService('postgres'))
const nats = await needService('nats')

describe.skipIf(!pg.ok || !nats.ok)(`cdc to JetStream (${pg.reason}; ${nats.reason})`, () => {
  let f: CdcFixture
  let cdc: Cdc

  beforeAll(async () => {
    f = await cdcFixture(pg.url, nats.url, uniqueId('c'))
    cdc = await startCdc({ sql: f.sql, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 10 })
  })
  afterAll(async () => {
    await cdc?.stop()
    await f?.cleanup()
  })

  test('before any change, events_total is exported at 0 for every CDC table and op (increase() saw no first event)', async () => {
    const text = (await cdc.registry.metrics()).split('\n')
    const zero = ['events', 'markets', 'series', 'series_fees'].flatMap((t) => ['insert', 'update', 'delete'].map((op) => `ssmd_cdc_events_total{table="${t}",op="${op}"} 0`))
    expect(zero.filter((l) => !text.includes(l))).toEqual([])
  })

  test('publishes one typed event per insert, update and delete, and one per row of a two-table transaction', async () => {
    const { sql } = f
    await sql`insert into series (ticker, title, category, tags, volume) values ('KXBTC', 'Bitcoin', 'Crypto', ${['daily', 'btc price']}, 12)`
    await sql`insert into events (event_ticker, title, series_ticker, strike_date) values ('KXBTC-26FEB01', 'BTC Feb 1', 'KXBTC', '2026-02-01 17:00:00+00')`
    await sql`insert into markets (ticker, event_ticker, title, status, close_time, yes_bid, can_close_early)
      values ('KXBTC-26FEB01-B100', 'KXBTC-26FEB01', 'BTC above 100k', 'active', '2026-02-01 12:00:00.123456+00', 0.4500, true)`
    await sql`update markets set yes_bid = 0.0001, status = 'settled' where ticker = 'KXBTC-26FEB01-B100'`
    await sql`delete from markets where ticker = 'KXBTC-26FEB01-B100'`
    await sql.begin(async (tx) => {
      await tx`update series set volume = 13 where ticker = 'KXBTC'`
      await tx`update events set status = 'closed' where event_ticker = 'KXBTC-26FEB01'`
    })
    await waitFor(() => cdc.stats().published >= 7, '7 cdc events')
    const got = await f.events()
    const p = f.subjectPrefix
    expect(got.map((g) => [g.subject, g.event.table, g.event.op])).toEqual([
      [`${p}.series.insert`, 'series', 'insert'],
      [`${p}.events.insert`, 'events', 'insert'],
      [`${p}.markets.insert`, 'markets', 'insert'],
      [`${p}.markets.update`, 'markets', 'update'],
      [`${p}.markets.delete`, 'markets', 'delete'],
      [`${p}.series.update`, 'series', 'update'],
      [`${p}.events.update`, 'events', 'update'],
    ])
    const [series, , market, update, del, txA, txB] = got.map((g) => g.event)
    expect(series!.row).toEqual({
      ticker: 'KXBTC', title: 'Bitcoin', category: 'Crypto', tags: ['daily', 'btc price'], is_game: false,
      active: true, volume: 12, fee_type: null, fee_multiplier: '1.0000',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      updated_at: expect.stringMatching(/Z$/),
    })
    expect(series!.old_keys).toBeNull()
    expect({ close: market!.row.close_time, bid: market!.row.yes_bid, early: market!.row.can_close_early, ask: market!.row.yes_ask })
      .toEqual({ close: '2026-02-01T12:00:00.123456Z', bid: '0.4500', early: true, ask: null })
    expect({ bid: update!.row.yes_bid, status: update!.row.status, old: update!.old_keys })
      .toEqual({ bid: '0.0001', status: 'settled', old: { ticker: 'KXBTC-26FEB01-B100' } })
    expect({ row: del!.row, old: del!.old_keys }).toEqual({ row: { ticker: 'KXBTC-26FEB01-B100' }, old: { ticker: 'KXBTC-26FEB01-B100' } })
    // the two rows of one transaction: same xid and commit, distinct LSNs and message ids
    expect(txA!.xid).toBe(txB!.xid)
    expect(txA!.commit_lsn).toBe(txB!.commit_lsn)
    expect(txA!.lsn).not.toBe(txB!.lsn)
    expect(new Set(got.map((g) => g.msgId)).size).toBe(7)
    expect(got[4]!.msgId).toBe(`${del!.lsn}:markets:delete:KXBTC-26FEB01-B100`)
    expect(got[5]!.msgId).toBe(`${txA!.lsn}:series:update:KXBTC`)
  })

  test('advances the permanent slot only to what was published, and the slot survives a stop', async () => {
    await cdc.stop()
    await f.sql`insert into series (ticker, title) values ('KXDOWN', 'made while cdc was down')`
    const [slot] = await f.sql`select temporary, plugin, active from pg_replication_slots where slot_name = ${f.slot}`
    expect(slot).toEqual({ temporary: false, plugin: 'pgoutput', active: false })
    cdc = await startCdc({ sql: f.sql, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 10 })
    await waitFor(() => cdc.stats().published >= 1, 'the change made while down')
    const got = await f.events()
    expect(got.length).toBe(8)
    expect(got[7]!.event.row.ticker).toBe('KXDOWN')
    const info = await (await jetstreamManager(f.nc)).streams.info(f.stream)
    expect(info.config.subjects).toEqual([`${f.subjectPrefix}.>`])
  })

  test('leaves out tables that are not in the CDC list', async () => {
    await f.sql`insert into settings (key, value) values ('cdc_probe', '{}'::jsonb)`.catch(() => {})
    await f.sql`insert into series (ticker, title) values ('KXAFTER', 'after a non-CDC change')`
    await waitFor(async () => (await f.events()).length >= 9, 'the series insert')
    expect((await f.events()).map((g) => g.event.table)).not.toContain('settings')
  })

  test('a second cdc on the same slot is refused at start, naming the slot and the holder; the first keeps publishing', async () => {
    const other = await openCdcSql(f.db.url)
    try {
      const err = await startCdc({ sql: other, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix })
        .then(async (c) => (await c.stop(), null), (e: unknown) => e)
      expect(err).toMatchObject({ code: 'CDC_SLOT_ACTIVE', message: expect.stringMatching(new RegExp(`replication slot ${f.slot} is in use by PID \\d+ from \\S+ \\(ssmd-cdc\\)`)) })
    } finally {
      await other.end({ timeout: 1 })
    }
    const before = cdc.stats().published
    await f.sql`insert into series (ticker, title) values ('KXSECOND', 'after the refused start')`
    await waitFor(() => cdc.stats().published > before, 'the change, published by the first cdc')
  })

  test('a deleted stream is created again on the next publish (was: "jetstream is not enabled", then CDC_FAILING)', async () => {
    const jsm = await jetstreamManager(f.nc)
    await jsm.streams.delete(f.stream)
    const failures = cdc.stats().failures
    await f.sql`insert into series (ticker, title) values ('KXGONE', 'after the stream was deleted')`
    await waitFor(async () => (await f.events().catch(() => [])).length >= 1, 'the change in the recreated stream')
    expect((await f.events()).map((g) => g.event.row.ticker)).toEqual(['KXGONE'])
    expect(cdc.stats().failures).toBe(failures)
    expect((await jsm.streams.info(f.stream)).config.duplicate_window).toBeGreaterThan(0)
  })
})
