/**
 * Test fixture (no tests of its own): two archive days for the exporter, every record type and
 * every layout readers accept, and DuckDB (`@duckdb/node-api`, dev only) to read exports back.
 * DAY1: simulator lines (mixed price formats), lifecycle and control frames and one line that is
 * not JSON, in two slots of the current layout. DAY2: dollars lines across midnight (the same
 * markets), in the current layout and in the older `{feed}/{date}/` one.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { ArchiveWriter, listArchiveFiles, readArchive } from '../archive/index.ts'
import { parseRecord, type MarketRecord } from '../records/index.ts'
import { simLines } from '../records/fixture-sim.test.ts'

export const DAY1 = '2026-02-07'
export const DAY2 = '2026-02-08'

const LIFECYCLE = [
  '{"type":"market_lifecycle_v2","sid":4,"seq":1,"msg":{"market_ticker":"KXBTCD-26FEB0800-T99999.99","event_type":"determined","result":"yes","settlement_value":"1.0000","determination_ts":1770481202},"_shard_id":1,"_received_at":1770481202500000}',
  '{"type":"market_lifecycle_v2","sid":4,"seq":2,"msg":{"market_ticker":"KXBTCD-26FEB0800-T100249.99","event_type":"closed","close_ts":1770481203},"_shard_id":1,"_received_at":1770481203500000}',
]
const CONTROL = [
  '{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":1}}',
  '{"type":"ssmd_control","msg":{"kind":"gap","shard":0,"sid":3,"expected":7,"got":9},"_shard_id":0,"_received_at":1770481204000000}',
  '{"type":"event_lifecycle","sid":5,"seq":1,"msg":{"event_ticker":"KXBTCD-26FEB0800","title":"Bitcoin, \\"at\\" 00:00, above…","series_ticker":"KXBTCD"},"_received_at":1770481205000000}',
]

/** Writes DAY1 and DAY2 under `root` (feed kalshi). */
export async function writeExportArchive(root: string): Promise<void> {
  let now = Date.UTC(2026, 1, 7, 16, 5)
  let seq = 0
  const w = new ArchiveWriter({ root, feed: 'kalshi', stream: 'crypto', now: () => now, rotationCheckMs: 0 })
  const put = (payloads: string[]) => w.append(payloads.map((payload) => ({ payload, seq: ++seq })))
  const day1 = simLines({ seed: 1, markets: 4, count: 300, format: 'mixed' }).map((l) => l.line)
  await put([...CONTROL.slice(0, 1), ...day1.slice(0, 150), 'not json'])
  now = Date.UTC(2026, 1, 7, 16, 20)
  await put([...day1.slice(150), ...LIFECYCLE, ...CONTROL.slice(1)])
  const day2 = simLines({ seed: 2, markets: 4, count: 200, format: 'dollars', startMs: Date.UTC(2026, 1, 7, 23, 59, 57) }).map((l) => l.line)
  now = Date.UTC(2026, 1, 8, 0, 5)
  await put(day2.slice(0, 150))
  await w.close()
  const old = join(root, 'kalshi', DAY2)
  mkdirSync(old, { recursive: true })
  writeFileSync(join(old, '0100.jsonl.gz'), Bun.gzipSync(Buffer.from(`${day2.slice(150).join('\n')}\n`)))
}

/** Every record of a date's archive, parsed, in archive order (the lines that are JSON objects). */
export async function archiveRecords(root: string, date: string): Promise<MarketRecord[]> {
  const out: MarketRecord[] = []
  for await (const line of readArchive(await listArchiveFiles(root, { feed: 'kalshi', dates: [date] }))) {
    const r = parseRecord(line)
    if (r) out.push(r)
  }
  return out
}

export interface Duck {
  /** Rows as objects; BIGINT values become numbers, timestamps Dates. */
  rows(sql: string): Promise<Record<string, unknown>[]>
  close(): void
}

export async function openDuck(): Promise<Duck> {
  const db = await DuckDBInstance.create(':memory:')
  const c = await db.connect()
  return {
    async rows(sql) {
      const r = await c.runAndReadAll(sql)
      return r.getRowObjectsJS().map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])))
    },
    close() {
      c.closeSync()
      db.closeSync()
    },
  }
}
