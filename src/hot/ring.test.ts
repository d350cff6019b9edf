import { describe, expect, test } from 'bun:test'
import { waitFor } from '../pipeline/core/wait.ts'
import { drainLoop } from './drain-loop.ts'
import { HotError } from './errors.ts'
import { RING_HEADER_BYTES, RING_RECORD_HEADER_BYTES, Ring, RingRecord } from './ring.ts'
import { Prng, testSeed } from './fixture-prng.ts'
import { expectedPayload } from './fixture-frames.ts'

const SEED = testSeed()
const CANARY = 0xa5
const dec = new TextDecoder()

interface Rec {
  subject: string
  payload: string
  ts: number
  kind: number
}

function randomText(r: Prng, n: number): string {
  const parts = ['a', 'Z', '9', '"', '}', ' ', 'é', '中', '😀']
  let s = ''
  while (s.length < n) s += r.chance(0.9) ? parts[r.int(0, 5)] : r.pick(parts)
  return s.slice(0, n).replace(/[\uD800-\uDBFF]$/, 'x')
}

/** A ring inside a bigger buffer with canary bytes before its header and after its data. */
function ringWithCanaries(capacity: number): { ring: Ring; check: () => void } {
  const sab = new SharedArrayBuffer(64 + RING_HEADER_BYTES + capacity + 64)
  const u8 = new Uint8Array(sab)
  u8.fill(CANARY)
  const ring = Ring.format(sab, 64, capacity)
  return {
    ring,
    check() {
      const bad = [...u8.subarray(0, 64), ...u8.subarray(64 + RING_HEADER_BYTES + capacity)].filter((b) => b !== CANARY)
      if (bad.length) throw new Error(`seed ${SEED}: canary overwritten (${bad.length} bytes)`)
    },
  }
}

describe('Ring', () => {
  test('agrees with an array queue over random sizes, laps, interleavings and publish points, canaries intact', () => {
    const r = new Prng(SEED)
    for (let round = 0; round < 12; round++) {
      const capacity = 2 ** r.int(8, 14)
      const { ring, check } = ringWithCanaries(capacity)
      // half the rounds publish in batches: the consumer sees at least the records before the
      // last publish (a refused push publishes what is pending; so does the pad of a wrap) and
      // never one that was not pushed
      ring.deferPublish = round % 2 === 1
      // a third of the rounds wrap early when the ring is empty past a quarter of it
      if (round % 3 === 2) ring.earlyWrapAt = capacity / 4
      const model: Rec[] = []
      let visible = 0
      let pushedBytes = 0
      let pushed = 0
      let popped = 0
      const maxPayload = capacity / 4
      while (pushedBytes < capacity * 100) {
        if (r.chance(0.55)) {
          const big = r.chance(0.05)
          const rec: Rec = {
            subject: `dev.kalshi.json.trade.${randomText(r, r.int(0, 12))}`,
            payload: randomText(r, big ? r.int(capacity / 8, capacity / 3 - 40) : r.int(0, maxPayload / 4)),
            ts: 1.7e15 + r.int(0, 1e6),
            kind: r.int(0, 2 ** 31 - 1),
          }
          const suffix = r.chance(0.5) ? `,"_shard_id":${r.int(0, 9)}}` : ''
          const head = suffix ? `${rec.payload}}  ` : rec.payload
          const headEnd = rec.payload.length
          const ok = suffix
            ? ring.pushParts(rec.subject, head, headEnd, suffix, rec.ts, rec.kind)
            : ring.push(rec.subject, rec.payload, rec.ts, rec.kind)
          if (ok) {
            model.push({ ...rec, payload: rec.payload + suffix })
            pushedBytes += Buffer.byteLength(rec.payload) + RING_RECORD_HEADER_BYTES
            pushed++
            if (!ring.deferPublish) visible = model.length
          } else visible = model.length
        } else if (r.chance(0.2)) {
          ring.publish()
          visible = model.length
        } else {
          const max = r.int(1, 8)
          const n = ring.drain((got) => {
            const want = model.shift()
            const seen = { subject: got.subject, payload: dec.decode(got.payload), ts: got.receivedAtUs, kind: got.kind }
            if (!Bun.deepEquals(seen, want)) {
              throw new Error(`seed ${SEED} round ${round}: got ${JSON.stringify(seen)}, want ${JSON.stringify(want)}`)
            }
            popped++
          }, max)
          if (n < Math.min(max, visible)) throw new Error(`seed ${SEED} round ${round}: read ${n} of ${visible} published records`)
          visible = Math.max(0, visible - n)
        }
      }
      ring.publish()
      ring.drain(() => {
        model.shift()
        popped++
      })
      check()
      expect({ left: model.length, read: ring.stats().read, written: ring.stats().written }).toEqual({
        left: 0,
        read: popped,
        written: pushed,
      })
    }
  })

  test('with earlyWrapAt, a consumer that keeps up keeps the writes at its start; a burst still takes the whole capacity', () => {
    const capacity = 1 << 16
    const sab = new SharedArrayBuffer(RING_HEADER_BYTES + capacity)
    const ring = Ring.format(sab, 0, capacity)
    ring.earlyWrapAt = 4096
    const data = new Uint8Array(sab, RING_HEADER_BYTES)
    const payload = 'p'.repeat(300)
    let read = 0
    for (let i = 0; i < 2000; i++) {
      expect(ring.push('s', payload, i, 0)).toBe(true)
      read += ring.drain(() => {})
    }
    expect(read).toBe(2000)
    // 2000 records of ~330 bytes: 10 laps of the whole ring, all of them in its first 4 KiB + one record
    const touched = data.findLastIndex((b) => b !== 0)
    expect(touched).toBeGreaterThan(4096 - 400)
    expect(touched).toBeLessThan(4096 + 400)
    // a consumer that falls behind: the ring fills to its capacity as without the option
    let pushed = 0
    while (ring.push('s', payload, pushed, 0)) pushed++
    expect(ring.usedBytes).toBeGreaterThan(capacity - 2 * 336)
    expect(ring.drain(() => {})).toBe(pushed)
  })

  test('after an early wrap the consumer is woken, and its next batch frees the pad at once', async () => {
    const ring = Ring.allocate(1 << 16)
    ring.earlyWrapAt = 4096
    ring.deferPublish = true
    const consumer = new Ring(ring.sab)
    const out = [new RingRecord(), new RingRecord()]
    const payload = 'p'.repeat(300)
    const size = (RING_RECORD_HEADER_BYTES + 1 + 300 + 7) & ~7
    // past earlyWrapAt, every record read and committed: the ring is empty
    for (let i = 0; i < Math.ceil(4096 / size); i++) {
      expect(ring.push('s', payload, i, 0)).toBe(true)
      ring.publish()
      expect(consumer.readBatch(out, 1)).toBe(1)
      consumer.commitRead()
    }
    const slept = consumer.waitReadable(2000)
    expect(ring.push('s', payload, 99, 0)).toBe(true) // wraps: a pad to the end, the record at 0
    expect(ring.stats().notifies).toBe(1) // woken for the pad, though publishes are deferred
    await slept
    ring.publish()
    expect(ring.usedBytes).toBeGreaterThan((1 << 16) - 4096)
    expect(consumer.readBatch(out)).toBe(1)
    expect(out[0].receivedAtUs).toBe(99)
    expect(ring.usedBytes).toBe(size) // the pad is free before the batch is committed
    consumer.commitRead()
    expect(ring.usedBytes).toBe(0)
  })

  test('fills to exactly its capacity, then refuses and counts the back-pressure', () => {
    const ring = Ring.allocate(1024)
    const payload = 'p'.repeat(128 - RING_RECORD_HEADER_BYTES - 1)
    for (let i = 0; i < 8; i++) expect(ring.push('s', payload, i, 0)).toBe(true)
    expect(ring.usedBytes).toBe(1024)
    expect(ring.push('s', '', 9, 0)).toBe(false)
    expect(ring.stats().full).toBe(1)
    expect(ring.drain(() => {}, 1)).toBe(1)
    expect(ring.push('s', payload, 10, 0)).toBe(true)
    expect(ring.push('s', '', 9, 0)).toBe(false)
    expect(ring.stats()).toEqual({ written: 9, read: 1, full: 2, notifies: 0, usedBytes: 1024 })
  })

  test('takes a record of the whole capacity into an empty ring, even after a wrap', () => {
    const ring = Ring.allocate(512)
    const whole = 'w'.repeat(512 - RING_RECORD_HEADER_BYTES - 1)
    expect(ring.push('s', 'x'.repeat(200), 0, 0)).toBe(true)
    ring.drain(() => {})
    // the write position is mid-ring: the pad is published, the record waits for it to be read
    expect(ring.push('s', whole, 1, 0)).toBe(false)
    expect(ring.drain(() => {})).toBe(0)
    expect(ring.push('s', whole, 1, 0)).toBe(true)
    const got: string[] = []
    ring.drain((rec) => got.push(dec.decode(rec.payload)))
    expect(got).toEqual([whole])
  })

  test('rejects a record larger than the ring with a typed error', () => {
    const ring = Ring.allocate(256)
    let err: unknown
    try {
      ring.push('s', 'x'.repeat(300), 0, 0)
    } catch (e) {
      err = e
    }
    expect(HotError.is(err, 'RING_RECORD_TOO_LARGE')).toBe(true)
  })

  test('validates its capacity and refuses a buffer that is not a ring', () => {
    expect(() => Ring.allocate(1000)).toThrow('options.capacityBytes must be a power of two from 256 to 1073741824 (got 1000)')
    expect(() => new Ring(new SharedArrayBuffer(1024))).toThrow('no ring at byte 0')
  })

  test('counts back-pressure while a slow sink holds the ring, then delivers every record in order', async () => {
    const ring = Ring.allocate(4096)
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const seen: number[] = []
    const loop = drainLoop(ring, async (records) => {
      for (const rec of records) seen.push(rec.receivedAtUs)
      await gate
    }, { maxBatch: 16 })
    const N = 2000
    let i = 0
    let refused = 0
    while (i < N) {
      if (ring.push(`s.${i % 13}`, expectedPayload(i), i, i % 5)) i++
      else {
        refused++
        if (refused === 1) open()
        await ring.waitWritable()
      }
    }
    ring.close()
    expect(await loop).toBe(N)
    expect(seen).toEqual(Array.from({ length: N }, (_, k) => k))
    expect(ring.stats().full).toBe(refused)
    expect(refused).toBeGreaterThan(0)
  })

  test('stops on abort after draining what is in the ring', async () => {
    const ring = Ring.allocate(4096)
    const ac = new AbortController()
    let n = 0
    const loop = drainLoop(ring, (records) => {
      n += records.length
    }, { signal: ac.signal })
    for (let i = 0; i < 10; i++) ring.push('s', 'p', i, 0)
    await waitFor(() => n === 10, 'first records drained')
    for (let i = 0; i < 5; i++) ring.push('s', 'p', i, 0)
    ac.abort()
    expect(await loop).toBe(15)
  })

  test('gives timers and I/O a turn while the ring never runs dry and the sink is synchronous', async () => {
    const ring = Ring.allocate(4096)
    let timerFired = false
    const timer = setTimeout(() => (timerFired = true), 1)
    let batches = 0
    let firedAfter = -1
    const loop = drainLoop(ring, () => {
      batches++
      if (timerFired && firedAfter < 0) firedAfter = batches
      // the producer keeps up with the consumer: a record is always waiting, until the timer ran
      if (firedAfter < 0 && batches < 5_000_000) ring.push('s', 'p', batches, 0)
      else ring.close()
    }, { maxBatch: 1, yieldEveryMs: 2 })
    ring.push('s', 'p', 0, 0)
    await loop
    clearTimeout(timer)
    expect({ timerFired, ranAgainAfterTheTimer: firedAfter > 0 && firedAfter < 5_000_000 }).toEqual({ timerFired: true, ranAgainAfterTheTimer: true })
    await expect(drainLoop(ring, () => {}, { yieldEveryMs: 0 })).rejects.toThrow('yieldEveryMs')
  })

  test('delivers 200k records in order to a consumer in a real Worker', async () => {
    const ring = Ring.allocate(1 << 16)
    const worker = new Worker(new URL('./fixture-ring-worker.ts', import.meta.url).href)
    try {
      const done = new Promise<{ count: number; errors: number; first: string }>((resolve) => {
        worker.onmessage = (e) => resolve(e.data)
      })
      worker.postMessage({ sab: ring.sab, verify: true })
      const N = 200_000
      let i = 0
      while (i < N) {
        if (ring.push(`s.${i % 13}`, expectedPayload(i), i, i % 5)) i++
        else await ring.waitWritable()
      }
      ring.close()
      const result = await done
      expect(result).toEqual({ count: N, errors: 0, first: '', bytes: expect.any(Number) } as never)
      expect(ring.stats()).toMatchObject({ written: N, read: N, usedBytes: 0 })
    } finally {
      worker.terminate()
    }
  })
})

// keep RingRecord's shape stable for consumers that allocate their own pools
test('a RingRecord starts empty', () => {
  const r = new RingRecord()
  expect([r.subject, r.receivedAtUs, r.kind, r.payloadLength, r.payload.length]).toEqual(['', 0, 0, 0, 0])
})

test("a RingRecord's subject, decoded when read, is its own record's after every refill, whether or not earlier ones were read", () => {
  const ring = Ring.allocate(1024)
  const subjects = ['a.b.c', 'prefix.\u00e9t\u00e9.x', 'z']
  for (let i = 0; i < subjects.length; i++) expect(ring.push(subjects[i], `p${i}`, i, i)).toBe(true)
  const rec = new RingRecord()
  const seen: string[] = []
  // a record whose subject is never read, then two that are, through one reused object
  ring.drain((r) => {
    rec.set(r.bytes, r.subjectStart, r.start, r.end, r.receivedAtUs, r.kind)
    if (r.kind === 0) return
    const first = rec.subject
    expect(rec.subject).toBe(first) // read again: the same text
    seen.push(first, new TextDecoder().decode(rec.payload))
  })
  expect(seen).toEqual([subjects[1], 'p1', subjects[2], 'p2'])
})
