import { describe, expect, test } from 'bun:test'
import { HotError } from './errors.ts'
import { RING_HEADER_BYTES, RING_RECORD_HEADER_BYTES, Ring } from './ring.ts'
import { frameRecord, frameRecordCorpus } from './fixture-ring-frames.ts'
import { makeFrame, FRAME_KINDS } from './fixture-frames.ts'
import { Prng, testSeed } from './fixture-prng.ts'

const SEED = testSeed()
const enc = new TextEncoder()
const dec = new TextDecoder()

function randomText(r: Prng, n: number): string {
  const parts = ['a', 'Z', '9', '"', '}', ' ', 'é', '中', '😀']
  let s = ''
  while (s.length < n) s += r.chance(0.9) ? parts[r.int(0, 5)] : r.pick(parts)
  return s.slice(0, n).replace(/[\uD800-\uDBFF]$/, 'x')
}

const ODD_NUMBERS = [0, 7, 2147483647, 2147483648, 99999999, 100000000, Number.MAX_SAFE_INTEGER, -1, 1.5, -0, 1e21, 2 ** 60]

interface Input {
  subject: string
  text: string
  /** String index of the cut (pushParts' headEnd) — the frame's last `}` or anywhere. */
  cut: number
  shardId: number
  ts: number
  kind: number
}

function randomInput(r: Prng, capacity: number): Input {
  const big = r.chance(0.05)
  let text = randomText(r, big ? r.int(capacity / 8, capacity / 3 - 100) : r.int(0, capacity / 16))
  if (r.chance(0.5)) {
    const f = makeFrame(r, FRAME_KINDS[r.int(0, FRAME_KINDS.length - 1)]) + (r.chance(0.1) ? ' '.repeat(r.int(1, 3)) : '')
    if (Buffer.byteLength(f) < capacity / 3 - 100) text = f
  }
  let cut = text.lastIndexOf('}')
  if (cut < 0 || r.chance(0.2)) cut = r.int(0, text.length)
  if (cut > 0 && /[\uD800-\uDBFF]/.test(text[cut - 1])) cut-- // not inside a surrogate pair
  return {
    subject: `dev.kalshi.json.trade.${randomText(r, r.int(0, 12))}`,
    text,
    cut,
    shardId: r.chance(0.9) ? r.int(0, 9) : r.pick(ODD_NUMBERS),
    ts: r.chance(0.8) ? 1.7e15 + r.int(0, 1e6) : r.pick(ODD_NUMBERS),
    kind: r.int(0, 2 ** 31 - 1),
  }
}

/**
 * Two rings with identical history: one fed with pushParts (strings), one with pushFrame
 * (bytes). `same(w0)` compares the headers (positions, counters) and, when the last push
 * (made at write position w0) wrote anything, its pad marker and every byte of its record.
 * (Bytes past a record's size are not compared: pushParts may leave encoded text there.)
 */
function twinRings(capacity: number): { parts: Ring; frame: Ring; writePos: () => number; same: (w0: number) => boolean } {
  const a = new SharedArrayBuffer(RING_HEADER_BYTES + capacity)
  const b = new SharedArrayBuffer(RING_HEADER_BYTES + capacity)
  const ua = new Uint8Array(a)
  const ub = new Uint8Array(b)
  const ia = new Int32Array(a)
  const mask = capacity - 1
  const eq = (from: number, to: number) => Bun.deepEquals(ua.subarray(from, to), ub.subarray(from, to))
  return {
    parts: Ring.format(a, 0, capacity),
    frame: Ring.format(b, 0, capacity),
    writePos: () => ia[0],
    same(w0) {
      if (!eq(0, RING_HEADER_BYTES)) return false
      const w1 = ia[0]
      if (w1 === w0) return true
      let off = w0 & mask
      const data = RING_HEADER_BYTES
      if (ia[(data + off) >> 2] === -1) {
        if (!eq(data + off, data + off + 4)) return false
        if (((w0 + capacity - off) | 0) === w1) return true // the pad alone (the record was refused)
        off = 0
      }
      const size = ia[(data + off) >> 2]
      return size >= RING_RECORD_HEADER_BYTES && eq(data + off, data + off + size)
    },
  }
}

describe('Ring.pushFrame', () => {
  test('writes byte-identical rings to pushParts over random records, cuts, numbers, laps and drains (pushFrame and pushFrameTicker)', () => {
    const r = new Prng(SEED)
    // pushFrameTicker's byte table: a random permutation (map) and its inverse
    const map = Uint8Array.from({ length: 256 }, (_, i) => i)
    for (let i = 255; i > 0; i--) {
      const j = r.int(0, i)
      ;[map[i], map[j]] = [map[j], map[i]]
    }
    const inv = new Uint8Array(256)
    for (let i = 0; i < 256; i++) inv[map[i]] = i
    let pushed = 0
    let refused = 0
    for (let round = 0; round < 12; round++) {
      const capacity = 2 ** r.int(9, 14)
      const { parts, frame, writePos, same } = twinRings(capacity)
      let bytes = 0
      while (bytes < capacity * 60) {
        if (r.chance(0.55)) {
          const x = randomInput(r, capacity)
          const suffix = `,"_shard_id":${x.shardId},"_received_at":${x.ts}}`
          // the frame's bytes inside a bigger chunk, as a socket delivers them
          const before = r.int(0, 5)
          const body = enc.encode(x.text)
          // pushFrameTicker: the subject's tail is in the chunk after the frame, as the bytes the
          // map translates into it
          const sb = enc.encode(x.subject)
          const k = r.int(0, sb.length)
          // mapFrom: the token's first j bytes are copied as they are (so the chunk holds them as
          // they are), the rest go through the map
          const j = r.chance(0.5) ? 0 : r.int(0, sb.length - k)
          const tail = [...sb.subarray(k, k + j), ...Array.from(sb.subarray(k + j), (c) => inv[c])]
          const chunk = new Uint8Array(before + body.length + r.int(0, 5) + tail.length).fill(0x7d)
          chunk.set(body, before)
          chunk.set(tail, chunk.length - tail.length)
          const end = before + enc.encode(x.text.slice(0, x.cut)).length
          const w0 = writePos()
          const okParts = parts.pushParts(x.subject, x.text, x.cut, suffix, x.ts, x.kind)
          const okFrame = r.chance(0.5)
            ? frame.pushFrame(sb, chunk, before, end, x.shardId, x.ts, x.kind)
            : frame.pushFrameTicker(sb.subarray(0, k), chunk, chunk.length - tail.length, chunk.length, map, before, end, x.shardId, x.ts, x.kind, chunk.length - tail.length + j)
          if (okParts !== okFrame || !same(w0)) {
            throw new Error(`seed ${SEED} round ${round}: rings differ after ${JSON.stringify(x)} (pushParts ${okParts}, pushFrame ${okFrame})`)
          }
          if (okFrame) {
            pushed++
            bytes += body.length + RING_RECORD_HEADER_BYTES
          } else refused++
        } else {
          const max = r.int(1, 8)
          const got: string[] = []
          parts.drain((rec) => got.push(`${rec.subject}|${dec.decode(rec.payload)}|${rec.receivedAtUs}|${rec.kind}`), max)
          let k = 0
          frame.drain((rec) => {
            const seen = `${rec.subject}|${dec.decode(rec.payload)}|${rec.receivedAtUs}|${rec.kind}`
            if (seen !== got[k++]) throw new Error(`seed ${SEED} round ${round}: drained ${seen}, want ${got[k - 1]}`)
          }, max)
          expect(k).toBe(got.length)
          expect(same(writePos())).toBe(true)
        }
      }
      expect(frame.stats()).toEqual(parts.stats())
    }
    expect(refused).toBeGreaterThan(0) // back-pressure and wrap cases were exercised
    expect(pushed).toBeGreaterThan(2000)
  })

  test('pushParts does not write a long head past the free space onto unread records (regression)', () => {
    for (const fill of ['c', 'é']) {
      const ring = Ring.allocate(512)
      ring.push('s', 'x'.repeat(207), 0, 0) // 232 bytes at 0
      ring.push('s', 'a'.repeat(100), 1, 0) // 128 bytes at 232
      ring.drain(() => {}, 1) // unread: 232..360
      ring.push('s', 'b'.repeat(127), 2, 0) // 152 bytes at 360..512; free is 0..232 only
      // a 300-char head cut at 10: a small record, but the whole head would reach 325 (or 625)
      expect(ring.pushParts('s', fill.repeat(300), 10, '}', 3, 0)).toBe(true)
      const got: string[] = []
      ring.drain((rec) => got.push(dec.decode(rec.payload)))
      expect(got).toEqual(['a'.repeat(100), 'b'.repeat(127), `${fill.repeat(10)}}`])
    }
  })

  test('pads at the end of the data, refuses when full (counted), and rejects what cannot fit', () => {
    const ring = Ring.allocate(256)
    const subject = enc.encode('s')
    const frame = enc.encode(`{"a":"${'x'.repeat(100)}"}`)
    const end = frame.length - 1
    // header 24 + subject 1 + frame 107 + `,"_shard_id":0,"_received_at":` 30 + 16 digits + `}` = 179 → 184
    expect(ring.pushFrame(subject, frame, 0, end, 0, 1_700_000_000_000_000, 2)).toBe(true)
    // 72 bytes left at the end: the pad is published, the record waits for room at offset 0
    expect(ring.pushFrame(subject, frame, 0, end, 0, 1_700_000_000_000_001, 2)).toBe(false)
    expect({ full: ring.stats().full, used: ring.usedBytes }).toEqual({ full: 1, used: 256 })
    let payload = ''
    ring.drain((rec) => (payload = dec.decode(rec.payload)))
    expect(payload).toBe(`{"a":"${'x'.repeat(100)}","_shard_id":0,"_received_at":1700000000000000}`)
    expect(ring.pushFrame(subject, frame, 0, end, 0, 5, 2)).toBe(true)
    expect(ring.usedBytes).toBe(align8(24 + 1 + 107 + 30 + 1 + 1))
    const big = new Uint8Array(300).fill(0x61)
    let err: unknown
    try {
      ring.pushFrame(subject, big, 0, 299, 0, 5, 2)
    } catch (e) {
      err = e
    }
    expect(HotError.is(err, 'RING_RECORD_TOO_LARGE')).toBe(true)
    expect(() => ring.pushFrame(subject, big, 10, 301, 0, 5, 2)).toThrow('frame range [10, 301) is not inside a buffer of 300 bytes')
    expect(() => ring.pushFrameTicker(subject, big, 290, 301, new Uint8Array(256), 0, 10, 0, 5, 2)).toThrow('token range [290, 301) is not inside a buffer of 300 bytes')
    expect(() => ring.pushFrameTicker(subject, big, 290, 295, new Uint8Array(256), 0, 10, 0, 5, 2, 296)).toThrow('mapFrom 296 is not inside the token range [290, 295]')
    expect(() => ring.pushFrameTicker(subject, big, 290, 295, new Uint8Array(256), 0, 10, 0, 5, 2, 289)).toThrow('mapFrom 289 is not inside the token range [290, 295]')
    const dot = Uint8Array.from({ length: 256 }, (_, c) => (c === 46 ? 95 : c))
    const named = new Uint8Array(320).fill(0x61)
    named.set(new TextEncoder().encode('K.X'), 310)
    expect(() => ring.pushFrameTicker(new TextEncoder().encode('p.'), named, 310, 313, dot, 0, 299, 0, 5, 2)).toThrow('(subject p.K_X)')
  })

  test('writes receivedAtUs and shardId as ${n} would, for every digit count and odd values', () => {
    const r = new Prng(SEED + 1)
    const ring = Ring.allocate(1 << 16)
    const subject = enc.encode('s')
    const frame = enc.encode('{"a":1}')
    const values: number[] = [...ODD_NUMBERS, Number.NaN, Number.POSITIVE_INFINITY, 0.1, 1e-7]
    for (let d = 1; d <= 16; d++) {
      values.push(10 ** (d - 1), 10 ** d - 1)
      for (let k = 0; k < 20; k++) values.push(Math.min(Number.MAX_SAFE_INTEGER, 10 ** (d - 1) + Math.floor(r.next() * 9 * 10 ** (d - 1))))
    }
    for (const v of values) {
      const shard = r.pick(values)
      expect(ring.pushFrame(subject, frame, 0, 6, shard, v, 0)).toBe(true)
      let payload = ''
      ring.drain((rec) => (payload = dec.decode(rec.payload)))
      expect(payload).toBe(`{"a":1,"_shard_id":${shard},"_received_at":${v}}`)
    }
  })

  test('publishes and wakes per push, or with deferPublish only on publish(), a refused push or close()', async () => {
    const subject = enc.encode('s')
    const frame = enc.encode('{"a":1}')
    for (const deferPublish of [false, true]) {
      const ring = Ring.allocate(4096)
      const consumer = new Ring(ring.sab) // same thread: announce a sleep, then let the producer decide
      ring.deferPublish = deferPublish
      const slept = consumer.waitReadable(2000)
      expect(ring.pushFrame(subject, frame, 0, 6, 0, 1, 0)).toBe(true)
      expect({ readable: consumer.readable(), ...ring.stats() }).toMatchObject(
        deferPublish ? { readable: false, notifies: 0, written: 0, usedBytes: 0 } : { readable: true, notifies: 1, written: 1 },
      )
      ring.publish()
      expect({ readable: consumer.readable(), ...ring.stats() }).toMatchObject({ readable: true, notifies: 1, written: 1 })
      await slept
      expect(consumer.drain(() => {})).toBe(1)
    }
    // a full ring publishes what is pending, so the consumer can free it; close publishes the rest
    const ring = Ring.allocate(256)
    const consumer = new Ring(ring.sab)
    ring.deferPublish = true
    let pushed = 0
    while (ring.pushFrame(subject, frame, 0, 6, 0, 1, 0)) pushed++
    expect(ring.stats()).toMatchObject({ written: pushed, full: 1 })
    expect(consumer.drain(() => {})).toBe(pushed)
    expect(ring.pushFrame(subject, frame, 0, 6, 0, 1, 0)).toBe(true)
    ring.close()
    expect(consumer.drain(() => {})).toBe(1)
  })

  test('delivers 200k frame records in order to a consumer in a real Worker', async () => {
    const corpus = frameRecordCorpus(SEED)
    const ring = Ring.allocate(1 << 16)
    ring.deferPublish = true
    const worker = new Worker(new URL('./fixture-ring-frame-worker.ts', import.meta.url).href)
    try {
      const done = new Promise<{ count: number; errors: number; first: string }>((resolve) => {
        worker.onmessage = (e) => resolve(e.data)
      })
      worker.postMessage({ sab: ring.sab, seed: SEED })
      const subjects = Array.from({ length: 13 }, (_, k) => enc.encode(`dev.kalshi.json.orderbook.${k}`))
      const N = 200_000
      let i = 0
      while (i < N) {
        const want = frameRecord(corpus, i)
        const j = i % corpus.frames.length
        if (ring.pushFrame(subjects[i % 13], corpus.chunk, corpus.start[j], corpus.lastBrace[j], want.shardId, want.receivedAtUs, want.kind)) {
          i++
          if ((i & 255) === 0) ring.publish()
        } else {
          ring.publish()
          await ring.waitWritable()
        }
      }
      ring.close()
      expect(await done).toEqual({ count: N, errors: 0, first: '' })
      expect(ring.stats()).toMatchObject({ written: N, read: N, usedBytes: 0 })
    } finally {
      worker.terminate()
    }
  })
})

function align8(n: number): number {
  return (n + 7) & ~7
}
