/** `ssmd data replay` as a child process over a small archive written with the real ArchiveWriter. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { needService, uniqueId } from '../../../test/services.ts'
import { runCli } from '../../../test/subprocess.ts'
import { ArchiveWriter, listArchiveFiles } from '../../pipeline/archive/index.ts'
import { waitFor } from '../../pipeline/core/wait.ts'

const nats = await needService('nats')
const root = mkdtempSync(join(tmpdir(), 'ssmd-data-replay-'))
const DATE = '2026-02-07'
const DOT = 'KXBTCD-26FEB07-T97499.99'

/** [payload as archived (connector fields included), the frame replay must print, subject kind, ticker token]. */
const FRAMES: [string, string, string, string][] = [
  ['{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":1}}', '{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":1}}', 'control', 'none'],
  ['{"type":"ticker","sid":1,"seq":1,"msg":{"market_ticker":"KXA","price":50,"yes_bid":49,"yes_ask":51,"volume":10,"ts":1770480000},"_shard_id":0,"_received_at":1770480000100000}',
    '{"type":"ticker","sid":1,"seq":1,"msg":{"market_ticker":"KXA","price":50,"yes_bid":49,"yes_ask":51,"volume":10,"ts":1770480000}}', 'ticker', 'KXA'],
  ['{"type":"trade","sid":2,"seq":1,"msg":{"market_ticker":"KXB","trade_id":"t1","yes_price_dollars":"0.4200","count_fp":"3.00","taker_side":"no","ts":1770480001},"_shard_id":0,"_received_at":1770480001000000}',
    '{"type":"trade","sid":2,"seq":1,"msg":{"market_ticker":"KXB","trade_id":"t1","yes_price_dollars":"0.4200","count_fp":"3.00","taker_side":"no","ts":1770480001}}', 'trade', 'KXB'],
  ['{"type":"trade","sid":2,"seq":2,"msg":{"market_ticker":"KXA","trade_id":"t2","yes_price":51,"count":2,"taker_side":"yes","ts":1770480002}}',
    '{"type":"trade","sid":2,"seq":2,"msg":{"market_ticker":"KXA","trade_id":"t2","yes_price":51,"count":2,"taker_side":"yes","ts":1770480002}}', 'trade', 'KXA'],
  // second file (the next 15-minute slot)
  ['{"type":"orderbook_delta","sid":3,"seq":1,"msg":{"market_ticker":"KXA","price":49,"delta":-5,"side":"yes","ts":"2026-02-07T16:20:00Z"},"_shard_id":1,"_received_at":1770481200000000}',
    '{"type":"orderbook_delta","sid":3,"seq":1,"msg":{"market_ticker":"KXA","price":49,"delta":-5,"side":"yes","ts":"2026-02-07T16:20:00Z"}}', 'orderbook_delta', 'KXA'],
  [`{"type":"ticker","sid":1,"seq":2,"msg":{"market_ticker":"${DOT}","price":7,"ts":1770481201}}`,
    `{"type":"ticker","sid":1,"seq":2,"msg":{"market_ticker":"${DOT}","price":7,"ts":1770481201}}`, 'ticker', 'KXBTCD-26FEB07-T97499_99'],
  ['{"type":"market_lifecycle_v2","sid":4,"seq":1,"msg":{"market_ticker":"KXA","event_type":"determined","result":"yes","determination_ts":1770481202}}',
    '{"type":"market_lifecycle_v2","sid":4,"seq":1,"msg":{"market_ticker":"KXA","event_type":"determined","result":"yes","determination_ts":1770481202}}', 'market_lifecycle_v2', 'KXA'],
]

beforeAll(async () => {
  let now = Date.UTC(2026, 1, 7, 16, 5)
  const w = new ArchiveWriter({ root, feed: 'kalshi', stream: 'crypto', now: () => now, rotationCheckMs: 0 })
  await w.append(FRAMES.slice(0, 4).map(([payload], i) => ({ payload, seq: i + 1 })))
  now = Date.UTC(2026, 1, 7, 16, 20)
  await w.append(FRAMES.slice(4).map(([payload], i) => ({ payload, seq: i + 5 })))
  await w.close()
  expect((await listArchiveFiles(root, { feed: 'kalshi', dates: [DATE] })).map((f) => f.name)).toEqual(['1600.jsonl.gz', '1615.jsonl.gz'])
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('ssmd data replay (child process)', () => {
  test('--to stdout --speed max prints every frame of the date, in archive order, without the injected fields', async () => {
    const r = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--to', 'stdout', '--speed', 'max'])
    expect(r.code).toBe(0)
    expect(r.out).toEqual(FRAMES.map((f) => f[1]))
    expect(r.err).toEqual(['replayed 7 records from 2 files'])
  })

  test('--symbol keeps only that ticker (control frames have none), in order', async () => {
    const r = await runCli(['--data-dir', root, 'data', 'replay', '--date', DATE, '--symbol', 'KXA'])
    expect(r.code).toBe(0)
    expect(r.out).toEqual(FRAMES.filter((f) => f[3] === 'KXA').map((f) => f[1]))
    expect(r.err).toEqual(['replayed 4 records from 2 files'])
    const dotted = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--symbol', DOT])
    expect(dotted.out).toEqual([FRAMES[5][1]])
  })

  test('bad flags are usage errors (exit 2) naming the flag', async () => {
    const speed = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--speed', '0'])
    expect([speed.code, speed.err.join('\n')]).toEqual([2, 'error: --speed must be a positive number or max (got 0)'])
    const to = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--to', 'kafka'])
    expect([to.code, to.err.join('\n')]).toEqual([2, 'error: --to must be stdout or nats (got kafka)'])
  })

  test('a truncated file and lines that are not JSON are reported on stderr; the complete lines still replay', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'ssmd-data-replay-bad-'))
    try {
      const dir = join(bad, 'kalshi', 'crypto', DATE)
      mkdirSync(dir, { recursive: true })
      const gz = Bun.gzipSync(Buffer.from(`${FRAMES[1][0]}\nnot json\n${FRAMES[2][0]}\n`))
      writeFileSync(join(dir, '1600.jsonl.gz'), gz.subarray(0, gz.length - 12)) // cut the gzip trailer and some data
      writeFileSync(join(dir, '1615.jsonl.gz'), Bun.gzipSync(Buffer.from(`${FRAMES[3][0]}\n{broken\n`)))
      const r = await runCli(['data', 'replay', '--data', bad, '--date', DATE])
      expect(r.code).toBe(0)
      expect(r.out.at(-1)).toBe(FRAMES[3][1])
      expect(r.err.some((l) => l.includes('1600.jsonl.gz') && l.includes('truncated or corrupt'))).toBe(true)
      expect(r.err.at(-1)).toMatch(/^replayed \d+ records from 2 files \(\d+ lines that are not JSON objects skipped\)$/)
    } finally {
      rmSync(bad, { recursive: true, force: true })
    }
  })

  test('a date with no archive is a usage error (exit 2) naming the date and the directory', async () => {
    const r = await runCli(['data', 'replay', '--data', root, '--date', '2026-02-08'])
    expect(r.code).toBe(2)
    expect(r.err.join('\n')).toContain('2026-02-08')
    expect(r.err.join('\n')).toContain(root)
    expect(r.out).toEqual([])
  })

  describe.skipIf(!nats.ok)(`--to nats (${nats.reason})`, () => {
    let nc: NatsConnection
    let jsm: JetStreamManager
    const id = uniqueId('rpl')
    const stream = `RPL_${id}`
    beforeAll(async () => {
      nc = await connect({ servers: nats.url, noAsyncTraces: true })
      jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: stream, subjects: [`${id}.>`] })
    })
    afterAll(async () => {
      await jsm?.streams.delete(stream).catch(() => {})
      await nc?.close()
    })

    test('publishes each frame to {prefix}.json.{kind}.{ticker} in archive order', async () => {
      const r = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--to', 'nats', '--nats-url', nats.url, '--prefix', `${id}.kalshi`])
      expect([r.code, r.out, r.err]).toEqual([0, [], ['replayed 7 records from 2 files']])
      await waitFor(async () => (await jsm.streams.info(stream)).state.messages === FRAMES.length, `${FRAMES.length} replayed messages in ${stream}`)
      const got: [string, string][] = []
      for (let seq = 1; seq <= FRAMES.length; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq })
        got.push([m!.subject, m!.string()])
      }
      expect(got).toEqual(FRAMES.map(([, frame, kind, token]) => [`${id}.kalshi.json.${kind}.${token}`, frame]))
    })
  })
})
