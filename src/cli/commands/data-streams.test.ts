/** `data sample|replay|export` on a date that holds several streams of the feed: `--stream` picks one, none is refused. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArchiveWriter } from '../../pipeline/archive/index.ts'
import { runInProcess as cli } from '../../../test/console.ts'
import { runCli } from '../../../test/subprocess.ts'

const root = mkdtempSync(join(tmpdir(), 'ssmd-data-streams-'))
const single = mkdtempSync(join(tmpdir(), 'ssmd-data-streams-one-'))
const DATE = '2026-02-07'
const frame = (ticker: string, seq: number) => `{"type":"trade","sid":1,"seq":${seq},"msg":{"market_ticker":"${ticker}","trade_id":"${ticker}-${seq}","yes_price":50,"count":1,"taker_side":"yes","ts":1770480000}}`

async function archive(dir: string, stream: string, ticker: string, n: number): Promise<string[]> {
  const frames = Array.from({ length: n }, (_, i) => frame(ticker, i + 1))
  const w = new ArchiveWriter({ root: dir, feed: 'kalshi', stream, now: () => Date.UTC(2026, 1, 7, 16, 5), rotationCheckMs: 0 })
  await w.append(frames.map((payload, i) => ({ payload, seq: i + 1 })))
  await w.close()
  return frames
}

let local: string[]
let dev: string[]
beforeAll(async () => {
  local = await archive(root, 'local', 'KXL', 3)
  dev = await archive(root, 'w2dev', 'KXD', 2)
  await archive(single, 'local', 'KXL', 3)
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
  rmSync(single, { recursive: true, force: true })
})

const REFUSED = `error: kalshi ${DATE} holds 2 streams (local, w2dev); pass --stream NAME to read one of them`

describe('a date with two streams (finding 4: was silently concatenated)', () => {
  test('sample, replay and export without --stream exit 2 listing the streams, and write nothing', async () => {
    const out = join(root, 'export')
    const sample = await cli(['data', 'sample', '--data', root, '--date', DATE])
    const replay = await runCli(['data', 'replay', '--data', root, '--date', DATE])
    const exp = await cli(['data', 'export', '--data', root, '--date', DATE, '--out', out])
    expect([sample.code, sample.out, sample.err]).toEqual([2, '', REFUSED])
    expect([replay.code, replay.out, replay.err]).toEqual([2, [], [REFUSED]])
    expect([exp.code, exp.out, exp.err]).toEqual([2, '', REFUSED])
  })

  test('--stream reads that stream only', async () => {
    const replay = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--stream', 'w2dev'])
    expect([replay.code, replay.out, replay.err]).toEqual([0, dev, ['replayed 2 records from 1 files']])
    const sample = await cli(['data', 'sample', '--data', root, '--date', DATE, '--stream', 'local', '--raw'])
    expect([sample.code, sample.out.split('\n').map((l) => l.replace(/,"_nats_seq":\d+\}$/, '}'))]).toEqual([0, local])
    const exp = await cli(['data', 'export', '--data', root, '--date', DATE, '--stream', 'local', '--out', join(root, 'export-local'), '--json'])
    expect([exp.code, JSON.parse(exp.out).rowsByType]).toEqual([0, { trade: 3 }])
  })

  test('a --stream the date does not have: exit 2 naming the streams there are', async () => {
    const r = await cli(['data', 'sample', '--data', root, '--date', DATE, '--stream', 'nope'])
    expect([r.code, r.err]).toEqual([2, `error: no kalshi/nope archive files for ${DATE} under ${root} (--stream; streams there: local, w2dev)`])
  })

  test('a date with one stream reads as before without --stream', async () => {
    const replay = await runCli(['data', 'replay', '--data', single, '--date', DATE])
    expect([replay.code, replay.out, replay.err]).toEqual([0, local, ['replayed 3 records from 1 files']])
  })
})
