/** What the shipped migrations promise, checked on a real server (one fresh database per test). */
import { describe, expect, test } from 'bun:test'
import { needService } from '../../../test/services.ts'
import { createTestDatabase, type TestDatabase } from './test-database.ts'

const pg = await needService('postgres')
function migrated(): Promise<TestDatabase> {
  return createTestDatabase(pg.url, { migrated: true })
}

/** The constraint a failing statement violated, or 'ok'. */
async function violation(run: () => Promise<unknown>): Promise<string> {
  try {
    await run()
    return 'ok'
  } catch (e) {
    const err = e as { constraint_name?: string; message: string }
    return err.constraint_name ?? err.message
  }
}

describe.skipIf(!pg.ok)(`schema (${pg.reason})`, () => {
  test('updated_at moves only when a data column really changes', async () => {
    await using db = await migrated()
    const { sql } = db
    const old = new Date('2020-01-01T00:00:00Z')
    await sql`insert into series (ticker, title, updated_at) values ('KXBTC', 'Bitcoin', ${old})`
    await sql`insert into events (event_ticker, title, series_ticker, updated_at) values ('KXBTC-26', 'BTC 2026', 'KXBTC', ${old})`
    await sql`insert into markets (ticker, event_ticker, title, yes_bid, updated_at) values ('KXBTC-26-B1', 'KXBTC-26', 'B1', 0.5, ${old})`
    const stamps = async () => {
      const [r] = await sql<{ s: Date; e: Date; m: Date }[]>`
        select (select updated_at from series) s, (select updated_at from events) e, (select updated_at from markets) m`
      return [r.s, r.e, r.m].map((d) => d.getTime() === old.getTime())
    }

    // Upsert-style rewrites of identical values (0.5 vs 0.5000 included) keep the old stamp.
    await sql`update series set title = 'Bitcoin', tags = '{}', updated_at = now()`
    await sql`update events set title = 'BTC 2026', deleted_at = null`
    await sql`update markets set yes_bid = 0.5000, title = 'B1', status = 'initialized'`
    expect(await stamps()).toEqual([true, true, true])

    await sql`update series set volume = 10`
    await sql`update events set deleted_at = now()`
    await sql`update markets set yes_bid = 0.51`
    expect(await stamps()).toEqual([false, false, false])
  })

  test('markets accept only known statuses and prices in dollars, and start as initialized', async () => {
    await using db = await migrated()
    const { sql } = db
    await sql`insert into events (event_ticker, title) values ('E', 'e')`
    await sql`insert into markets (ticker, event_ticker, title) values ('M', 'E', 'm')`
    expect((await sql`select status from markets`)[0].status).toBe('initialized')
    expect([
      await violation(() => sql`update markets set status = 'open'`),
      await violation(() => sql`update markets set yes_ask = 55`),
      await violation(() => sql`insert into markets (ticker, event_ticker, title) values ('N', 'missing', 'n')`),
      await violation(() => sql`update markets set status = 'finalized', yes_ask = 0.55`),
    ]).toEqual(['markets_status_known', 'markets_yes_ask_check', 'markets_event_ticker_fkey', 'ok'])
  })

  test('fee periods of one series cannot overlap, but may touch, and other series are independent', async () => {
    await using db = await migrated()
    const { sql } = db
    const fee = (series: string, from: string, to: string | null, id: string) =>
      sql`insert into series_fees (series_ticker, fee_type, fee_multiplier, effective_from, effective_to, source_id)
          values (${series}, 'quadratic', 1, ${from}, ${to}, ${id})`
    expect([
      await violation(() => fee('KXA', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', 'a1')),
      await violation(() => fee('KXA', '2026-01-15T00:00:00Z', null, 'a2')),
      await violation(() => fee('KXA', '2025-12-01T00:00:00Z', null, 'a3')),
      await violation(() => fee('KXA', '2026-02-01T00:00:00Z', null, 'a4')),
      await violation(() => fee('KXB', '2026-01-15T00:00:00Z', null, 'b1')),
      await violation(() => fee('KXB', '2027-01-01T00:00:00Z', null, 'b1')),
      await violation(() => fee('KXC', '2026-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'c1')),
    ]).toEqual([
      'ok',
      'no_overlapping_fees',
      'no_overlapping_fees',
      'ok',
      'ok',
      'series_fees_source_id_key',
      'series_fees_period_ordered',
    ])
    expect((await sql`select fee_multiplier from series_fees where source_id = 'a1'`)[0].fee_multiplier).toBe('1.0000')
  })

  test('a lifecycle event inserted twice with the same stream and nats_seq is stored once; the same seq of a re-created stream is another event', async () => {
    await using db = await migrated()
    const { sql } = db
    const insert = (seq: number | null, stream = 'S@2026-12-01T00:00:00Z') => sql`
      insert into market_lifecycle_events (market_ticker, event_type, metadata, nats_seq, nats_stream)
      values ('KXBTC-26-B1', 'settled', ${sql.json({ result: 'yes' })}, ${seq}, ${stream})
      on conflict (nats_stream, nats_seq) do nothing`
    const counts = [(await insert(42)).count, (await insert(42)).count, (await insert(null)).count, (await insert(null)).count, (await insert(42, 'S@2026-12-05T00:00:00Z')).count]
    expect(counts).toEqual([1, 0, 1, 1, 1])
    expect([...(await sql`select nats_seq, nats_stream from market_lifecycle_events order by id`)]).toEqual([
      { nats_seq: '42', nats_stream: 'S@2026-12-01T00:00:00Z' },
      { nats_seq: null, nats_stream: 'S@2026-12-01T00:00:00Z' },
      { nats_seq: null, nats_stream: 'S@2026-12-01T00:00:00Z' },
      { nats_seq: '42', nats_stream: 'S@2026-12-05T00:00:00Z' },
    ])
  })

  test('api key prefixes must look like sk_live_… or sk_test_…, and hashes like SHA-256 hex', async () => {
    await using db = await migrated()
    const { sql } = db
    const hash = 'a'.repeat(64)
    const key = (prefix: string, h = hash) =>
      violation(() => sql`insert into api_keys (user_id, user_email, key_prefix, key_hash) values ('u1', 'u@x.io', ${prefix}, ${h})`)
    expect([
      await key('sk_live_ab12-CD_3'),
      await key('sk_test_x'),
      await key('pk_live_abc'),
      await key('sk_prod_abc'),
      await key('sk_live_'),
      await key('sk_live_a b'),
      await key('sk_live_ab12-CD_3'),
      await key('sk_live_z', 'not-a-hash'.padEnd(64, 'x')),
    ]).toEqual([
      'ok',
      'ok',
      'api_keys_prefix_format',
      'api_keys_prefix_format',
      'api_keys_prefix_format',
      'api_keys_prefix_format',
      'api_keys_key_prefix_key',
      'api_keys_hash_format',
    ])
    const [k] = await sql<{ id: string; scopes: string[]; rate_limit_tier: string; revoked_at: Date | null }[]>`
      select id, scopes, rate_limit_tier, revoked_at from api_keys where key_prefix = 'sk_test_x'`
    expect({ ...k, id: /^[0-9a-f-]{36}$/.test(k.id) } as object).toEqual({ id: true, scopes: [], rate_limit_tier: 'standard', revoked_at: null })
  })

  test('settings come seeded with the secmaster sync anchors', async () => {
    await using db = await migrated()
    expect([...(await db.sql`select key, value from settings order by key`)]).toEqual([
      { key: 'secmaster.sync.last_closed_ts', value: null },
      { key: 'secmaster.sync.last_settled_ts', value: null },
    ])
  })
})
