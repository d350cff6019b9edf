import { describe, expect, test } from 'bun:test'
import type { Delivery } from '../transport/pull.ts'
import { waitFor } from '../core/wait.ts'
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

  test('a failed confirmation is asked for again, of the latest message by then, and settles every ack it covers', async () => {
    const log: { seq: number; settle: (ok: boolean) => void }[] = []
    const acks = new AckCoalescer(() => false, { retryBaseMs: 1 })
    const done: number[] = []
    const p1 = acks.ack(delivery(1, log)).then(() => void done.push(1))
    const p2 = acks.ack(delivery(2, log)).then(() => void done.push(2))
    log[0].settle(false) // NATS away
    await waitFor(() => log.length === 2, 'the ack asked for again')
    expect(log[1].seq).toBe(2) // the latest covers 1 too
    expect(done).toEqual([])
    log[1].settle(false)
    await waitFor(() => log.length === 3, 'asked for once more')
    log[2].settle(true)
    await Promise.all([p1, p2])
    expect({ asked: log.map((l) => l.seq), done, failures: acks.failures }).toEqual({ asked: [1, 2, 2], done: [1, 2], failures: 2 })
  })

  test('a source that closes while an ack keeps failing lets its waiters go (the messages come again at the next start)', async () => {
    const log: { seq: number; settle: (ok: boolean) => void }[] = []
    const stop = new AbortController()
    const acks = new AckCoalescer(() => false, { retryBaseMs: 60_000, signal: stop.signal })
    const p1 = acks.ack(delivery(1, log))
    log[0].settle(false)
    await new Promise((r) => setImmediate(r))
    stop.abort() // ends the back-off wait at once
    await p1
    expect(log.map((l) => l.seq)).toEqual([1])
  })

  test('a failed ack of a consumer that is gone (stale) is not asked for again', async () => {
    const log: { seq: number; settle: (ok: boolean) => void }[] = []
    let gone = false
    const acks = new AckCoalescer(() => gone, { retryBaseMs: 1 })
    const p1 = acks.ack(delivery(1, log))
    gone = true
    log[0].settle(false)
    await p1
    expect(log.map((l) => l.seq)).toEqual([1])
  })
})
