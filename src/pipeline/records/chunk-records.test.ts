import { afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { newReadStats, readLineBatches, readTextChunks, type ReadOptions, type ReadStats } from '../archive/index.ts'
import { Prng } from '../../services/sim/prng.ts'
import { invalidRecord } from '../connector/ingest.ts'
import { chunkRecords, parseTextChunk, RECORD_INDEXER } from './chunk-records.ts'
import { simLines } from './fixture-sim.test.ts'
import { newParseStats, parseRecord } from './parse.ts'
import type { MarketRecord } from './types.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function file(bytes: Uint8Array): string {
  const d = mkdtempSync(join(tmpdir(), 'ssmd-chunk-records-'))
  dirs.push(d)
  const path = join(d, '1600.jsonl.gz')
  writeFileSync(path, bytes)
  return path
}

const gz = (text: string | Buffer) => file(gzipSync(text, { level: 1 }))

/** A malformed frame as the connector forwards it and the archiver writes it (an other record, not malformed). */
const INVALID_LINE = `${invalidRecord('{"type":"trade","sid":2,"msg":{"market_ticker":"Q","yes_price":').slice(0, -1)},"_shard_id":1,"_received_at":1770480000000001,"_nats_seq":5}`

const show = (r: MarketRecord) => JSON.stringify(Object.entries(r).map(([k, v]) => [k, v === undefined ? '<undef>' : Object.is(v, -0) ? '<-0>' : v]))

/** Records and line numbers the line reader and parseRecord give: the definition of the answer. */
async function byLines(path: string, o: ReadOptions): Promise<{ records: string[]; lines: number[]; stats: unknown; read: unknown }> {
  const stats = newParseStats()
  const read = newReadStats()
  const records: string[] = []
  const lines: number[] = []
  let n = 0
  for await (const batch of readLineBatches(path, { ...o, stats: read })) {
    for (const l of batch) {
      n++
      const r = parseRecord(l, {}, stats)
      if (r === null) continue
      records.push(show(r))
      lines.push(n)
    }
  }
  return { records, lines, stats, read }
}

async function byChunks(path: string, o: ReadOptions): Promise<{ records: string[]; lines: number[]; stats: unknown; read: unknown }> {
  const stats = newParseStats()
  const read = newReadStats()
  const out: MarketRecord[] = []
  const lines: number[] = []
  let n = 0
  for await (const t of readTextChunks(path, { ...o, stats: read })) n += parseTextChunk(t, out, lines, n, stats)
  read.lines = n // readTextChunks counts files and bytes; its reader counts lines
  return { records: out.map(show), lines, stats, read }
}

describe('records of archive chunks', () => {
  test.skipIf(RECORD_INDEXER === null)('built from the worker\'s walk, they equal parseRecord of each line read, whatever the lines, chunk boundaries or a truncated end', async () => {
    const r = new Prng(42)
    const sim = simLines({ seed: 9, count: 12_000, format: 'mixed', orderbook: true }).map((l) => l.line)
    const odd = [
      '', '\r', 'not json', '{"type":"ticker","msg":{"market_ticker":"X\\u0041","price":5}}',
      '{"ts":"2025-12-20T10:00:00.5Z","feed":"kalshi","data":{"type":"trade","msg":{"market_ticker":"S","yes_price":3}}}',
      '{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":42}}', '{"type": "trade","msg":{"market_ticker":"W"}}',
      INVALID_LINE,
    ]
    const lines: string[] = []
    for (const l of sim) {
      lines.push(r.chance(0.01) ? `${l}\r` : l)
      if (r.chance(0.01)) lines.push(r.pick(odd))
    }
    // a line longer than a chunk, in the middle
    lines.splice(6000, 0, `{"type":"trade","msg":{"market_ticker":"LONG","pad":"${'x'.repeat(300_000)}","yes_price":9}}`)
    const text = `\ufeff${lines.join('\n')}\n${sim[0]}` // BOM, no newline at the end
    const index = { ...(RECORD_INDEXER ?? {}), ahead: 0 } as NonNullable<typeof RECORD_INDEXER>
    const cut = gzipSync(text, { level: 1 })
    for (const content of [text, `${text}\n{"type":"trade","msg":{"market_ticker":"é","yes_price":1}}\n`, cut.subarray(0, Math.floor(cut.length * 0.6))]) {
      const path = typeof content === 'string' ? gz(content) : file(content)
      const before = chunkRecords.built
      const got = await byChunks(path, { gunzip: 'worker', workerMinBytes: 0, index })
      expect(chunkRecords.built - before).toBeGreaterThan(5_000)
      const want = await byLines(path, { gunzip: 'worker', workerMinBytes: 0 })
      expect(got.lines).toEqual(want.lines)
      expect(got.stats).toEqual(want.stats)
      expect(got.read).toEqual(want.read)
      expect((want.read as ReadStats).truncated.length).toBe(typeof content === 'string' ? 0 : 1)
      expect(Object.keys((got.stats as { byType: object }).byType)).toEqual(Object.keys((want.stats as { byType: object }).byType))
      expect(got.records.length).toBe(want.records.length)
      for (let i = 0; i < want.records.length; i++) if (got.records[i] !== want.records[i]) expect(got.records[i]).toBe(want.records[i])
    }
  })

  test.skipIf(RECORD_INDEXER === null)('tickers named by the worker\'s ids are the tickers of their lines, however many markets crowd its table', async () => {
    const r = new Prng(43)
    const names = Array.from({ length: 30_000 }, (_, i) => `KXMKT-${r.int(1000)}-${i.toString(36)}`)
    const lines = Array.from({ length: 120_000 }, (_, i) => `{"type":"trade","sid":2,"seq":${i},"msg":{"market_ticker":"${r.chance(0.7) ? names[i % 50] : r.pick(names)}","yes_price":${1 + r.int(98)},"count":3,"taker_side":"yes","ts":1770480000},"_shard_id":0}`)
    const path = gz(`${lines.join('\n')}\n`)
    const index = { ...(RECORD_INDEXER ?? {}), ahead: 0 } as NonNullable<typeof RECORD_INDEXER>
    const got = await byChunks(path, { gunzip: 'worker', workerMinBytes: 0, index })
    const want = await byLines(path, { gunzip: 'worker', workerMinBytes: 0 })
    expect(got.records.length).toBe(want.records.length)
    for (let i = 0; i < want.records.length; i++) if (got.records[i] !== want.records[i]) expect(got.records[i]).toBe(want.records[i])
  })

  test('without the worker\'s index (inline gunzip, a plain file, or chunks the worker left unindexed), lines are walked on this thread, the same', async () => {
    const sim = simLines({ seed: 10, count: 6_000, format: 'mixed', orderbook: true }).map((l) => l.line)
    const odd = ['not json', '{"type":"ticker","msg":{"market_ticker":"X\\u0041","price":5}}', '{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":42}}', INVALID_LINE]
    const text = `${sim.map((l, i) => (i % 97 === 0 ? `${odd[i % odd.length]}\n${l}` : l)).join('\n')}\n`
    const gzPath = gz(text)
    const d = mkdtempSync(join(tmpdir(), 'ssmd-chunk-records-'))
    dirs.push(d)
    const plainPath = join(d, '1600.jsonl')
    writeFileSync(plainPath, text)
    // the worker indexes a chunk only while this many wait: never
    const never = { ...(RECORD_INDEXER ?? { worker: '', compiledPath: '', bytes: () => 0 }), ahead: 1e9 }
    const cases: [string, ReadOptions][] = [
      [gzPath, { gunzip: 'inline' }],
      [gz(`\ufeff${text}`), { gunzip: 'inline', chunkBytes: 4096 }], // a BOM before the first line
      // 1 MiB reads: more lines per chunk than one walk lists, so several walks per chunk
      [plainPath, {}],
      [plainPath, { chunkBytes: 4096 }],
    ]
    if (RECORD_INDEXER !== null) cases.push([gzPath, { gunzip: 'worker', workerMinBytes: 0, index: never }])
    for (const [path, o] of cases) {
      const built = chunkRecords.built
      const here = chunkRecords.walkedHere
      const got = await byChunks(path, o)
      expect(chunkRecords.walkedHere - here).toBeGreaterThan(5_000)
      expect(chunkRecords.built - built).toBe(chunkRecords.walkedHere - here)
      expect(got).toEqual(await byLines(path, o))
    }
  })

  test('a chunk that is not ASCII is parsed line by line here, the same', async () => {
    const sim = simLines({ seed: 11, count: 500, format: 'dollars' }).map((l) => l.line)
    const path = gz(`${sim.join('\n')}\n{"type":"trade","msg":{"market_ticker":"\u00e9","yes_price":1}}\n`)
    const here = chunkRecords.walkedHere
    const got = await byChunks(path, { gunzip: 'inline' })
    expect(chunkRecords.walkedHere).toBe(here)
    expect(got).toEqual(await byLines(path, { gunzip: 'inline' }))
  })
})
