import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MarketRecord, RecordType } from '../records/index.ts'
import { DAY1, DAY2, archiveRecords, openDuck, writeExportArchive, type Duck } from './export.fixture.ts'
import { checkFormat, checkType, dateRange, exportArchive, openPart, type ExportOptions } from './index.ts'
import { receivedAtUs } from './columns.ts'

setDefaultTimeout(60_000) // DuckDB and file I/O on a shared machine (bun ignores bunfig's test timeout)

const root = mkdtempSync(join(tmpdir(), 'ssmd-export-'))
const data = join(root, 'data')
let duck: Duck
let records: MarketRecord[]

beforeAll(async () => {
  await writeExportArchive(data)
  records = [...(await archiveRecords(data, DAY1)), ...(await archiveRecords(data, DAY2))]
  duck = await openDuck()
})
afterAll(() => {
  duck?.close()
  rmSync(root, { recursive: true, force: true })
})

const TYPES: RecordType[] = ['ticker', 'trade', 'orderbook_snapshot', 'orderbook_delta', 'market_lifecycle_v2', 'other']
const at = (ms: number) => (ms ? new Date(ms) : null)
const orNull = <T>(v: T | undefined) => v ?? null

/** The row an export must hold for a record: the spec of the columns, written out by hand. */
function expectedRow(r: MarketRecord): Record<string, unknown> {
  const head = { ticker: r.ticker || null, ts: at(r.ts), received_at: at(r.receivedAt) }
  const tail = { seq: orNull(r.seq), sid: orNull(r.sid), shard_id: orNull(r.shard), nats_seq: orNull(r.natsSeq), file_seq: orNull(r.fileSeq) }
  switch (r.type) {
    case 'ticker':
      return { ...head, price: r.price, yes_bid: r.yesBid, yes_ask: r.yesAsk, yes_bid_size: r.yesBidSize, yes_ask_size: r.yesAskSize,
        volume: r.volume, open_interest: r.openInterest, dollar_volume: r.dollarVolume, dollar_open_interest: r.dollarOpenInterest, ...tail }
    case 'trade':
      return { ...head, trade_id: r.tradeId, yes_price: r.yesPrice, no_price: r.noPrice, count: r.count, taker_side: r.takerSide, ...tail }
    case 'orderbook_snapshot':
      return { ...head, yes_levels: JSON.stringify(r.yes), no_levels: JSON.stringify(r.no), ...tail }
    case 'orderbook_delta':
      return { ...head, side: r.side, price: r.price, delta: r.delta, ...tail }
    case 'market_lifecycle_v2':
      return { ...head, event_type: r.eventType, result: r.result, settlement_value: r.settlementValue, ...tail }
    case 'other':
      return { ...head, frame_type: r.frameType, raw: r.raw, ...tail }
  }
}

function options(out: string, extra: Partial<ExportOptions> = {}): ExportOptions {
  return { root: data, feed: 'kalshi', dates: [DAY1, DAY2], out, format: 'parquet', ...extra }
}

/** Every file under `dir`, relative. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => statSync(join(dir, p)).isFile()).sort()
}

const readParquet = (out: string, type: string) =>
  duck.rows(`SELECT * EXCLUDE (date, type, file_row_number) FROM read_parquet('${out}/kalshi/*/type=${type}/*.parquet', hive_partitioning = true, file_row_number = true) ORDER BY date, file_row_number`)

describe('data export', () => {
  test('parquet partitions hold every record of the dates with the parser\'s values, typed, in archive order', async () => {
    const out = join(root, 'parquet')
    const s = await exportArchive(options(out, { rowGroupRows: 50 }))
    expect({ dates: s.dates, missing: s.missingDates, rows: s.rows, malformed: s.malformed, filtered: s.filtered, archiveFiles: s.archiveFiles })
      .toEqual({ dates: [DAY1, DAY2], missing: [], rows: records.length, malformed: 1, filtered: 0, archiveFiles: 4 })
    const present = (d: string) => TYPES.filter((t) => records.some((r) => r.type === t && (d === DAY1 ? r.ts < Date.UTC(2026, 1, 7, 23) : r.ts >= Date.UTC(2026, 1, 7, 23))))
    expect(tree(join(out, 'kalshi'))).toEqual([
      ...present(DAY1).map((t) => `date=${DAY1}/type=${t}/part-0000.parquet`),
      ...present(DAY2).map((t) => `date=${DAY2}/type=${t}/part-0000.parquet`),
    ].sort())
    for (const type of TYPES) {
      expect([type, await readParquet(out, type)]).toEqual([type, records.filter((r) => r.type === type).map(expectedRow)])
    }
    const schema = await duck.rows(`SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM read_parquet('${out}/kalshi/date=${DAY1}/type=trade/part-0000.parquet', hive_partitioning = false))`)
    expect(schema.map((c) => `${c.name} ${c.type}`)).toEqual([
      'ticker VARCHAR', 'ts TIMESTAMP WITH TIME ZONE', 'received_at TIMESTAMP WITH TIME ZONE', 'trade_id VARCHAR', 'yes_price DOUBLE',
      'no_price DOUBLE', 'count DOUBLE', 'taker_side VARCHAR', 'seq BIGINT', 'sid BIGINT', 'shard_id INTEGER', 'nats_seq BIGINT', 'file_seq BIGINT',
    ])
    const tickers = records.filter((r) => r.type === 'ticker' && r.ts < Date.UTC(2026, 1, 7, 23)).length
    const groups = await duck.rows(`SELECT DISTINCT row_group_id AS id, row_group_num_rows AS n FROM parquet_metadata('${out}/kalshi/date=${DAY1}/type=ticker/part-0000.parquet') ORDER BY id`)
    expect(groups).toEqual(Array.from({ length: Math.ceil(tickers / 50) }, (_, id) => ({ id, n: Math.min(50, tickers - id * 50) })))
  })

  test('received_at keeps the archive\'s microseconds: parquet TIMESTAMP_MICROS, csv with 6 fraction digits (both were cut to ms)', async () => {
    const pq = join(root, 'us-parquet')
    const csv = join(root, 'us-csv')
    await exportArchive(options(pq, { types: ['trade'] }))
    await exportArchive(options(csv, { format: 'csv', types: ['trade'] }))
    const want = records.filter((r) => r.type === 'trade').map((r) => receivedAtUs(r.raw))
    expect(want.filter((us) => us !== null && us % 1000 !== 0).length).toBeGreaterThan(10) // sub-ms stamps to keep
    const got = await duck.rows(`SELECT epoch_us(received_at) AS us FROM read_parquet('${pq}/kalshi/*/type=trade/*.parquet', hive_partitioning = true, file_row_number = true) ORDER BY date, file_row_number`)
    expect(got.map((r) => r.us)).toEqual(want)
    const fromCsv = await duck.rows(`SELECT epoch_us(CAST(received_at AS TIMESTAMPTZ)) AS us FROM read_csv('${csv}/kalshi/*/type=trade/*.csv', header = true, all_varchar = true, filename = true)`)
    expect(fromCsv.map((r) => r.us)).toEqual(want)
  })

  test('csv holds the same values as parquet (RFC 4180 quoting, ISO times, typed by the parquet schema)', async () => {
    const pq = join(root, 'same-parquet')
    const csv = join(root, 'same-csv')
    await exportArchive(options(pq))
    const s = await exportArchive(options(csv, { format: 'csv', rowGroupRows: 64 }))
    expect(s.rows).toBe(records.length)
    for (const type of TYPES) {
      const cols = await duck.rows(`SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM read_parquet('${pq}/kalshi/*/type=${type}/*.parquet', hive_partitioning = false))`)
      const types = `{${cols.map((c) => `'${c.name}': '${c.type}'`).join(', ')}}`
      const fromCsv = await duck.rows(`SELECT * EXCLUDE (date, type, filename) FROM read_csv('${csv}/kalshi/*/type=${type}/*.csv', hive_partitioning = true, header = true, types = ${types}, filename = true)`) // scan order: files by name, rows as written
      expect([type, fromCsv]).toEqual([type, await readParquet(pq, type)])
    }
    const other = await Bun.file(join(csv, 'kalshi', `date=${DAY1}`, 'type=other', 'part-0000.csv')).text()
    expect(other.split('\n')[0]).toBe('ticker,ts,received_at,frame_type,raw,seq,sid,shard_id,nats_seq,file_seq')
    expect(other).toContain(',,,subscribed,"{""type"":""subscribed"",""id"":1,""msg"":{""channel"":""ticker"",""sid"":1},""_nats_seq"":1}",,,,1,\n')
    expect(other).toContain(',2026-02-07T16:20:04.000Z,2026-02-07T16:20:04.000000Z,ssmd_control,')
  })

  test('existing parts are refused; --overwrite replaces the partitions in scope only, leaving no .tmp', async () => {
    const out = join(root, 'overwrite')
    await exportArchive(options(out, { types: ['trade', 'ticker'] }))
    const before = tree(out)
    const refused = await exportArchive(options(out, { dates: [DAY1], types: ['trade'] })).catch((e) => e)
    expect([refused.code, refused.message]).toEqual(['USAGE', expect.stringContaining('pass --overwrite to replace them')])
    expect(tree(out)).toEqual(before)
    const ticker = records.find((r) => r.type === 'trade')!.ticker
    const s = await exportArchive(options(out, { dates: [DAY1], types: ['trade'], ticker, overwrite: true }))
    const want = records.filter((r) => r.type === 'trade' && r.ticker === ticker && r.ts < Date.UTC(2026, 1, 7, 23))
    expect(s.rows).toBe(want.length)
    expect(tree(out)).toEqual(before)
    const rows = await duck.rows(`SELECT date::VARCHAR AS date, count(*) AS n FROM read_parquet('${out}/kalshi/*/type=trade/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY date`)
    expect(rows).toEqual([{ date: DAY1, n: want.length }, { date: DAY2, n: records.filter((r) => r.type === 'trade' && r.ts >= Date.UTC(2026, 1, 7, 23)).length }])
  })

  test('--overwrite replaces only the partitions it writes rows to: a filter that matches nothing deletes nothing', async () => {
    const out = join(root, 'overwrite-some')
    await exportArchive(options(out))
    const before = tree(out)
    const day1 = await archiveRecords(data, DAY1)
    // the smoke test: 0 rows written, and every part of the date was gone
    const none = await exportArchive(options(out, { dates: [DAY1], ticker: 'NOPE', overwrite: true }))
    expect(tree(out)).toEqual(before)
    expect([none.rows, none.files, none.replaced]).toEqual([0, [], []])
    // a market's rows replace the partitions they go to; the types it has no rows of keep every row
    const ticker = day1.find((r) => r.type === 'trade')!.ticker
    const s = await exportArchive(options(out, { dates: [DAY1], ticker, overwrite: true }))
    const written = TYPES.filter((t) => day1.some((r) => r.type === t && r.ticker === ticker))
    expect(written.length).toBeLessThan(TYPES.length)
    expect(s.replaced).toEqual(written.map((t) => join(out, 'kalshi', `date=${DAY1}`, `type=${t}`)))
    expect(tree(out)).toEqual(before)
    const n = await duck.rows(`SELECT type, count(*) AS n FROM read_parquet('${out}/kalshi/date=${DAY1}/*/*.parquet', hive_partitioning = true, union_by_name = true) GROUP BY ALL ORDER BY type`)
    const want = TYPES.map((type) => ({ type, n: day1.filter((r) => r.type === type && (!written.includes(type) || r.ticker === ticker)).length }))
    expect(n).toEqual(want.filter((x) => x.n > 0).sort((a, b) => a.type.localeCompare(b.type)))
  })

  test('a partition that cannot be written fails naming it, removes the .tmp files of the date and keeps what existed', async () => {
    const out = join(root, 'fail')
    await exportArchive(options(out, { dates: [DAY1], types: ['ticker'] }))
    const before = tree(out)
    writeFileSync(join(out, 'kalshi', `date=${DAY1}`, 'type=trade'), 'in the way')
    const e = await exportArchive(options(out, { dates: [DAY1], overwrite: true })).catch((x) => x)
    expect([e.code, e.message]).toEqual(['EXPORT_IO', expect.stringContaining(join(out, 'kalshi', `date=${DAY1}`, 'type=trade'))])
    expect(tree(out)).toEqual([...before, `kalshi/date=${DAY1}/type=trade`].sort())
  })

  test('a truncated archive file is reported and its complete lines are exported', async () => {
    const bad = join(root, 'bad-data')
    const dir = join(bad, 'kalshi', 'crypto', DAY1)
    mkdirSync(dir, { recursive: true })
    const lines = records.filter((r) => r.type === 'trade').slice(0, 40).map((r) => r.raw)
    const gz = Bun.gzipSync(Buffer.from(`${lines.join('\n')}\n`))
    writeFileSync(join(dir, '1600.jsonl.gz'), gz.subarray(0, gz.length - 200))
    const truncated: string[] = []
    const s = await exportArchive({ ...options(join(root, 'bad-out'), { root: bad, dates: [DAY1] }), onTruncated: (t) => truncated.push(t.path) })
    expect(truncated).toEqual([join(dir, '1600.jsonl.gz')])
    expect(s.truncated).toBe(1)
    expect(s.rows).toBeGreaterThan(0)
    expect(s.rows).toBeLessThan(lines.length)
    const got = await readParquet(join(root, 'bad-out'), 'trade')
    expect(got).toEqual(records.filter((r) => r.type === 'trade').slice(0, s.rows).map(expectedRow))
  })

  test('both part formats keep empty strings apart from nulls, and quotes, commas and newlines intact', async () => {
    const dir = join(root, 'parts')
    mkdirSync(dir)
    const columns = [
      { name: 's', kind: 'string', get: () => null },
      { name: 'd', kind: 'double', get: () => null },
      { name: 'n', kind: 'int64', get: () => null },
    ] as const
    const values = [['', null, 'a,b', 'say "hi"', 'two\nlines', 'é…'], [1, 0.5, null, -2, 1e-4, 3], [1, null, 2 ** 53 - 1, -7, 0, 12]]
    for (const format of ['csv', 'parquet'] as const) {
      const p = openPart(format, join(dir, `part-0000.${format}`), columns)
      p.write(values.map((c) => c.slice(0, 2)))
      p.write(values.map((c) => c.slice(2)))
      p.finish()
      renameSync(p.tmp, p.path)
      const read = format === 'csv'
        ? `read_csv('${p.path}', header = true, allow_quoted_nulls = false, types = {'s': 'VARCHAR', 'd': 'DOUBLE', 'n': 'BIGINT'})`
        : `read_parquet('${p.path}')`
      const rows = await duck.rows(`SELECT * FROM ${read}`)
      expect([format, rows]).toEqual([format, values[0].map((s, i) => ({ s, d: values[1][i], n: values[2][i] }))])
    }
  })

  test('options name the flag and the value', () => {
    expect(dateRange('2028-02-27', '2028-03-01')).toEqual(['2028-02-27', '2028-02-28', '2028-02-29', '2028-03-01'])
    expect(dateRange(DAY1, DAY1)).toEqual([DAY1])
    const msg = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as Error).message
      }
      return 'no error'
    }
    expect([
      msg(() => dateRange('2027-02-29', '2027-03-01')),
      msg(() => dateRange(DAY2, DAY1)),
      msg(() => checkFormat('json')),
      msg(() => checkType('trades')),
    ]).toEqual([
      '--from must be a date YYYY-MM-DD (got "2027-02-29")',
      `--from ${DAY2} is after --to ${DAY1}`,
      '--format must be parquet or csv (got "json")',
      '--type must be one of ticker, trade, orderbook_snapshot, orderbook_delta, market_lifecycle_v2, other (got "trades")',
    ])
  })
})
