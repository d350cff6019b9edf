import { describe, expect, test } from 'bun:test'
import { encodeBatch, rfc3339Micros, scanFrame, stripInjected, unwrapSeedLine } from './line.ts'

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8')
const bytes = (s: string) => new TextEncoder().encode(s)

describe('archive lines', () => {
  test('appends the suffix and sequence before the final brace without re-serialising', () => {
    const frame = '{"type":"trade", "sid":2,"msg":{"market_ticker":"KX-1","yes_price_dollars":"0.5500"},"_shard_id":0,"_received_at":1771234567890123}'
    const { buf, unterminated } = encodeBatch([{ payload: bytes(frame), seq: 4412203 }, { payload: '{"a":"é"}', seq: 7, suffix: '"x":1' }], '_nats_seq')
    expect([text(buf), unterminated]).toEqual([
      `${frame.slice(0, -1)},"_nats_seq":4412203}\n{"a":"é","x":1,"_nats_seq":7}\n`,
      0,
    ])
  })

  test('reads only payload[start, end) of a record given a range (a message inside a socket chunk)', () => {
    const chunk = bytes('MSG a 1 9\r\n{"a":1}\r\nMSG b 1 9\r\n{"bb":2}\r\n')
    const at = (s: string) => Buffer.from(chunk).indexOf(s)
    const { buf } = encodeBatch([
      { payload: chunk, start: at('{"a"'), end: at('{"a"') + 7, seq: 1 },
      { payload: chunk, start: at('{"bb"'), end: at('{"bb"') + 8, seq: 2 },
    ], '_nats_seq')
    expect(text(buf)).toEqual('{"a":1,"_nats_seq":1}\n{"bb":2,"_nats_seq":2}\n')
  })

  test('writes a payload that does not end in a brace unchanged and counts it', () => {
    const { buf, unterminated } = encodeBatch([{ payload: 'not json', seq: 1 }, { payload: '[1,2]', seq: 2 }], '_seq')
    expect([text(buf), unterminated]).toEqual(['not json\n[1,2]\n', 2])
  })

  test('drops trailing whitespace, handles an empty object, and writes records without a seq as they are', () => {
    const { buf } = encodeBatch([{ payload: '{"a":1}\r\n', seq: 1 }, { payload: '{ }', seq: 2 }, { payload: '{"b":2}' }], '_seq')
    expect(text(buf)).toEqual('{"a":1,"_seq":1}\n{ "_seq":2}\n{"b":2}\n')
  })

  test('appends nothing when the writer has no seq field', () => {
    expect(text(encodeBatch([{ payload: '{"a":1}', seq: 9 }], null).buf)).toEqual('{"a":1}\n')
  })

  test('visits each payload for the manifest scan', () => {
    const seen: string[] = []
    encodeBatch([{ payload: '{"type":"ticker"}', seq: 1 }, { payload: 'x' }], '_seq', (b, s, e) => seen.push(b.toString('utf8', s, e)))
    expect(seen).toEqual(['{"type":"ticker"}', 'x'])
  })

  test('finds type and ticker by scanning, and falls back to JSON.parse', () => {
    const scan = (s: string) => scanFrame(Buffer.from(s))
    expect([
      scan('{"type":"market_lifecycle_v2","sid":1,"msg":{"event_type":"settled","market_ticker":"KX-A"}}'),
      scan('{"type": "trade", "msg": {"market_ticker": "KX-B"}}'),
      scan('{"type":"event_lifecycle","msg":{"event_ticker":"E"}}'),
      scan('garbage'),
    ]).toEqual([
      { type: 'market_lifecycle_v2', ticker: 'KX-A', parsed: false },
      { type: 'trade', ticker: 'KX-B', parsed: true },
      { type: 'event_lifecycle', ticker: null, parsed: false },
      { type: 'unknown', ticker: null, parsed: true },
    ])
  })

  test('stripInjected gives back the original frame and leaves nested fields alone', () => {
    const frame = '{"type":"ticker","msg":{"market_ticker":"KX","_seq":3}}'
    expect([
      stripInjected(`${frame.slice(0, -1)},"_shard_id":1,"_received_at":1771234567890123,"_nats_seq":12}`),
      stripInjected(`${frame.slice(0, -1)},"_seq":-1}\n`),
      stripInjected(frame),
      stripInjected('{"_seq":5}'),
      stripInjected('{"a":1,"_seq":"x"}'),
      stripInjected('{"a":1,"_other":5}'),
      stripInjected('not json'),
    ]).toEqual([frame, frame, frame, '{}', '{"a":1,"_seq":"x"}', '{"a":1,"_other":5}', 'not json'])
  })

  test('unwraps a seed 001 line to its frame with the receive time in microseconds', () => {
    const frame = '{"type":"ticker","sid":1,"msg":{"market_ticker":"KX"}}'
    const fast = unwrapSeedLine(`{"ts":"2025-12-22T10:30:00.123456789Z","feed":"kalshi","data":${frame}}`)
    const slow = unwrapSeedLine(`{"feed":"kalshi","ts":"2025-12-22T10:30:00Z", "data": ${frame}}`)
    expect([fast, slow, unwrapSeedLine(frame)]).toEqual([
      '{"type":"ticker","sid":1,"msg":{"market_ticker":"KX"},"_received_at":1766399400123456}',
      null,
      null,
    ])
    expect(unwrapSeedLine(`{"ts":"2025-12-22T10:30:00Z", "feed":"kalshi", "data": ${frame} }`)).toEqual(
      '{"type":"ticker","sid":1,"msg":{"market_ticker":"KX"},"_received_at":1766399400000000}',
    )
    expect(stripInjected(fast as string)).toEqual(frame)
  })

  test('parses RFC 3339 times to microseconds, keeping sub-millisecond digits and offsets', () => {
    expect([rfc3339Micros('2025-12-22T10:30:00Z'), rfc3339Micros('2025-12-22T10:30:00.5Z'), rfc3339Micros('2025-12-22T11:30:00.000001+01:00')]).toEqual([
      1766399400000000, 1766399400500000, 1766399400000001,
    ])
  })
})
