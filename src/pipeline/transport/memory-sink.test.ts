import { describe, expect, test } from 'bun:test'
import { MemorySink, type StoredRecord } from './memory-sink.ts'
import { runSinkContract } from './sink.contract.ts'
import { SsmdError } from '../core/errors.ts'

const enc = new TextEncoder()
const rec = (subject: string, msgId: string) => ({ subject, payload: enc.encode(msgId), msgId })

runSinkContract(
  'MemorySink',
  async () => ({ sink: new MemorySink(), prefix: 'mem' }),
  async (u) => [...u.sink.records()],
)

describe('MemorySink', () => {
  test('delivers records to subscribers whose pattern covers the subject, in write order', () => {
    const sink = new MemorySink()
    const got: Record<string, string[]> = { all: [], trades: [], one: [] }
    sink.subscribe('dev.>', (r) => got.all.push(r.msgId))
    sink.subscribe('dev.json.trade.*', (r) => got.trades.push(r.msgId))
    const off = sink.subscribe('dev.json.ticker.A', (r) => got.one.push(r.msgId))
    sink.write([rec('dev.json.trade.A', '1'), rec('dev.json.ticker.A', '2'), rec('other.json.trade.A', '3')])
    off()
    sink.write([rec('dev.json.ticker.A', '4'), rec('dev.json.trade.B.x', '5')])
    expect(got).toEqual({ all: ['1', '2', '4', '5'], trades: ['1'], one: ['2'] })
  })

  test('numbers stored records from 1 and counts duplicates', () => {
    const sink = new MemorySink()
    sink.write([rec('a.b', 'x'), rec('a.b', 'x'), rec('a.c', 'y')])
    expect(sink.records().map((r: StoredRecord) => [r.seq, r.msgId])).toEqual([[1, 'x'], [2, 'y']])
    expect(sink.stats()).toEqual({ written: 3, accepted: 3, pending: 0, stored: 2, duplicates: 1 })
  })

  test('keeps at most maxRecords and forgets msgIds beyond the duplicate window', () => {
    const sink = new MemorySink({ maxRecords: 3, duplicateWindowRecords: 2 })
    sink.write(['1', '2', '3', '4', '5'].map((id) => rec('a.b', id)))
    sink.write([rec('a.b', '1'), rec('a.b', '5')])
    expect(sink.records().map((r) => r.msgId)).toEqual(['4', '5', '1'])
  })

  test('rejects invalid options with a message naming the option', () => {
    let err: unknown
    try {
      new MemorySink({ maxRecords: 0 })
    } catch (e) {
      err = e
    }
    expect(SsmdError.is(err)).toBe(true)
    expect((err as Error).message).toBe('options.maxRecords must be a positive integer (got 0)')
  })
})
