/** How `data replay --to nats` turns an archive line back into what the connector published. */
import { describe, expect, test } from 'bun:test'
import { ReplayPublisher, replayInstanceId, withoutArchiveSeq } from './data-publish.ts'

describe('withoutArchiveSeq', () => {
  test('removes the archive\'s trailing _nats_seq / _seq and keeps the connector\'s fields byte for byte', () => {
    const sent = '{"type":"ticker","msg":{"market_ticker":"KXA","_seq":1},"_shard_id":3,"_received_at":1770480000123456}'
    expect([
      withoutArchiveSeq(`${sent.slice(0, -1)},"_nats_seq":42}`),
      withoutArchiveSeq(`${sent.slice(0, -1)},"_seq":7}`),
      withoutArchiveSeq(sent),
      // only top-level trailing members that are integers: a nested or odd one stays
      withoutArchiveSeq('{"msg":{"_seq":1}}'),
      withoutArchiveSeq('{"a":1,"_seq":"x"}'),
    ]).toEqual([sent, sent, sent, '{"msg":{"_seq":1}}', '{"a":1,"_seq":"x"}'])
  })
})

describe('ReplayPublisher', () => {
  test('subject, payload and Nats-Msg-Id as the connector sets them', () => {
    const p = new ReplayPublisher('r.kalshi', 'replay-x')
    const rec = (line: string, n: number) => {
      const r = p.record(line, n, 0)
      return [r.subject, new TextDecoder().decode(r.payload), r.msgId]
    }
    expect([
      rec('{"type":"trade","msg":{"market_ticker":"A.B","trade_id":"t9"},"_shard_id":0,"_received_at":1,"_nats_seq":5}', 5),
      rec('{"type":"orderbook_snapshot","msg":{"market_ticker":"A B"},"_shard_id":0,"_received_at":1,"_seq":6}', 6),
      rec('{"type":"event_lifecycle","msg":{"event_ticker":"EV","market_ticker":"M"},"_nats_seq":7}', 7),
      rec('{"type":"ssmd_control","kind":"reconnect","ts_us":1,"_nats_seq":8}', 8),
      rec('{"type":"error","msg":{"code":1},"_nats_seq":9}', 9),
    ]).toEqual([
      ['r.kalshi.json.trade.A_B', '{"type":"trade","msg":{"market_ticker":"A.B","trade_id":"t9"},"_shard_id":0,"_received_at":1}', 'trade:t9'],
      ['r.kalshi.json.orderbook.A%20B', '{"type":"orderbook_snapshot","msg":{"market_ticker":"A B"},"_shard_id":0,"_received_at":1}', 'replay-x:6'],
      ['r.kalshi.json.event_lifecycle.EV', '{"type":"event_lifecycle","msg":{"event_ticker":"EV","market_ticker":"M"}}', 'replay-x:7'],
      ['r.kalshi.json.control.reconnect', '{"type":"ssmd_control","kind":"reconnect","ts_us":1}', 'replay-x:8'],
      ['r.kalshi.json.control.error', '{"type":"error","msg":{"code":1}}', 'replay-x:9'],
    ])
  })

  test('the instance id is the same for the same archive date and differs for another archive root', () => {
    const a = replayInstanceId('/data/a', 'kalshi', 'local', '2026-02-07')
    expect([a === replayInstanceId('/data/a/', 'kalshi', 'local', '2026-02-07'), a === replayInstanceId('/data/b', 'kalshi', 'local', '2026-02-07')]).toEqual([true, false])
    expect(a).toStartWith('replay-kalshi-local-2026-02-07-')
  })
})
