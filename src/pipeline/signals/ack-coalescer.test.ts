import { describe, expect, test } from 'bun:test'
import type { Delivery } from '../transport/pull.ts'
import { AckCoalescer } from './nats-source.ts'

/** A delivery whose confirmed acks are recorded and settled by the test. */
function delivery(seq: number, log: { seq: number; settle: (ok: boolean) => void }[]): Delivery {
  return {
    seq, delivery: seq, redelivered: false, data: new Uint8Array(0), bytes: new Uint8Array(0), start: 0, end: 0, subject: 's', kind: 'ticker', timestampMs: 0, pending: 0,
    ack() {},
    ackSync: () => new Promise<void>((resolve, reject) => log.push({ seq, settle: (ok) => (ok ? resolve() : reject(new Error(`ack ${seq} failed`))) })),
  }
}

describe('AckCoalescer', () => {
  test('one confirmation in flight; the acks asked for meanwhile go out as one, of the latest, and each resolves only once covered', async () => {
    const log: { seq: number; settle: (ok: boolean) => void }[] = []
    const acks = new AckCoalescer()
    const done: number[] = []
    const track = (seq: number) => acks.ack(delivery(seq, log)).then(() => void done.push(seq))
    const p1 = track(1)
    const p2 = track(2)
    const p3 = track(3)
    expect(log.map((l) => l.seq)).toEqual([1]) // 2 and 3 wait behind 1
    log[0].settle(true)
    await p1
    await new Promise((r) => setImmediate(r)) // the coalescer moves on in a later turn
    expect(done).toEqual([1])
    expect(log.map((l) => l.seq)).toEqual([1, 3]) // one ack for 2 and 3
    log[1].settle(true)
    await Promise.all([p2, p3])
    expect(done).toEqual([1, 2, 3])
  })

  test('a failed confirmation rejects the acks it covered; later ones go on', async () => {
    const log: { seq: number; settle: (ok: boolean) => void }[] = []
    const acks = new AckCoalescer()
    const p1 = acks.ack(delivery(1, log))
    const p2 = acks.ack(delivery(2, log))
    log[0].settle(false)
    await expect(p1).rejects.toThrow('ack 1 failed')
    await new Promise((r) => setImmediate(r)) // the coalescer moves on in a later turn
    log[1].settle(true)
    await p2
    expect(log.map((l) => l.seq)).toEqual([1, 2])
  })
})
