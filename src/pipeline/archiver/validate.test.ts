import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import pino from 'pino'
import { needService, uniqueId } from '../../../test/services.ts'
import { listArchiveFiles, readArchive } from '../archive/index.ts'
import { ArchiverSchema } from '../config/schema.ts'
import { waitFor } from '../core/wait.ts'
import { simLines } from '../records/fixture-sim.test.ts'
import { startArchiver } from './archiver.ts'
import { frame as tradeFrame } from './archiver.fixture.ts'
import { ARCHIVER_DEFAULTS, resolveTuning } from './options.ts'
import { RateLimitedWarn, Sampler, validateFrame, type ValidationResult } from './validate.ts'

const nats = await needService('nats')

const frame = (type: string, msg: Record<string, unknown> | undefined, extra = '') =>
  `{"type":"${type}","sid":1,"seq":7${msg === undefined ? '' : `,"msg":${JSON.stringify(msg)}`}${extra}}`
const without = (o: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key))
const invalid = (type: string, ...problems: string[]): ValidationResult => ({ status: 'invalid', type, problems })
const valid = (type: string): ValidationResult => ({ status: 'valid', type, problems: [] })

const TICKER = { market_ticker: 'KXA', price: 50, yes_bid: 49, yes_ask: 51, ts: 1_770_480_000 }
const TRADE_CENTS = { market_ticker: 'KXA', trade_id: 't1', yes_price: 42, no_price: 58, count: 3, taker_side: 'yes', ts: 1_770_480_000 }
const TRADE_DOLLARS = { market_ticker: 'KXA', trade_id: 't1', yes_price_dollars: '0.4200', no_price_dollars: '0.5800', count_fp: '3.00', taker_side: 'no', ts: 1_770_480_000 }
const LIFECYCLE = { market_ticker: 'KXA', event_type: 'determined', result: 'yes', determination_ts: 1_770_480_000 }

describe('validateFrame: ticker', () => {
  test('valid with the integer ts, with ts_ms only, and with the connector fields appended', () => {
    expect(validateFrame(frame('ticker', TICKER))).toEqual(valid('ticker'))
    expect(validateFrame(frame('ticker', { ...without(TICKER, 'ts'), ts_ms: 1_770_480_000_123 }))).toEqual(valid('ticker'))
    expect(validateFrame(frame('ticker', TICKER, ',"_shard_id":0,"_received_at":1770480000000100'))).toEqual(valid('ticker'))
    expect(validateFrame(new TextEncoder().encode(frame('ticker', TICKER)))).toEqual(valid('ticker'))
  })

  test('each missing or mistyped field is named', () => {
    expect(validateFrame(frame('ticker', undefined))).toEqual(invalid('ticker', 'msg (object)'))
    expect(validateFrame('{"type":"ticker","msg":[1]}')).toEqual(invalid('ticker', 'msg (object)'))
    expect(validateFrame(frame('ticker', without(TICKER, 'market_ticker')))).toEqual(invalid('ticker', 'msg.market_ticker (string)'))
    expect(validateFrame(frame('ticker', { ...TICKER, market_ticker: 7 }))).toEqual(invalid('ticker', 'msg.market_ticker (string)'))
    expect(validateFrame(frame('ticker', without(TICKER, 'ts')))).toEqual(invalid('ticker', 'msg.ts (integer)'))
    expect(validateFrame(frame('ticker', { ...TICKER, ts: '1770480000' }))).toEqual(invalid('ticker', 'msg.ts (integer)'))
    expect(validateFrame(frame('ticker', { ...TICKER, ts: 1.5 }))).toEqual(invalid('ticker', 'msg.ts (integer)'))
    expect(validateFrame(frame('ticker', {}))).toEqual(invalid('ticker', 'msg.market_ticker (string)', 'msg.ts (integer)'))
  })
})

describe('validateFrame: trade', () => {
  test('valid in cents, in dollars/fixed point, and with the legacy price and side fields', () => {
    expect(validateFrame(frame('trade', TRADE_CENTS))).toEqual(valid('trade'))
    expect(validateFrame(frame('trade', TRADE_DOLLARS))).toEqual(valid('trade'))
    expect(validateFrame(frame('trade', { ...TRADE_CENTS, ...TRADE_DOLLARS }))).toEqual(valid('trade'))
    const legacy = { market_ticker: 'KXA', trade_id: 't1', price: 42, count: 3, side: 'yes', ts: 1_770_480_000 }
    expect(validateFrame(frame('trade', legacy))).toEqual(valid('trade'))
    // one side's price is enough (the parser derives the other)
    expect(validateFrame(frame('trade', without(TRADE_DOLLARS, 'yes_price_dollars')))).toEqual(valid('trade'))
    expect(validateFrame(frame('trade', without(TRADE_CENTS, 'yes_price')))).toEqual(valid('trade'))
  })

  const PRICE = 'msg.yes_price or msg.price (integer) or msg.yes_price_dollars (string)'
  const COUNT = 'msg.count (integer) or msg.count_fp (string)'
  const SIDE = 'msg.taker_side or msg.side (string)'
  test.each([
    ['market_ticker', 'msg.market_ticker (string)'],
    ['trade_id', 'msg.trade_id (string)'],
    ['count', COUNT],
    ['taker_side', SIDE],
    ['ts', 'msg.ts (integer)'],
  ])('cents: missing %s', (field, problem) => {
    expect(validateFrame(frame('trade', without(TRADE_CENTS, field)))).toEqual(invalid('trade', problem))
  })

  test.each([
    ['market_ticker', 'msg.market_ticker (string)'],
    ['trade_id', 'msg.trade_id (string)'],
    ['count_fp', COUNT],
    ['taker_side', SIDE],
    ['ts', 'msg.ts (integer)'],
  ])('dollars: missing %s', (field, problem) => {
    expect(validateFrame(frame('trade', without(TRADE_DOLLARS, field)))).toEqual(invalid('trade', problem))
  })

  test('missing price (both formats) and mistyped values', () => {
    const noPrice = { market_ticker: 'KXA', trade_id: 't1', count: 3, taker_side: 'yes', ts: 1 }
    expect(validateFrame(frame('trade', noPrice))).toEqual(invalid('trade', PRICE))
    expect(validateFrame(frame('trade', without(without(TRADE_DOLLARS, 'yes_price_dollars'), 'no_price_dollars')))).toEqual(invalid('trade', PRICE))
    expect(validateFrame(frame('trade', without(without(TRADE_CENTS, 'yes_price'), 'no_price')))).toEqual(invalid('trade', PRICE))
    expect(validateFrame(frame('trade', { ...noPrice, yes_price: 42.5 }))).toEqual(invalid('trade', PRICE))
    expect(validateFrame(frame('trade', { ...noPrice, yes_price: '42' }))).toEqual(invalid('trade', PRICE))
    expect(validateFrame(frame('trade', { ...noPrice, yes_price_dollars: '' }))).toEqual(invalid('trade', PRICE))
    expect(validateFrame(frame('trade', { ...noPrice, yes_price_dollars: 'abc' }))).toEqual(invalid('trade', PRICE))
    expect(validateFrame(frame('trade', { ...TRADE_CENTS, count: 2.5 }))).toEqual(invalid('trade', COUNT))
    expect(validateFrame(frame('trade', { ...TRADE_DOLLARS, count_fp: 'x' }))).toEqual(invalid('trade', COUNT))
    expect(validateFrame(frame('trade', { ...TRADE_CENTS, taker_side: 1 }))).toEqual(invalid('trade', SIDE))
    expect(validateFrame(frame('trade', undefined))).toEqual(invalid('trade', 'msg (object)'))
    expect(validateFrame(frame('trade', {}))).toEqual(invalid('trade', 'msg.market_ticker (string)', 'msg.trade_id (string)', PRICE, COUNT, SIDE, 'msg.ts (integer)'))
  })
})

describe('validateFrame: lifecycle, control, other and bad input', () => {
  test('market_lifecycle_v2 needs market_ticker and event_type strings', () => {
    expect(validateFrame(frame('market_lifecycle_v2', LIFECYCLE))).toEqual(valid('market_lifecycle_v2'))
    expect(validateFrame(frame('market_lifecycle_v2', without(LIFECYCLE, 'market_ticker')))).toEqual(invalid('market_lifecycle_v2', 'msg.market_ticker (string)'))
    expect(validateFrame(frame('market_lifecycle_v2', without(LIFECYCLE, 'event_type')))).toEqual(invalid('market_lifecycle_v2', 'msg.event_type (string)'))
    expect(validateFrame(frame('market_lifecycle_v2', { ...LIFECYCLE, event_type: null }))).toEqual(invalid('market_lifecycle_v2', 'msg.event_type (string)'))
    expect(validateFrame(frame('market_lifecycle_v2', undefined))).toEqual(invalid('market_lifecycle_v2', 'msg (object)'))
  })

  test('control frames are skipped, whatever they hold; types without rules pass', () => {
    for (const type of ['subscribed', 'ok', 'unsubscribed', 'error', 'ssmd_control']) {
      expect(validateFrame(frame(type, undefined))).toEqual({ status: 'skipped', type, problems: [] })
    }
    expect(validateFrame('{"type":"ssmd_control","kind":"gap","ts_us":1}').status).toBe('skipped')
    expect(validateFrame(frame('orderbook_delta', { market_ticker: 'KXA' }))).toEqual(valid('orderbook_delta'))
    expect(validateFrame(frame('event_lifecycle', undefined))).toEqual(valid('event_lifecycle'))
  })

  test('invalid JSON, non-objects and frames without a type fail', () => {
    expect(validateFrame('{"type":"trade","msg":')).toEqual(invalid('invalid_json', 'not JSON'))
    expect(validateFrame('')).toEqual(invalid('invalid_json', 'not JSON'))
    expect(validateFrame(new Uint8Array([0xff, 0xfe, 0x7b]))).toEqual(invalid('invalid_json', 'not JSON'))
    expect(validateFrame('[1,2]')).toEqual(invalid('invalid_json', 'not a JSON object'))
    expect(validateFrame('null')).toEqual(invalid('invalid_json', 'not a JSON object'))
    expect(validateFrame('{"msg":{"market_ticker":"KXA"}}')).toEqual(invalid('unknown', 'type (string)'))
  })

  test('every simulator frame in the three wire formats is valid or skipped (no false alarms)', () => {
    for (const format of ['cents', 'dollars', 'mixed'] as const) {
      const lines = simLines({ seed: 5, count: 3000, format, markets: 6 })
      const bad = lines.map((l) => [l.line, validateFrame(l.line)] as const).filter(([, r]) => r.status === 'invalid')
      expect(bad).toEqual([])
      expect(new Set(lines.map((l) => l.type))).toContain('trade')
    }
  })
})

describe('Sampler and RateLimitedWarn', () => {
  test('takes every Nth (the Nth, 2Nth, …); 1 takes all; 0 takes none', () => {
    const pick = (every: number, n: number) => {
      const s = new Sampler(every)
      return Array.from({ length: n }, (_, i) => i + 1).filter(() => s.take())
    }
    expect(pick(100, 350)).toEqual([100, 200, 300])
    expect(pick(3, 10)).toEqual([3, 6, 9])
    expect(pick(1, 4)).toEqual([1, 2, 3, 4])
    expect(pick(0, 500)).toEqual([])
  })

  test('logs at most once per interval and says how many it suppressed', () => {
    const lines: Record<string, unknown>[] = []
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) })
    let now = 1000
    const w = new RateLimitedWarn(log, 60_000, () => now)
    const result = invalid('trade', 'msg.trade_id (string)')
    const payload = frame('trade', without(TRADE_CENTS, 'trade_id'))
    for (let i = 1; i <= 5; i++) w.warn({ seq: i, subject: 's.json.trade.KXA', result, payload })
    now += 60_000
    w.warn({ seq: 6, subject: 's.json.trade.KXA', result, payload: new TextEncoder().encode('x'.repeat(1000)) })
    expect(lines.map((l) => [l.seq, l.suppressed, l.message_type, l.problems])).toEqual([
      [1, 0, 'trade', ['msg.trade_id (string)']],
      [6, 4, 'trade', ['msg.trade_id (string)']],
    ])
    expect(lines[0].sample).toBe(payload)
    expect(lines[1].sample).toBe(`${'x'.repeat(300)}…`)
  })
})

describe('the sample interval option', () => {
  test('defaults to 100; 0 turns validation off; negative or fractional values are rejected; YAML validate_every', () => {
    expect(ARCHIVER_DEFAULTS.validateEvery).toBe(100)
    expect(resolveTuning({ validateEvery: 0 }).validateEvery).toBe(0)
    expect(() => resolveTuning({ validateEvery: -1 })).toThrow('options.validateEvery must be a non-negative integer (0 = off) (got -1)')
    expect(() => resolveTuning({ validateEvery: 2.5 })).toThrow('options.validateEvery must be a non-negative integer (0 = off) (got 2.5)')
    expect(ArchiverSchema.parse({ validate_every: 0 })).toEqual({ validate_every: 0 })
    expect(ArchiverSchema.parse({})).toEqual({})
    expect(ArchiverSchema.safeParse({ validate_every: -5 }).success).toBe(false)
  })
})

describe.skipIf(!nats.ok)(`archiver: sampled validation against JetStream (${nats.reason})`, () => {
  test('a bad sampled message is counted and logged while its line is archived unchanged; unsampled ones are not parsed', async () => {
    const id = uniqueId('val')
    const stream = id.toUpperCase()
    const root = mkdtempSync(join(tmpdir(), 'ssmd-archiver-validate-'))
    const nc = await connect({ servers: nats.url, noAsyncTraces: true })
    const jsm = await jetstreamManager(nc)
    const warnings: Record<string, unknown>[] = []
    const log = pino({ level: 'warn' }, { write: (s: string) => void warnings.push(JSON.parse(s)) })
    try {
      await jsm.streams.add({ name: stream, subjects: [`${id}.>`] })
      // every 3rd message is validated: #3 (bad trade), #6 (control, skipped), #9 (bad lifecycle);
      // #5 is not JSON but is not sampled, so nothing looks at it
      const payloads = [
        tradeFrame(1), tradeFrame(2),
        frame('trade', without(TRADE_CENTS, 'trade_id'), ',"_shard_id":0,"_received_at":1770480000000100'),
        tradeFrame(4), '{"type":"trade","msg":{"market_ticker"', '{"type":"subscribed","id":1,"msg":{"channel":"trade","sid":1}}',
        frame('ticker', TICKER), tradeFrame(8), frame('market_lifecycle_v2', without(LIFECYCLE, 'event_type')),
        frame('trade', TRADE_DOLLARS),
      ]
      const js = jetstream(nc)
      for (const p of payloads) await js.publish(`${id}.json.x.KXA`, p)
      const a = await startArchiver({
        natsUrl: nats.url, root, opsPort: null, upload: null, log, tuning: { validateEvery: 3 },
        streams: [{ name: 'main', stream, consumer: 'archiver', filter: `${id}.>`, feed: 'kalshi' }],
      })
      try {
        await waitFor(() => a.stats().streams.main?.written === payloads.length, `${payloads.length} written`)
        const metrics = await a.registry.metrics()
        const labels = 'feed="kalshi",stream="main"'
        expect(metrics).toContain(`ssmd_archiver_validated_total{${labels}} 2`)
        expect(metrics).toContain(`ssmd_archiver_validation_failures_total{${labels},message_type="trade"} 1`)
        expect(metrics).toContain(`ssmd_archiver_validation_failures_total{${labels},message_type="market_lifecycle_v2"} 1`)
        expect(metrics).not.toContain('message_type="invalid_json"')
      } finally {
        await a.stop()
      }
      // the second failure falls inside the warning interval: one log line, the metric has both
      const logged = warnings.filter((w) => w.msg === 'sampled message failed validation (archived unchanged)')
      expect(logged.map((w) => [w.seq, w.subject, w.message_type, w.problems, w.suppressed])).toEqual([
        [3, `${id}.json.x.KXA`, 'trade', ['msg.trade_id (string)'], 0],
      ])
      // every line is in the archive, byte for byte, with only _nats_seq appended
      const lines: string[] = []
      for await (const l of readArchive(await listArchiveFiles(root, { feed: 'kalshi', stream: 'main' }), { unwrapSeed: false })) lines.push(l)
      expect(lines).toEqual(payloads.map((p, i) => (p.endsWith('}') ? `${p.slice(0, -1)},"_nats_seq":${i + 1}}` : p)))
    } finally {
      await jsm.streams.delete(stream).catch(() => {})
      await nc.close()
      rmSync(root, { recursive: true, force: true })
    }
  }, 30_000)
})
