import { expect, test } from 'bun:test'
import { makeCorpus } from '../../hot/fixture-frames.ts'
import { Prng } from '../../hot/fixture-prng.ts'
import { Ingest, KIND_CONTROL, type RecordOut } from './ingest.ts'

class ListOut implements RecordOut {
  records: { subject: string; payload: string; kind: number }[] = []
  full = false
  pushParts(subject: string, frame: string, end: number, suffix: string, _t: number, kind: number): boolean {
    if (this.full) return false
    this.records.push({ subject, payload: frame.slice(0, end) + suffix, kind })
    return true
  }
  pushFrame(subject: Uint8Array, frame: Uint8Array, start: number, end: number, shardId: number, t: number, kind: number): boolean {
    if (this.full) return false
    const td = new TextDecoder()
    this.records.push({ subject: td.decode(subject), payload: `${td.decode(frame.subarray(start, end))},"_shard_id":${shardId},"_received_at":${t}}`, kind })
    return true
  }
  /** As Ring.pushFrameTicker: the token's bytes before mapFrom as they are, the rest through the map. */
  pushFrameTicker(head: Uint8Array, frame: Uint8Array, a: number, e: number, map: Uint8Array, start: number, end: number, shardId: number, t: number, kind: number, mapFrom: number): boolean {
    if (!(a <= mapFrom && mapFrom <= e)) throw new Error(`mapFrom ${mapFrom} outside the token [${a}, ${e})`)
    const token = [...frame.subarray(a, mapFrom), ...Array.from(frame.subarray(mapFrom, e), (b) => map[b])]
    return this.pushFrame(Uint8Array.from([...head, ...token]), frame, start, end, shardId, t, kind)
  }
}

function make() {
  const out = new ListOut()
  const seen = { gaps: [] as unknown[], invalid: 0, unknown: [] as string[], types: [] as string[] }
  const ingest = new Ingest('t.kalshi', out, {
    gap: (shard, conn, sid, expected, got) => seen.gaps.push({ shard, conn, sid, expected, got }),
    frame: (_s, type) => seen.types.push(type),
    invalid: () => seen.invalid++,
    unknown: (_s, type) => seen.unknown.push(type),
  })
  return { ingest, out, seen }
}

test('a data frame goes to its subject with _shard_id and _received_at appended, bytes untouched', () => {
  const { ingest, out } = make()
  const f = '{"type":"trade","sid":2,"seq":1,"msg":{"trade_id":"u1","market_ticker":"KXBTCD-26JAN2317-T102249.99","count_fp":"1.00"}}'
  expect(ingest.frame(3, 'c1', f, 1_700_000_000_000_123)).toBe(-1)
  expect(out.records).toEqual([
    { subject: 't.kalshi.json.trade.KXBTCD-26JAN2317-T102249_99', payload: `${f.slice(0, -1)},"_shard_id":3,"_received_at":1700000000000123}`, kind: 1 },
  ])
})

test('control replies return their command id and are not published', () => {
  const { ingest, out } = make()
  expect(ingest.frame(0, 'c1', '{"type":"subscribed","id":7,"msg":{"channel":"ticker","sid":1}}', 1)).toBe(7)
  expect(ingest.frame(0, 'c1', '{"type":"error","id":8,"msg":{"code":6,"msg":"Already subscribed"}}', 1)).toBe(8)
  expect(out.records).toEqual([])
})

test('unknown types, data frames without a ticker and unparseable frames go to control subjects, counted', () => {
  const { ingest, out, seen } = make()
  ingest.frame(0, 'c1', '{"type":"multivariate","sid":9,"msg":{"x":1}}', 1)
  ingest.frame(0, 'c1', '{"type":"ticker","sid":1,"msg":{"price":5}}', 1)
  ingest.frame(0, 'c1', '{"type":"ticker","msg":{"market_ticker":"A"', 1)
  ingest.frame(0, 'c1', '{"type":"error","msg":{"code":17,"msg":"internal"}}', 1)
  expect(out.records.map((r) => [r.subject, r.kind])).toEqual([
    ['t.kalshi.json.control.unknown', KIND_CONTROL],
    ['t.kalshi.json.control.unknown', KIND_CONTROL],
    ['t.kalshi.json.control.invalid', KIND_CONTROL],
    ['t.kalshi.json.control.error', KIND_CONTROL],
  ])
  // the frame verbatim inside a JSON object, stamped like any frame
  expect(out.records[2].payload).toBe('{"type":"ssmd_control","kind":"invalid","reason":"not a JSON object","raw":"{\\"type\\":\\"ticker\\",\\"msg\\":{\\"market_ticker\\":\\"A\\"","_shard_id":0,"_received_at":1}')
  expect(JSON.parse(out.records[2].payload).raw).toBe('{"type":"ticker","msg":{"market_ticker":"A"')
  expect([seen.unknown, seen.invalid]).toEqual([['multivariate', 'ticker:no-ticker'], 1])
})

test('a seq gap per (connection, sid) is reported once, and a new connection starts afresh', () => {
  const { ingest, seen } = make()
  const f = (sid: number, seq: number) => `{"type":"orderbook_delta","sid":${sid},"seq":${seq},"msg":{"market_ticker":"M"}}`
  for (const [sid, seq] of [[1, 1], [1, 2], [2, 1], [1, 5], [2, 2], [1, 6]]) ingest.frame(0, 'c1', f(sid, seq), 1)
  ingest.seq.resetConnection('c1')
  ingest.frame(0, 'c2', f(1, 1), 1)
  expect(seen.gaps).toEqual([{ shard: 0, conn: 'c1', sid: 1, expected: 3, got: 5 }])
})

test('a full ring keeps frames waiting in order, never drops them, and counts the back-pressure', () => {
  const { ingest, out } = make()
  const f = (i: number) => `{"type":"ticker","sid":1,"msg":{"market_ticker":"M${i}"}}`
  ingest.frame(0, 'c1', f(0), 1)
  out.full = true
  for (let i = 1; i <= 3; i++) ingest.frame(0, 'c1', f(i), 1)
  expect([ingest.waiting, ingest.backpressureEvents, out.records.length]).toEqual([3, 3, 1])
  out.full = false
  ingest.frame(0, 'c1', f(4), 1) // still queued behind the waiting ones
  expect(ingest.drainOverflow()).toBe(0)
  expect(out.records.map((r) => r.subject.split('.').pop())).toEqual(['M0', 'M1', 'M2', 'M3', 'M4'])
})

test('frames as bytes (the raw WebSocket path) give exactly the records, gaps and replies of the text path', () => {
  const corpus = makeCorpus(new Prng(7), 3000)
  const odd = [
    '{"id":4,"type":"subscribed","msg":{"channel":"ticker","sid":9}}',
    '{"type":"error","msg":{"code":6,"msg":"Already subscribed"}}',
    '{"type":"multivariate","sid":3,"seq":1,"msg":{}}',
    '{"type":"ticker","sid":1,"seq":5,"msg":{}}',
    'not json',
    '{"type":"ticker","sid":1,"seq":6,"msg":{"market_ticker":"K\\u00c9-\\"X"}}',
    '{"type":"trade","sid":2,"seq":9,"msg":{"market_ticker":"KXÉTÉ-1","trade_id":"t"}}',
    '{"type":"trade","sid":2,"seq":10,"msg":{"market_ticker":"A_B%C*D>E.F G","trade_id":"t"}}',
    '{"type":"ticker","sid":1,"seq":7,"msg":{"market_ticker":""}}',
    '{"type":"ticker","sid":1,"seq":8,"msg":{"market_ticker":"KX.A.B-1.5"}}',
    '{"type":"event_lifecycle","sid":4,"seq":1,"msg":{"event_ticker":"KXEV.1-26","title":"t"}}',
    '{"type":"event_lifecycle","sid":4,"seq":2,"msg":{"event_ticker":"KX_EV","title":"t"}}',
  ]
  const frames = [...corpus.slice(0, 1500), ...odd, ...corpus.slice(1500)]
  const text = make()
  const bytes = make()
  const enc = new TextEncoder()
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]
    const a = text.ingest.frame(1, 'c1', f, 1_700_000_000_000_000 + i)
    // the frame inside a larger read, as the socket delivers it
    const buf = enc.encode(`xx${f}yyy`)
    const b = bytes.ingest.frameBytes(1, 'c1', buf, 2, buf.length - 3, 1_700_000_000_000_000 + i)
    expect(b).toBe(a)
  }
  expect(bytes.out.records).toEqual(text.out.records)
  expect(bytes.seen).toEqual(text.seen)
})

test('bytes that find the ring full wait (copied) in order with text frames, never dropped', () => {
  const { ingest, out } = make()
  const enc = new TextEncoder()
  const f = (i: number) => `{"type":"ticker","sid":1,"msg":{"market_ticker":"M${i}.5${i === 3 ? '_x' : ''}"}}`
  out.full = true
  const buf = enc.encode(f(1))
  ingest.frameBytes(0, 'c1', buf, 0, buf.length, 1)
  buf.fill(0x20) // the socket reuses its read buffer
  ingest.frame(0, 'c1', f(2), 1)
  const b3 = enc.encode(f(3))
  ingest.frameBytes(0, 'c1', b3, 0, b3.length, 1)
  out.full = false
  expect(ingest.drainOverflow()).toBe(0)
  expect(out.records.map((r) => r.payload)).toEqual([1, 2, 3].map((i) => `${f(i).slice(0, -1)},"_shard_id":0,"_received_at":1}`))
  expect(out.records.map((r) => r.subject)).toEqual(['t.kalshi.json.ticker.M1_5', 't.kalshi.json.ticker.M2_5', 't.kalshi.json.ticker.M3_5%5Fx'])
})
