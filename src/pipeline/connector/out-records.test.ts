import { describe, expect, test } from 'bun:test'
import { KIND_TICKER, KIND_TRADE } from '../../hot/subject.ts'
import { OutRecordFactory, tradeMsgId } from './out-records.ts'

const enc = new TextEncoder()
const trade = (id: string, pad = '') =>
  enc.encode(`{"type":"trade","sid":2,"seq":9,"msg":{${pad}"trade_id":"${id}","market_ticker":"KXBTCD-26JAN23-T99","yes_price_dollars":"0.4400","count_fp":"3.00","taker_side":"yes","ts":1769187600}}`)

describe('OutRecordFactory', () => {
  test('trades dedupe by trade_id, everything else by instance and a counter', () => {
    const f = new OutRecordFactory('c1')
    const a = f.make('s.trade.X', trade('7f3a2b10-0c4e-4d2a-9a7b-1f2e3d4c5b6a'), 1, KIND_TRADE)
    const b = f.make('s.ticker.X', enc.encode('{"type":"ticker","msg":{"trade_id":"zz"}}'), 2, KIND_TICKER)
    const c = f.make('s.trade.X', enc.encode('{"type":"trade","msg":{}}'), 3, KIND_TRADE)
    expect([a.msgId, b.msgId, c.msgId]).toEqual(['trade:7f3a2b10-0c4e-4d2a-9a7b-1f2e3d4c5b6a', 'c1:2', 'c1:3'])
    expect([a.seq, b.seq, c.seq, f.count]).toEqual([1, 2, 3, 3])
  })

  test('tradeMsgId reads the id from the bytes as JSON.parse does, and gives up on what it cannot read raw', () => {
    for (const id of ['t-1', 'é中-😀-9', 'x'.repeat(128)]) {
      const p = trade(id)
      expect(tradeMsgId(p)).toBe(`trade:${(JSON.parse(new TextDecoder().decode(p)) as { msg: { trade_id: string } }).msg.trade_id}`)
    }
    expect(tradeMsgId(trade('x'.repeat(129)))).toBe('') // too long for a dedupe id
    expect(tradeMsgId(trade('a\\"b'))).toBe('') // an escape: the raw bytes are not the id
    expect(tradeMsgId(trade('\\u0041'))).toBe('')
    expect(tradeMsgId(trade('late', `"pad":"${'p'.repeat(500)}",`))).toBe('') // beyond the first 512 bytes
    expect(tradeMsgId(enc.encode('{"type":"trade","msg":{"trade_id":"unterminated'))).toBe('')
    expect(tradeMsgId(enc.encode('{"type":"trade","msg":{"side":"yes"}}'))).toBe('')
    const inside = trade('t-2')
    const before = enc.encode('"trade_id":"old"')
    const chunk = new Uint8Array(before.length + inside.length + 20)
    chunk.set(before, 0)
    chunk.set(inside, before.length)
    expect(tradeMsgId(chunk.subarray(before.length, before.length + inside.length))).toBe('trade:t-2') // a view: nothing before it is read
    expect(tradeMsgId(chunk.subarray(before.length, before.length + 30))).toBe('') // nor after it
  })
})
