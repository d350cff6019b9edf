import { describe, expect, test } from 'bun:test'
import { msgIdHeader } from './pub-ack.ts'
import { PublishBatch } from './publish-batch.ts'

/** A stand-in for nats.js's connection: only what PublishBatch touches, recording what it is sent. */
function fakeConnection(info: { max_payload?: number; headers?: boolean } = { max_payload: 1024 * 1024, headers: true }) {
  const sent: string[] = []
  const nc = {
    closed: false,
    isClosed() {
      return this.closed
    },
    protocol: {
      info,
      noMorePublishing: false,
      sendCommand: (b: Uint8Array) => void sent.push(new TextDecoder().decode(b)),
    },
  }
  return { nc, sent }
}

const payload = (s: string) => new TextEncoder().encode(s)

describe('PublishBatch', () => {
  test('writes the HPUB lines nats.js writes for publish(subject, payload, {reply, headers}), all in one send', () => {
    const { nc, sent } = fakeConnection()
    const b = PublishBatch.attach(nc, '_INBOX.abc.')!
    const h1 = msgIdHeader('inst:1')
    const h2 = msgIdHeader('trade:t-9')
    b.add('dev.kalshi.json.ticker.KXA', 1, h1, payload('{"a":1}'))
    b.add('dev.kalshi.json.trade.KXBTCD-26FEB07-T97499_99', 1234567, h2, payload('{"type":"trade"}'))
    expect(b.count).toBe(2)
    b.send()
    const hdr1 = 'NATS/1.0\r\nNats-Msg-Id: inst:1\r\n\r\n'
    const hdr2 = 'NATS/1.0\r\nNats-Msg-Id: trade:t-9\r\n\r\n'
    expect(sent).toEqual([
      `HPUB dev.kalshi.json.ticker.KXA _INBOX.abc.1 ${hdr1.length} ${hdr1.length + 7}\r\n${hdr1}{"a":1}\r\n` +
      `HPUB dev.kalshi.json.trade.KXBTCD-26FEB07-T97499_99 _INBOX.abc.1234567 ${hdr2.length} ${hdr2.length + 16}\r\n${hdr2}{"type":"trade"}\r\n`,
    ])
    b.send()
    expect(sent.length).toBe(1) // nothing buffered: nothing sent
  })

  test('addWithMsgId writes the bytes of add(…, msgIdHeader(id), …), for ASCII and non-ASCII ids, and refuses an id with CR/LF (nothing appended)', () => {
    const a = fakeConnection()
    const b = fakeConnection()
    const pa = PublishBatch.attach(a.nc, '_INBOX.x.')!
    const pb = PublishBatch.attach(b.nc, '_INBOX.x.')!
    const ids = ['inst:1', 'trade:7f3a-é', 'i:中文😀', `c1a2:${2 ** 40}`, 'x'.repeat(300)]
    ids.forEach((id, i) => {
      pa.add(`dev.kalshi.json.trade.T${i}`, i + 1, msgIdHeader(id), payload(`{"i":${i}}`))
      pb.addWithMsgId(`dev.kalshi.json.trade.T${i}`, i + 1, id, payload(`{"i":${i}}`))
    })
    expect(() => pb.addWithMsgId('s', 9, 'a\r\nX-Evil: 1', payload('{}'))).toThrow('Nats-Msg-Id must be non-empty without CR/LF')
    expect(() => pb.addWithMsgId('s', 9, '', payload('{}'))).toThrow('Nats-Msg-Id must be non-empty')
    expect(pb.count).toBe(ids.length)
    pa.send()
    pb.send()
    expect(b.sent).toEqual(a.sent)
    expect(b.sent[0]).toContain('Nats-Msg-Id: i:中文😀\r\n')
  })

  test('encodes non-ASCII subjects as UTF-8 and grows past its first buffer', () => {
    const { nc, sent } = fakeConnection()
    const b = PublishBatch.attach(nc, 'r.')!
    const big = 'x'.repeat(200_000)
    const h = 'NATS/1.0\r\nNats-Msg-Id: m\r\n\r\n'
    b.add('s.é', 7, msgIdHeader('m'), payload(big))
    b.send()
    expect(sent).toEqual([`HPUB s.é r.7 ${h.length} ${h.length + big.length}\r\n${h}${big}\r\n`])
  })

  test('refuses what nc.publish refuses, naming why, and keeps what was added before', () => {
    const { nc, sent } = fakeConnection({ max_payload: 64, headers: true })
    const b = PublishBatch.attach(nc, 'r.')!
    b.add('ok', 1, msgIdHeader('a'), payload('{}'))
    const errors = [
      () => b.add('has space', 2, msgIdHeader('b'), payload('{}')),
      () => b.add('', 2, msgIdHeader('b'), payload('{}')),
      () => b.add('big', 2, msgIdHeader('b'), payload('y'.repeat(64))),
    ].map((f) => {
      try {
        f()
        return 'no error'
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`
      }
    })
    expect(errors).toEqual([
      'RECORD_REJECTED: invalid subject "has space" (empty or with whitespace)',
      'RECORD_REJECTED: invalid subject "" (empty or with whitespace)',
      `RECORD_REJECTED: a ${msgIdHeader('b').length + 64}-byte message on big exceeds the server's max_payload of 64 bytes`,
    ])
    b.send()
    const h = 'NATS/1.0\r\nNats-Msg-Id: a\r\n\r\n'
    expect(sent).toEqual([`HPUB ok r.1 ${h.length} ${h.length + 2}\r\n${h}{}\r\n`])
    nc.closed = true
    expect(() => b.add('ok', 3, msgIdHeader('c'), payload('{}'))).toThrow('the NATS connection is closed or draining')
  })

  test('is off with SSMD_NATS_BATCH_PUBLISH=0 or without the nats.js internals it needs', () => {
    const { nc } = fakeConnection()
    expect(PublishBatch.attach(nc, 'r.', { SSMD_NATS_BATCH_PUBLISH: '0' })).toBeNull()
    expect(PublishBatch.attach({ isClosed: () => false }, 'r.')).toBeNull()
    expect(PublishBatch.attach(nc, 'r.', {})).not.toBeNull()
  })
})
