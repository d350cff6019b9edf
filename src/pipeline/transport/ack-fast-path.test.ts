import { describe, expect, test } from 'bun:test'
import { connect } from '@nats-io/transport-node'
import { createInbox } from '@nats-io/nats-core'
import { needService, uniqueId } from '../../../test/services.ts'
import { Prng } from '../../hot/fixture-prng.ts'
import { waitFor } from '../core/wait.ts'
import { AckFastPath, installAckFastPath, type ProtocolParser } from './ack-fast-path.ts'
import { ProtocolTap } from './protocol-tap.ts'

const te = new TextEncoder()
const td = new TextDecoder()
const INBOX = '_INBOX.K1XQ7ZP3.'
const SID = 7

/** A protocol byte stream: acks for our inbox/sid mixed with every other kind of unit. */
function stream(prng: Prng, count: number): { bytes: Uint8Array; acks: [number, string][]; others: string } {
  const acks: [number, string][] = []
  let others = ''
  let all = ''
  for (let i = 0; i < count; i++) {
    const pick = below(prng, 10)
    let unit: string
    if (pick < 5) {
      const n = below(prng, 1_000_000)
      const body = below(prng, 4) === 0 ? '{"stream":"S","seq":12,"duplicate":true}' : `{"stream":"S","seq":${n}}`
      // nats-server 2.9 writes an empty reply field (two spaces); newer servers one space
      unit = `MSG ${INBOX}${n} ${SID} ${below(prng, 2) === 0 ? ' ' : ''}${body.length}\r\n${body}\r\n`
      acks.push([n, body])
    } else {
      const body = 'x'.repeat(below(prng, 40))
      unit = [
        'PING\r\n', 'PONG\r\n', '+OK\r\n', "-ERR 'Stale Connection'\r\n", 'INFO {"server_id":"X","headers":true}\r\n',
        `MSG ${INBOX}${i} ${SID + 1} ${body.length}\r\n${body}\r\n`, // same inbox, another subscription
        `MSG other.subject ${SID} ${body.length}\r\n${body}\r\n`, // our sid, not our inbox
        `MSG ${INBOX}${i} ${SID} reply.to ${body.length}\r\n${body}\r\n`, // a reply token: not an ack
        `HMSG ${INBOX}${i} ${SID} 16 16\r\nNATS/1.0 503\r\n\r\n\r\n`, // a 503 status goes through nats.js
      ][below(prng, 9)]
      others += unit
    }
    all += unit
  }
  return { bytes: te.encode(all), acks, others }
}

/** Integer in [0, n). */
const below = (prng: Prng, n: number) => prng.int(0, n - 1)

class Recorder implements ProtocolParser {
  text = ''
  calls = 0
  parse(buf: Uint8Array): void {
    this.calls++
    this.text += td.decode(buf)
  }
}

describe('AckFastPath', () => {
  test('takes our acks and hands every other unit over whole and in order, however the chunks are cut', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const prng = new Prng(seed)
      const { bytes, acks, others } = stream(prng, 60)
      const inner = new Recorder()
      const got: [number, string][] = []
      const fast = new AckFastPath(inner, te.encode(INBOX), SID, (n, b, s, e) => got.push([n, td.decode(b.subarray(s, e))]))
      for (let at = 0; at < bytes.length;) {
        const size = below(prng, 3) === 0 ? 1 + below(prng, 8) : 1 + below(prng, 300)
        fast.parse(bytes.slice(at, at + size))
        at += size
      }
      expect(got).toEqual(acks)
      expect(inner.text).toBe(others)
      expect(fast.acks).toBe(acks.length)
    }
  })

  test('acks and other units keep their relative order', () => {
    const order: string[] = []
    const inner: ProtocolParser = { parse: (b) => void order.push(`inner:${td.decode(b).trim()}`) }
    const fast = new AckFastPath(inner, te.encode(INBOX), SID, (n) => void order.push(`ack:${n}`))
    fast.parse(te.encode(`PING\r\nMSG ${INBOX}1 ${SID} 2\r\n{}\r\nPONG\r\nMSG ${INBOX}2 ${SID} 2\r\n{}\r\n`))
    expect(order).toEqual(['inner:PING', 'ack:1', 'inner:PONG', 'ack:2'])
  })

  test('off switch and a client without the internals leave nats.js alone', () => {
    expect(installAckFastPath({}, INBOX, SID, () => {})).toBe(false)
    const protocol = { parser: new Recorder() }
    expect(installAckFastPath({ protocol }, INBOX, SID, () => {}, { SSMD_NATS_ACK_FAST_PATH: '0' })).toBe(false)
    expect(protocol.parser).toBeInstanceOf(Recorder)
  })
})

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`installAckFastPath on a real connection (${nats.reason})`, () => {
  test('replies to our inbox arrive through the fast path, other traffic through nats.js, also after the parser is replaced', async () => {
    const nc = await connect({ servers: nats.url, noAsyncTraces: true })
    const subject = `${uniqueId('afp')}.echo`
    try {
      nc.subscribe(subject, { callback: (_e, m) => void m.respond(m.data) })
      const inbox = `${createInbox()}.`
      const slow: number[] = []
      const sub = nc.subscribe(`${inbox}>`, { callback: (_e, m) => void slow.push(Number(m.subject.slice(inbox.length))) })
      const fast: [number, string][] = []
      expect(installAckFastPath(nc, inbox, sub.getID(), (n, b, s, e) => void fast.push([n, td.decode(b.subarray(s, e))]))).toBe(true)
      for (let n = 1; n <= 50; n++) nc.publish(subject, `b${n}`, { reply: `${inbox}${n}` })
      await waitFor(() => fast.length === 50, '50 replies through the fast path')
      expect(fast).toEqual(Array.from({ length: 50 }, (_, i) => [i + 1, `b${i + 1}`]))
      expect(slow).toEqual([])
      // a reconnect makes nats.js build a new parser: it is wrapped as well
      const protocol = (nc as unknown as { protocol: { parser: ProtocolParser } }).protocol
      protocol.parser = new Recorder()
      expect(protocol.parser).toBeInstanceOf(ProtocolTap)
      expect((protocol.parser as ProtocolTap).inner).toBeInstanceOf(Recorder)
      expect((protocol.parser as ProtocolTap).handlers.has(sub.getID())).toBe(true)
    } finally {
      await nc.close()
    }
  })
})
