/** `ssmd data sample`: filters that cannot match the date are errors (finding 10), as `data replay --symbol` is. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArchiveWriter } from '../../pipeline/archive/index.ts'
import { runInProcess as cli } from '../../../test/console.ts'

const root = mkdtempSync(join(tmpdir(), 'ssmd-data-sample-'))
const bare = mkdtempSync(join(tmpdir(), 'ssmd-data-sample-bare-'))
const DATE = '2026-02-07'
const FRAMES = [
  '{"type":"ticker","sid":1,"seq":1,"msg":{"market_ticker":"KXA","price":50,"ts":1770480000}}',
  '{"type":"trade","sid":2,"seq":1,"msg":{"market_ticker":"KXB","trade_id":"t1","yes_price":42,"count":1,"taker_side":"no","ts":1770480001}}',
  '{"type":"orderbook_delta","sid":3,"seq":1,"msg":{"market_ticker":"KXA","price":49,"delta":-5,"side":"yes","ts":"2026-02-07T16:20:00Z"}}',
]

beforeAll(async () => {
  const w = new ArchiveWriter({ root, feed: 'kalshi', stream: 'crypto', now: () => Date.UTC(2026, 1, 7, 16, 5), rotationCheckMs: 0 })
  await w.append(FRAMES.map((payload, i) => ({ payload, seq: i + 1 })))
  await w.close()
  // no manifest: nothing to check the filters against beforehand
  const day = join(bare, 'kalshi', 'crypto', DATE)
  mkdirSync(day, { recursive: true })
  writeFileSync(join(day, '1600.jsonl.gz'), Bun.gzipSync(Buffer.from(`${FRAMES.join('\n')}\n`)))
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
  rmSync(bare, { recursive: true, force: true })
})

describe('ssmd data sample filters (was: no output, exit 0)', () => {
  test('a --ticker the date does not have is a usage error naming the date\'s tickers nearest to it', async () => {
    const r = await cli(['data', 'sample', '--data', root, '--date', DATE, '--ticker', 'NOPE'])
    expect([r.code, r.out, r.err]).toEqual([2, '', `error: --ticker NOPE is not a ticker of kalshi ${DATE} (its manifests list 2: KXA, KXB)`])
  })

  test('a --type the date does not have (e.g. the subject kind "orderbook") is a usage error naming the date\'s types', async () => {
    const r = await cli(['data', 'sample', '--data', root, '--date', DATE, '--type', 'orderbook'])
    expect([r.code, r.out, r.err]).toEqual([2, '', `error: --type orderbook is not a record type of kalshi ${DATE} (its manifests list 3: orderbook_delta, ticker, trade)`])
  })

  test('filters that each match but not together, or a date without manifests: exit 2 after reading', async () => {
    const both = await cli(['data', 'sample', '--data', root, '--date', DATE, '--ticker', 'KXB', '--type', 'ticker'])
    expect([both.code, both.out, both.err]).toEqual([2, '', `error: no record of kalshi ${DATE} matches --ticker KXB --type ticker`])
    const none = await cli(['data', 'sample', '--data', bare, '--date', DATE, '--ticker', 'NOPE'])
    expect([none.code, none.out, none.err]).toEqual([2, '', `error: no record of kalshi ${DATE} matches --ticker NOPE`])
  })

  test('filters that match print the records as before', async () => {
    const r = await cli(['data', 'sample', '--data', bare, '--date', DATE, '--ticker', 'KXA', '--raw'])
    expect([r.code, r.out.split('\n')]).toEqual([0, [FRAMES[0], FRAMES[2]]])
  })
})
