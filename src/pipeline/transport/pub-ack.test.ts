import { describe, expect, test } from 'bun:test'
import { msgIdHeader, parsePubAck, quickPubAck } from './pub-ack.ts'
import { SsmdError } from '../core/errors.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

describe('PubAck reading', () => {
  test('tells stored from duplicate acks without parsing, and leaves everything else to the parser', () => {
    const cases = [
      '{"stream":"DEV_KALSHI","seq":12}',
      '{"stream":"DEV_KALSHI","seq":13,"duplicate":true}',
      '{"stream":"DEV_KALSHI","domain":"hub","seq":14}',
      '{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}',
      '',
      'garbage',
    ]
    expect(cases.map((c) => quickPubAck(enc.encode(c)))).toEqual([0, 1, 0, -1, -1, -1])
    // a body inside a bigger buffer: only data[start, end) is read
    expect(cases.map((c) => quickPubAck(enc.encode(`}}}${c}{{{`), 3, 3 + enc.encode(c).length))).toEqual([0, 1, 0, -1, -1, -1])
  })

  test('parses error acks and rejects malformed ones with a typed error', () => {
    expect(parsePubAck(enc.encode('{"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"}}'))).toEqual({
      error: { code: 400, err_code: 10054, description: 'message size exceeds maximum allowed' },
    })
    expect(() => parsePubAck(enc.encode('{nope'))).toThrow(SsmdError)
  })
})

describe('msgIdHeader', () => {
  test('encodes a NATS header block with only Nats-Msg-Id, and keeps earlier slices intact', () => {
    const a = msgIdHeader('trade:123')
    const many = Array.from({ length: 20_000 }, (_, i) => msgIdHeader(`id:${i}:é`))
    expect(dec.decode(a)).toBe('NATS/1.0\r\nNats-Msg-Id: trade:123\r\n\r\n')
    expect(dec.decode(many[0])).toBe('NATS/1.0\r\nNats-Msg-Id: id:0:é\r\n\r\n')
    expect(dec.decode(many[19_999])).toBe('NATS/1.0\r\nNats-Msg-Id: id:19999:é\r\n\r\n')
  })

  test('refuses an empty id or one with CR/LF', () => {
    expect(() => msgIdHeader('')).toThrow(SsmdError)
    expect(() => msgIdHeader('a\r\nX-Evil: 1')).toThrow(SsmdError)
  })
})
