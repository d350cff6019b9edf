/** `ssmd data replay` as a child process over a small archive written with the real ArchiveWriter. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { needService, uniqueId } from '../../../test/services.ts'
import { CLI_MAIN, runCli } from '../../../test/subprocess.ts'
import { ArchiveWriter, listArchiveFiles } from '../../pipeline/archive/index.ts'
import { waitFor } from '../../pipeline/core/wait.ts'

const nats = await needService('nats')
const root = mkdtempSync(join(tmpdir(), 'ssmd-data-replay-'))
const DATE = '2026-02-07'
const DOT = 'KXBTCD-26FEB07-T97499.99'

/**
 * [payload as the connector published it (its fields included; the archive appends `_nats_seq`),
 * the frame replay must print, DESIGN §5 subject kind, ticker token].
 */
const FRAMES: [string, string, string, string][] = [
  ['{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":1}}', '{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":1}}', 'control', 'unknown'],
  ['{"type":"ticker","sid":1,"seq":1,"msg":{"market_ticker":"KXA","price":50,"yes_bid":49,"yes_ask":51,"volume":10,"ts":1770480000},"_shard_id":0,"_received_at":1770480000100000}',
    '{"type":"ticker","sid":1,"seq":1,"msg":{"market_ticker":"KXA","price":50,"yes_bid":49,"yes_ask":51,"volume":10,"ts":1770480000}}', 'ticker', 'KXA'],
  ['{"type":"trade","sid":2,"seq":1,"msg":{"market_ticker":"KXB","trade_id":"t1","yes_price_dollars":"0.4200","count_fp":"3.00","taker_side":"no","ts":1770480001},"_shard_id":0,"_received_at":1770480001000000}',
    '{"type":"trade","sid":2,"seq":1,"msg":{"market_ticker":"KXB","trade_id":"t1","yes_price_dollars":"0.4200","count_fp":"3.00","taker_side":"no","ts":1770480001}}', 'trade', 'KXB'],
  ['{"type":"trade","sid":2,"seq":2,"msg":{"market_ticker":"KXA","trade_id":"t2","yes_price":51,"count":2,"taker_side":"yes","ts":1770480002}}',
    '{"type":"trade","sid":2,"seq":2,"msg":{"market_ticker":"KXA","trade_id":"t2","yes_price":51,"count":2,"taker_side":"yes","ts":1770480002}}', 'trade', 'KXA'],
  // second file (the next 15-minute slot)
  ['{"type":"orderbook_delta","sid":3,"seq":1,"msg":{"market_ticker":"KXA","price":49,"delta":-5,"side":"yes","ts":"2026-02-07T16:20:00Z"},"_shard_id":1,"_received_at":1770481200000000}',
    '{"type":"orderbook_delta","sid":3,"seq":1,"msg":{"market_ticker":"KXA","price":49,"delta":-5,"side":"yes","ts":"2026-02-07T16:20:00Z"}}', 'orderbook', 'KXA'],
  [`{"type":"ticker","sid":1,"seq":2,"msg":{"market_ticker":"${DOT}","price":7,"ts":1770481201}}`,
    `{"type":"ticker","sid":1,"seq":2,"msg":{"market_ticker":"${DOT}","price":7,"ts":1770481201}}`, 'ticker', 'KXBTCD-26FEB07-T97499_99'],
  ['{"type":"market_lifecycle_v2","sid":4,"seq":1,"msg":{"market_ticker":"KXA","event_type":"determined","result":"yes","determination_ts":1770481202}}',
    '{"type":"market_lifecycle_v2","sid":4,"seq":1,"msg":{"market_ticker":"KXA","event_type":"determined","result":"yes","determination_ts":1770481202}}', 'lifecycle', 'KXA'],
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

/** A date of `n` ticker lines in one file (many read batches); [archive root, frames replay must print]. */
function bigDate(n: number): { dir: string; frames: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ssmd-data-replay-big-'))
  const day = join(dir, 'kalshi', 'crypto', DATE)
  mkdirSync(day, { recursive: true })
  const frames: string[] = []
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    const frame = `{"type":"ticker","sid":1,"seq":${i + 1},"msg":{"market_ticker":"KX${i % 50}","price":${1 + (i % 98)},"volume":${i},"ts":${1770480000 + Math.floor(i / 100)}}}`
    frames.push(frame)
    lines.push(`${frame.slice(0, -1)},"_shard_id":0,"_received_at":${1770480000000000 + i * 10}}`)
  }
  writeFileSync(join(day, '1600.jsonl.gz'), Bun.gzipSync(Buffer.from(`${lines.join('\n')}\n`)))
  return { dir, frames }
}

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

  test('--symbol the date does not have (per its manifests) is a usage error naming it and the date\'s tickers nearest to it, before anything is replayed (was 0 records, exit 0)', async () => {
    const r = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--symbol', 'NOPE'])
    expect([r.code, r.out, r.err]).toEqual([2, [], [`error: --symbol NOPE is not a ticker of kalshi ${DATE} (its manifests list 3: KXA, KXB, ${DOT})`]])
    const many = mkdtempSync(join(tmpdir(), 'ssmd-data-replay-many-'))
    try {
      let now = Date.UTC(2026, 1, 7, 16, 5)
      const w = new ArchiveWriter({ root: many, feed: 'kalshi', stream: 'crypto', now: () => now, rotationCheckMs: 0 })
      const tickers = ['KXA', 'KXB', 'KXBTCD-1', 'KXBTCD-2', 'KXBTCE-1', 'KXETH-1', 'KXETH-2', 'KXZ']
      await w.append(tickers.map((t, i) => ({ payload: `{"type":"ticker","sid":1,"seq":${i + 1},"msg":{"market_ticker":"${t}","price":50,"ts":1770480000}}`, seq: i + 1 })))
      now += 1
      await w.close()
      const typo = await runCli(['data', 'replay', '--data', many, '--date', DATE, '--symbol', 'KXBTCD-3', '--to', 'nats', '--nats-url', 'nats://127.0.0.1:1'])
      expect([typo.code, typo.err]).toEqual([2, [`error: --symbol KXBTCD-3 is not a ticker of kalshi ${DATE} (its manifests list 8, e.g. KXBTCD-1, KXBTCD-2, KXBTCE-1, KXB, KXA)`]])
    } finally {
      rmSync(many, { recursive: true, force: true })
    }
  })

  test('--symbol on a date without manifests (nothing to check it against first) warns when it matched no record', async () => {
    const big = bigDate(100)
    try {
      const r = await runCli(['data', 'replay', '--data', big.dir, '--date', DATE, '--symbol', 'NOPE'])
      expect([r.code, r.out, r.err]).toEqual([0, [], ['replayed 0 records from 1 files', `warning: no record of kalshi ${DATE} has the ticker NOPE (--symbol)`]])
      const some = await runCli(['data', 'replay', '--data', big.dir, '--date', DATE, '--symbol', 'KX7'])
      expect([some.code, some.out.length, some.err]).toEqual([0, 2, ['replayed 2 records from 1 files']])
    } finally {
      rmSync(big.dir, { recursive: true, force: true })
    }
  })

  test('--speed N paces the frames by their receive times divided by N, and still prints them all in order', async () => {
    // the frames' receive times span 1,200 s (16:00:00.1 to 16:20:00): at 1000× about 1.2 s
    const t0 = performance.now()
    const r = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--speed', '1000'])
    const elapsed = performance.now() - t0
    expect([r.code, r.out, r.err]).toEqual([0, FRAMES.map((f) => f[1]), ['replayed 7 records from 2 files']])
    expect(elapsed).toBeGreaterThan(1_000)
  })

  test('bad flags are usage errors (exit 2) naming the flag', async () => {
    const speed = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--speed', '0'])
    expect([speed.code, speed.err.join('\n')]).toEqual([2, 'error: --speed must be a positive number or max (got 0)'])
    const to = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--to', 'kafka'])
    expect([to.code, to.err.join('\n')]).toEqual([2, 'error: --to must be stdout or nats (got kafka)'])
    // a date that is not one (it used to say "no archive files for 2026-13-45")
    const date = await runCli(['data', 'replay', '--data', root, '--date', '2026-13-45'])
    expect([date.code, date.err.join('\n')]).toEqual([2, 'error: --date must be a date YYYY-MM-DD (got "2026-13-45")'])
  })

  test('--prefix for --to nats must be a subject one can publish on (was an InvalidSubjectError trace, or a wildcard replayed into bad subjects): exit 2', async () => {
    for (const prefix of ['bad subject', 'smoke.>', 'smoke.*.x', 'a..b', '']) {
      const r = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--to', 'nats', '--nats-url', 'nats://127.0.0.1:1', '--prefix', prefix])
      expect([prefix, r.code, r.err]).toEqual([prefix, 2, [`error: --prefix must be a NATS subject without wildcards, spaces or empty tokens, e.g. replay.kalshi (got "${prefix}")`]])
    }
  })

  test('--to nats with NATS unreachable: one line naming the server without its password (was a ConnectionError trace)', async () => {
    const r = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--to', 'nats', '--nats-url', 'nats://ops:natspw@127.0.0.1:1'])
    expect([r.code, r.err]).toEqual([1, ['error [NATS_CONNECT]: cannot connect to NATS at nats://ops:***@127.0.0.1:1: connection refused']])
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

  test('a large date (many read batches) goes out whole and in order', async () => {
    const big = bigDate(30_000)
    try {
      const r = await runCli(['data', 'replay', '--data', big.dir, '--date', DATE])
      expect([r.code, r.err]).toEqual([0, ['replayed 30000 records from 1 files']])
      expect(r.out.length).toBe(big.frames.length)
      expect(r.out).toEqual(big.frames)
    } finally {
      rmSync(big.dir, { recursive: true, force: true })
    }
  })

  test('a reader that closes the pipe early (| head) ends the replay: exit 0, nothing on stderr but the count', async () => {
    const big = bigDate(30_000)
    try {
      const p = Bun.spawn(['bash', '-c', `bun ${JSON.stringify(CLI_MAIN)} data replay --data ${JSON.stringify(big.dir)} --date ${DATE} | head -n 3; echo "replay exit $\{PIPESTATUS[0]}"`], { stdout: 'pipe', stderr: 'pipe' })
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
      expect(code).toBe(0)
      expect(out.trim().split('\n')).toEqual([...big.frames.slice(0, 3), 'replay exit 0'])
      expect(err.trim()).toMatch(/^replayed \d+ records from 1 files$/)
      expect(Number(/replayed (\d+)/.exec(err)?.[1])).toBeLessThan(30_000)
    } finally {
      rmSync(big.dir, { recursive: true, force: true })
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

    /** [subject, payload, Nats-Msg-Id] of the stream's messages from `from` (1-based), `n` of them. */
    async function messages(from: number, n: number): Promise<[string, string, string | undefined][]> {
      const got: [string, string, string | undefined][] = []
      for (let seq = from; seq < from + n; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq })
        got.push([m!.subject, m!.string(), m!.header?.get('Nats-Msg-Id')])
      }
      return got
    }

    test('publishes each record as the connector did (finding 3): DESIGN §5 subject, payload with _shard_id/_received_at and without _nats_seq, its Nats-Msg-Id; a second replay stores nothing', async () => {
      const r = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--to', 'nats', '--nats-url', nats.url, '--prefix', `${id}.kalshi`])
      expect([r.code, r.out, r.err]).toEqual([0, [], ['replayed 7 records from 2 files']])
      await waitFor(async () => (await jsm.streams.info(stream)).state.messages === FRAMES.length, `${FRAMES.length} replayed messages in ${stream}`)
      const got = await messages(1, FRAMES.length)
      expect(got.map(([subject, payload]) => [subject, payload])).toEqual(FRAMES.map(([archived, , kind, token]) => [`${id}.kalshi.json.${kind}.${token}`, archived]))
      // trades by trade id, the others by the replayed archive date and the record's position in it
      const ids = got.map(([, , msgId]) => msgId ?? '')
      expect([ids[2], ids[3]]).toEqual(['trade:t1', 'trade:t2'])
      const instance = /^(replay-kalshi-crypto-2026-02-07-\w+):1$/.exec(ids[0])?.[1]
      expect(ids).toEqual([1, 2, 0, 0, 5, 6, 7].map((n, i) => (n === 0 ? ids[i] : `${instance}:${n}`)))

      const again = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--to', 'nats', '--nats-url', nats.url, '--prefix', `${id}.kalshi`])
      const symbol = await runCli(['data', 'replay', '--data', root, '--date', DATE, '--symbol', 'KXA', '--to', 'nats', '--nats-url', nats.url, '--prefix', `${id}.kalshi`])
      expect([again.code, symbol.code]).toEqual([0, 0])
      const info = await jsm.streams.info(stream)
      expect([info.state.messages, info.state.last_seq]).toEqual([FRAMES.length, FRAMES.length])
      await jsm.streams.purge(stream)
    })

    test('event_lifecycle, control records, odd tickers, unknown types and file-transport lines go where the connector sends them', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ssmd-data-replay-kinds-'))
      const prefix = `${id}.kinds`
      // [line as archived by the file transport (`_seq`), subject after the prefix]
      const lines: [string, string][] = [
        ['{"type":"event_lifecycle","sid":5,"seq":1,"msg":{"event_ticker":"KXEV-26","title":"t"},"_shard_id":2,"_received_at":1770480000000001,"_seq":1}', 'json.event_lifecycle.KXEV-26'],
        ['{"type":"ssmd_control","kind":"gap","ts_us":1770480000000002,"shard":0,"sid":3,"expected":7,"got":9,"_seq":2}', 'json.control.gap'],
        ['{"type":"ssmd_control","kind":"invalid","reason":"not a JSON object","raw":"x","_shard_id":0,"_received_at":1770480000000003,"_seq":3}', 'json.control.invalid'],
        ['{"type":"ticker","sid":1,"seq":3,"msg":{"market_ticker":"KX_A*B >C%.D","price":1},"_shard_id":0,"_received_at":1770480000000004,"_seq":4}', 'json.ticker.KX%5FA%2AB%20%3EC%25_D'],
        ['{"type":"mystery","sid":9,"msg":{"market_ticker":"KXA"},"_shard_id":0,"_received_at":1770480000000005,"_seq":5}', 'json.control.unknown'],
        ['{"type":"trade","sid":2,"seq":9,"msg":{"yes_price":5},"_shard_id":0,"_received_at":1770480000000006,"_seq":6}', 'json.control.unknown'],
        ['{"type":"orderbook_snapshot","sid":3,"seq":1,"msg":{"market_ticker":"KXA","yes":[[1,2]]},"_shard_id":1,"_received_at":1770480000000007,"_seq":7}', 'json.orderbook.KXA'],
      ]
      try {
        const day = join(dir, 'kalshi', 'local', DATE)
        mkdirSync(day, { recursive: true })
        writeFileSync(join(day, '1600.jsonl.gz'), Bun.gzipSync(Buffer.from(`${lines.map(([l]) => l).join('\n')}\n`)))
        const before = (await jsm.streams.info(stream)).state.last_seq
        const r = await runCli(['data', 'replay', '--data', dir, '--date', DATE, '--to', 'nats', '--nats-url', nats.url, '--prefix', prefix])
        expect([r.code, r.err]).toEqual([0, [`replayed ${lines.length} records from 1 files`]])
        await waitFor(async () => (await jsm.streams.info(stream)).state.last_seq === before + lines.length, `${lines.length} more messages in ${stream}`)
        const got = await messages(before + 1, lines.length)
        expect(got.map(([subject, payload]) => [subject, payload])).toEqual(lines.map(([line, subject]) => [`${prefix}.${subject}`, line.replace(/,"_seq":\d+\}$/, '}')]))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    test('a date larger than the flush interval arrives whole and in order', async () => {
      const big = bigDate(60_000)
      const prefix = `${id}.big`
      try {
        const before = (await jsm.streams.info(stream)).state.last_seq
        const r = await runCli(['data', 'replay', '--data', big.dir, '--date', DATE, '--to', 'nats', '--nats-url', nats.url, '--prefix', prefix])
        expect([r.code, r.err]).toEqual([0, ['replayed 60000 records from 1 files']])
        await waitFor(async () => (await jsm.streams.info(stream)).state.last_seq === before + big.frames.length, `${big.frames.length} more messages in ${stream}`)
        for (const i of [0, 1, 29_999, 50_000, 59_999]) {
          const m = await jsm.streams.getMessage(stream, { seq: before + 1 + i })
          expect([m!.subject, m!.string()]).toEqual([`${prefix}.json.ticker.KX${i % 50}`, `${big.frames[i].slice(0, -1)},"_shard_id":0,"_received_at":${1770480000000000 + i * 10}}`])
        }
      } finally {
        rmSync(big.dir, { recursive: true, force: true })
      }
    })
  })
})
