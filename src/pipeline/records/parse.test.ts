import { describe, expect, test } from 'bun:test'
import { invalidRecord } from '../connector/ingest.ts'
import { newParseStats, parseRecord } from './parse.ts'
import type { MarketRecord } from './types.ts'
import { simLines } from './fixture-sim.test.ts'

/** The fields both formats carry: cents ticker frames have second-resolution `ts` and no sizes. */
function comparable(r: MarketRecord | null): unknown {
  if (r === null) return null
  const { raw: _raw, ...rest } = r
  if (r.type !== 'ticker') return rest
  return { ...rest, ts: Math.floor(r.ts / 1000) * 1000, yesBidSize: null, yesAskSize: null }
}

describe('parseRecord', () => {
  test('the same market history parsed from cents, dollars and mixed frames gives equal records', () => {
    for (const seed of [1, 2, 3]) {
      const count = 3000
      const parsed = (['cents', 'dollars', 'mixed'] as const).map((format) =>
        simLines({ seed, count, format }).map((l) => comparable(parseRecord(l.line))))
      expect(parsed[1]).toEqual(parsed[0])
      expect(parsed[2]).toEqual(parsed[0])
      const types = new Set((parsed[0] as MarketRecord[]).map((r) => r.type))
      expect([...types].sort()).toEqual(['orderbook_delta', 'orderbook_snapshot', 'ticker', 'trade'])
    }
  })

  test('every record has both clocks in integer ms, and dollars frames keep the ms exchange time', () => {
    const lines = simLines({ seed: 7, count: 500, format: 'dollars' })
    for (const l of lines) {
      const r = parseRecord(l.line) as MarketRecord
      expect(Number.isInteger(r.ts) && Number.isInteger(r.receivedAt)).toBe(true)
      expect(r.receivedAt).toBe(l.ms)
      if (r.type === 'ticker' || r.type === 'orderbook_delta') expect(r.ts).toBe(l.ms)
      if (r.type === 'trade') expect(r.ts).toBe(Math.floor(l.ms / 1000) * 1000)
      expect(r.raw).toBe(l.line)
    }
  })

  test('a 2025 cents ticker frame and a 2026 dollars frame of the same quote give the same prices', () => {
    const cents = '{"type":"ticker","sid":3,"msg":{"market_ticker":"KX-A","price":57,"yes_bid":56,"yes_ask":58,"volume":120034,"open_interest":88210,"dollar_volume":60017,"dollar_open_interest":44105,"ts":1770480000,"Clock":6598270000},"_shard_id":1,"_received_at":1770480000123456,"_nats_seq":42}'
    const dollars = '{"type":"ticker","sid":3,"msg":{"market_ticker":"KX-A","price_dollars":"0.5700","yes_bid_dollars":"0.5600","yes_ask_dollars":"0.5800","yes_bid_size_fp":"10.00","yes_ask_size_fp":"2.50","volume_fp":"120034.00","open_interest_fp":"88210.00","dollar_volume":60017,"dollar_open_interest":44105,"ts":1770480000,"ts_ms":1770480000987,"time":"2026-02-07T16:00:00.987000Z"},"_seq":9}'
    const { raw: _a, ...a } = parseRecord(cents) as MarketRecord & Record<string, unknown>
    const { raw: _b, ...b } = parseRecord(dollars) as MarketRecord & Record<string, unknown>
    expect(a).toEqual({
      type: 'ticker', ticker: 'KX-A', ts: 1770480000000, receivedAt: 1770480000123, seq: undefined, sid: 3,
      shard: 1, natsSeq: 42, fileSeq: undefined, price: 0.57, yesBid: 0.56, yesAsk: 0.58, yesBidSize: null,
      yesAskSize: null, volume: 120034, openInterest: 88210, dollarVolume: 60017, dollarOpenInterest: 44105,
    })
    expect(b).toEqual({
      ...a, ts: 1770480000987, receivedAt: 0, shard: undefined, natsSeq: undefined, fileSeq: 9,
      yesBidSize: 10, yesAskSize: 2.5,
    })
  })

  test('an empty price_dollars and a zero price mean never traded', () => {
    const r = parseRecord('{"type":"ticker","msg":{"market_ticker":"X","price_dollars":"","price":0,"ts":1}}')
    expect(r).toMatchObject({ type: 'ticker', price: null, ts: 1000 })
  })

  test('legacy trades with price and side, new trades with only dollars strings and count_fp', () => {
    const legacy = parseRecord('{"type":"trade","sid":2,"seq":5,"msg":{"trade_id":"a","market_ticker":"X","price":55,"count":10,"side":"no","ts":1771080000}}')
    const modern = parseRecord('{"type":"trade","sid":2,"seq":6,"msg":{"trade_id":"b","market_ticker":"X","yes_price_dollars":"0.5500","no_price_dollars":"0.4500","count_fp":"10.50","taker_side":"yes","ts":1771080000,"ts_ms":1771080000555}}')
    expect(legacy).toMatchObject({ type: 'trade', seq: 5, yesPrice: 0.55, noPrice: 0.45, count: 10, takerSide: 'no', ts: 1771080000000 })
    expect(modern).toMatchObject({ type: 'trade', seq: 6, yesPrice: 0.55, noPrice: 0.45, count: 10.5, takerSide: 'yes', ts: 1771080000555 })
  })

  test('orderbook deltas take their RFC 3339 time, lifecycle frames their event time in seconds', () => {
    const d = parseRecord('{"type":"orderbook_delta","sid":4,"seq":9,"msg":{"market_ticker":"X","price":40,"delta":-3,"side":"no","ts":"2026-02-07T16:00:00.123456Z"}}')
    expect(d).toMatchObject({ type: 'orderbook_delta', price: 0.4, delta: -3, side: 'no', ts: Date.UTC(2026, 1, 7, 16, 0, 0, 123) })
    const l = parseRecord('{"type":"market_lifecycle_v2","sid":13,"seq":279597,"msg":{"market_ticker":"X","event_type":"determined","result":"no","settlement_value":"0.0000","determination_ts":1784501722}}')
    expect(l).toMatchObject({ type: 'market_lifecycle_v2', eventType: 'determined', result: 'no', settlementValue: 0, ts: 1784501722000 })
  })

  test('seed 001 wrapped lines are unwrapped, their ts becoming the receive time', () => {
    const r = parseRecord('{"ts":"2025-12-20T10:00:00.5Z","feed":"kalshi","data":{"type":"trade","msg":{"market_ticker":"X","yes_price":30,"count":2,"taker_side":"yes","ts":1766224800}}}')
    expect(r).toMatchObject({ type: 'trade', ticker: 'X', receivedAt: Date.UTC(2025, 11, 20, 10, 0, 0, 500), yesPrice: 0.3, count: 2 })
  })

  test('control and unknown frames become counted other records; non-JSON lines are counted and skipped', () => {
    const stats = newParseStats()
    const lines = ['{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":42}}', '{"type":"event_lifecycle","msg":{"event_ticker":"E"}}', 'not json', '[1]', '{"type":"ticker","msg":{"market_ticker":"X","ts":1}}']
    const rs = lines.map((l) => parseRecord(l, {}, stats))
    expect(rs.map((r) => (r === null ? null : r.type === 'other' ? `other:${r.frameType}` : r.type))).toEqual(['other:subscribed', 'other:event_lifecycle', null, null, 'ticker'])
    expect(stats).toEqual({ lines: 5, records: 3, malformed: 2, byType: { subscribed: 1, event_lifecycle: 1, ticker: 1 } })
  })

  test('a malformed frame as the connector forwards it (verbatim in an invalid control record) and archives it is a counted other record with its stamps and sequence, not malformed', () => {
    const frame = '{"type":"orderbook_delta","sid":3,"msg":{"market_ticker":'
    const record = invalidRecord(frame)
    const line = `${record.slice(0, -1)},"_shard_id":2,"_received_at":1770480000123456,"_nats_seq":77}`
    const stats = newParseStats()
    const r = parseRecord(line, {}, stats)
    expect(r).toMatchObject({ type: 'other', frameType: 'ssmd_control', ticker: '', shard: 2, receivedAt: 1770480000123, natsSeq: 77, raw: line })
    expect(JSON.parse((r as { raw: string }).raw).raw).toBe(frame)
    expect(stats).toEqual({ lines: 1, records: 1, malformed: 0, byType: { ssmd_control: 1 } })
  })

  test('the live message sequence and time override what the line lacks', () => {
    const r = parseRecord('{"type":"ticker","msg":{"market_ticker":"X","ts":1}}', { natsSeq: 77, receivedAt: 1234 })
    expect(r).toMatchObject({ natsSeq: 77, receivedAt: 1234 })
  })
})
