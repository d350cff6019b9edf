/**
 * Single-producer single-consumer ring of variable-length records over one SharedArrayBuffer
 * (modelled on padenot/ringbuf.js). One thread pushes (the connector's main thread), one
 * thread drains (the flusher Worker); the roles never change. Over 300 lines because the
 * layout, the publish protocol and the wait protocol are one invariant and stay together.
 *
 * Header (bytes; Int32 index = byte / 4, Float64 index = byte / 8):
 *     0  WRITE      i32  next byte position to write; written only by the producer
 *     8  WRITTEN    f64  records pushed                        (producer; metrics, may be stale)
 *    16  FULL       f64  pushes refused because full (back-pressure events)     (producer)
 *    24  NOTIFIES   f64  wake-ups sent to a sleeping consumer                  (producer)
 *    64  READ       i32  next byte position to read; written only by the consumer
 *    72  READ_COUNT f64  records consumed                                       (consumer)
 *   128  SLEEPING   i32  1 while the consumer sleeps / is about to sleep (consumer sets 1,
 *                        whoever wakes it swaps it to 0)
 *   132  P_WAITING  i32  1 while the producer waits for space (mirror of SLEEPING)
 *   136  CLOSED     i32  1 once the producer closed the ring (no more pushes)
 *   192  CAPACITY   i32  data bytes, a power of two (written once by `allocate`)
 *   196  MAGIC      i32  RING_MAGIC, to reject a buffer that is not a ring
 *   256  data       `capacity` bytes
 * WRITE and READ sit on separate 64-byte cache lines, so the two threads do not share one.
 *
 * Positions are free-running 32-bit counters (they wrap at 2^32, which a power-of-two
 * capacity divides). used = (WRITE − READ) mod 2^32; empty when used = 0, full when
 * used = capacity; no byte is kept free. A record starts at offset = position & (capacity − 1).
 *
 * Record (8-byte aligned; occupies its size rounded up to 8):
 *   +0 i32 size (header + subject + payload bytes)   +4 i32 kind/flags
 *   +8 f64 receivedAtUs   +16 u32 subject bytes   +20 u32 payload bytes   +24 subject, payload
 * Wrap rule: a record is never split. If it does not fit before the end of the data region,
 * the producer writes PAD (size = −1) at the offset and the record starts at offset 0; the
 * consumer skips from a PAD to the end. A pad is published even when the record then does not
 * fit, so an empty ring can always take a record of up to `capacity` bytes. A bigger record
 * is misuse: HotError RING_RECORD_TOO_LARGE. With `earlyWrapAt`, a record that finds the ring
 * empty at or past that offset also starts at offset 0 after a pad (when it fits before the
 * offset); the consumer is woken for that pad, and frees a pad that comes first in its batch at
 * once (readBatch), since it holds most of the ring.
 *
 * Publish points (the only Atomics on the data path): the producer writes records with plain
 * stores, then Atomics.store(WRITE) — the consumer's Atomics.load(WRITE) then sees every record
 * before it. By default the producer publishes after each record; with `deferPublish` it
 * publishes once per batch (`publish()`, e.g. once per socket read or event-loop turn): a store
 * per record to the cache line the consumer polls (WRITE, and the WRITTEN count beside it) moved
 * that line between the two cores on every record while the consumer kept up (the connector's
 * receive → ring went from 0.47–0.59 to 0.52–0.66 of a bare receive loop with one publish per
 * batch). The consumer reads, then Atomics.store(READ) — only then may the producer reuse the
 * bytes. Views handed to the consumer stay valid until it commits the read.
 *
 * Sleeping (never spin on 2 cores): the consumer stores SLEEPING = 1, re-checks WRITE, and
 * only then waits (Atomics.waitAsync on SLEEPING while it is 1). The producer, after
 * publishing WRITE, loads SLEEPING and, if 1, swaps it to 0 and notifies. All four are
 * sequentially consistent, so either the producer sees 1 (and wakes the consumer; a wait
 * that starts after the swap returns at once because SLEEPING is no longer 1), or the
 * consumer's re-check comes after the publish and sees the record. No lost wake-up. The
 * producer waiting for space (`waitWritable`) uses the same protocol on P_WAITING.
 *
 * Allocation: none per record on the producer side except the small subarray view and result
 * object that TextEncoder.encodeInto imposes (pushParts); none at all for pushFrame (bytes
 * in, native copies and digits out); the consumer decodes each subject with Buffer's native
 * UTF-8 slice (no view; ~50 ns, less than a cache keyed by the bytes, which also kept ~6 MB for a
 * 10,000-market connector's subjects) and hands the payload as a range (a view only on request).
 * The ring itself has no off switch (it is the connector's only path to the flusher Worker;
 * bench/hot.bench.ts (b) measures it against postMessage). Optional here: `deferPublish` (one
 * publish and wake per batch instead of per record; the connector's switch is SSMD_RING_WAKE=each)
 * and `earlyWrapAt` (the connector's switch is SSMD_RING_EARLY_WRAP=0).
 */
import { isSafeUint, uintLength, writeUintDigits } from './digits.ts'
import { HotError, invalidOption, isPowerOfTwo } from './errors.ts'

const WRITE = 0
const WRITTEN = 1 // f64
const FULL = 2 // f64
const NOTIFIES = 3 // f64
const READ = 16
const READ_COUNT = 9 // f64
const SLEEPING = 32
const P_WAITING = 33
const CLOSED = 34
const CAPACITY = 48
const MAGIC = 49
export const RING_HEADER_BYTES = 256
export const RING_RECORD_HEADER_BYTES = 24
export const RING_MAGIC = 0x52494e47 // 'RING'
const PAD = -1
const MIN_CAPACITY = 256
const MAX_CAPACITY = 1 << 30

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const EMPTY_BYTES = new Uint8Array(0)

/**
 * One record as the consumer sees it; the object is reused. Its payload is `bytes[start, end)`
 * (the ring's own memory): valid until the read is committed. Copy it with
 * `bytes.slice(start, end)` (one allocation; `payload.slice()` makes a view first).
 * The subject is `bytes[subjectStart, start)`, decoded to a string on the first read of
 * `subject` (so, like the payload, read it before the commit; the string then stays valid): a
 * consumer that does not need the string (one that counts, or writes the bytes) does not pay
 * for one per record.
 */
export class RingRecord {
  receivedAtUs = 0
  kind = 0
  bytes: Uint8Array = EMPTY_BYTES
  subjectStart = 0
  start = 0
  end = 0
  /** The decoded subject, or null until it is read. */
  private text: string | null = ''

  get subject(): string {
    return (this.text ??= utf8Slice.call(this.bytes, 'utf8', this.subjectStart, this.start))
  }

  /** A new view of the payload on each read (a view of a shared buffer costs an allocation). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.start, this.end)
  }

  get payloadLength(): number {
    return this.end - this.start
  }

  /** Points the record at a ring record: subject bytes [subjectStart, start), payload [start, end). */
  set(bytes: Uint8Array, subjectStart: number, start: number, end: number, receivedAtUs: number, kind: number): void {
    this.bytes = bytes
    this.subjectStart = subjectStart
    this.start = start
    this.end = end
    this.receivedAtUs = receivedAtUs
    this.kind = kind
    this.text = null
  }
}

export class Ring {
  readonly sab: SharedArrayBuffer
  readonly byteOffset: number
  readonly capacity: number
  private readonly mask: number
  private readonly hdr: Int32Array
  private readonly counters: Float64Array
  private readonly u8: Uint8Array
  private readonly i32: Int32Array
  private readonly f64: Float64Array
  /** Producer's copy of WRITE (ahead of it by the records not yet published), consumer's uncommitted READ cursor. */
  private wpos: number
  /** Records pushed since the last publish (added to WRITTEN when published). */
  private unpublished = 0
  /** WRITE as last published (only the producer writes it). */
  private published: number
  private rpos: number
  /** READ as seen by the last refused push (waitWritable wakes when it moves). */
  private readAtFull = -1
  /** Records read but not yet counted in READ_COUNT (counted at commit). */
  private uncounted = 0
  private readonly scratch = new RingRecord()
  /** pushFrame's suffix `,"_shard_id":N,"_received_at":T}` for the last (shard id, stamp) it saw. */
  private suffix = new Uint8Array(0)
  private suffixShard = Number.NaN
  private suffixTs = Number.NaN
  /**
   * Producer option: when true, a push neither publishes its record nor wakes a sleeping
   * consumer; the producer calls `publish()` once per batch (e.g. once per event-loop turn),
   * and must: records pushed after the last publish are invisible to the consumer. Same
   * protocol, one barrier and at most one futex wake (a syscall) per batch instead of per
   * record. A push refused for want of room publishes what is pending, so the consumer can
   * free it. Off switch: leave it false (the default): every push publishes and wakes.
   */
  deferPublish = false
  /**
   * Producer option: a record that finds the ring empty at or past this data offset starts over
   * at offset 0 (after a PAD, as at the end of the data), when it fits before the offset. So a
   * consumer that keeps up keeps the writes within the first `earlyWrapAt` bytes: a working set
   * that stays in cache instead of a lap through the whole capacity (16 MiB in the connector:
   * all of it resident after the first lap), which stays for bursts.
   * Off switch: the capacity (the default): records wrap only at the end of the data.
   */
  earlyWrapAt: number

  /** A new ring with `capacityBytes` of data (a power of two, 256 B … 1 GiB). */
  static allocate(capacityBytes: number): Ring {
    checkCapacity(capacityBytes)
    return Ring.format(new SharedArrayBuffer(RING_HEADER_BYTES + capacityBytes), 0, capacityBytes)
  }

  /** Lays out a new ring inside `sab` at `byteOffset` (a multiple of 64), e.g. one per shard. */
  static format(sab: SharedArrayBuffer, byteOffset: number, capacityBytes: number): Ring {
    checkCapacity(capacityBytes)
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 64 !== 0) {
      invalidOption('byteOffset', 'a non-negative multiple of 64', byteOffset)
    }
    if (sab.byteLength < byteOffset + RING_HEADER_BYTES + capacityBytes) {
      invalidOption('capacityBytes', `at most ${sab.byteLength - byteOffset - RING_HEADER_BYTES} here`, capacityBytes)
    }
    const hdr = new Int32Array(sab, byteOffset, RING_HEADER_BYTES / 4)
    hdr.fill(0)
    hdr[CAPACITY] = capacityBytes
    hdr[MAGIC] = RING_MAGIC
    return new Ring(sab, byteOffset)
  }

  /** Wraps an existing ring (e.g. a buffer posted to a Worker) laid out at `byteOffset`. */
  constructor(sab: SharedArrayBuffer, byteOffset = 0) {
    const hdr = new Int32Array(sab, byteOffset, RING_HEADER_BYTES / 4)
    const cap = hdr[CAPACITY]
    if (hdr[MAGIC] !== RING_MAGIC || !isPowerOfTwo(cap) || sab.byteLength < byteOffset + RING_HEADER_BYTES + cap) {
      throw new HotError('RING_BUFFER_INVALID', `no ring at byte ${byteOffset} of a ${sab.byteLength}-byte buffer`)
    }
    this.sab = sab
    this.byteOffset = byteOffset
    this.capacity = cap
    this.mask = cap - 1
    this.hdr = hdr
    this.counters = new Float64Array(sab, byteOffset, RING_HEADER_BYTES / 8)
    const data = byteOffset + RING_HEADER_BYTES
    this.u8 = new Uint8Array(sab, data, cap)
    this.i32 = new Int32Array(sab, data, cap / 4)
    this.f64 = new Float64Array(sab, data, cap / 8)
    this.wpos = Atomics.load(hdr, WRITE)
    this.published = this.wpos
    this.earlyWrapAt = cap
    this.rpos = Atomics.load(hdr, READ)
  }

  // ---- producer ----

  /** Pushes one record; false when there is no room (back-pressure, counted), never a drop. */
  push(subject: string, payload: string, receivedAtUs: number, kind: number): boolean {
    return this.pushParts(subject, payload, payload.length, '', receivedAtUs, kind)
  }

  /**
   * Pushes a record whose payload is head[0, headEnd) followed by suffix, without building
   * the joined string (the connector: frame up to its final `}`, then
   * `,"_shard_id":N,"_received_at":T}`). False when full.
   */
  pushParts(subject: string, head: string, headEnd: number, suffix: string, receivedAtUs: number, kind: number): boolean {
    const cap = this.capacity
    const w = this.wpos
    // acquire: the consumer's published READ (bytes before it are free again)
    const read = Atomics.load(this.hdr, READ)
    let free = cap - ((w - read) >>> 0)
    let off = w & this.mask
    let tail = cap - off
    // upper bound on the encoded size: 3 UTF-8 bytes per UTF-16 unit
    const bound = align8(RING_RECORD_HEADER_BYTES + 3 * (subject.length + head.length + suffix.length))
    if (bound > tail || bound > free || (off >= this.earlyWrapAt && free === cap)) {
      const exact = align8(exactSize(subject, head, headEnd, suffix))
      if (exact > cap) {
        throw new HotError('RING_RECORD_TOO_LARGE', `record of ${exact} bytes exceeds ring capacity ${cap} (subject ${subject})`)
      }
      off = this.room(exact, w, read, free, off, tail)
      if (off < 0) return false
      free = cap - ((this.wpos - read) >>> 0)
      tail = cap - off
    }
    const u8 = this.u8
    let p = off + RING_RECORD_HEADER_BYTES
    // never past the free space: head is encoded whole (then cut at headEnd), and its bytes after
    // headEnd must not land on records the consumer has not read yet
    const end = off + Math.min(tail, bound, free)
    const sb = encoder.encodeInto(subject, u8.subarray(p, end)).written
    p += sb
    const hr = encoder.encodeInto(head, u8.subarray(p, end))
    let pb = hr.written
    if (headEnd !== head.length) {
      // bytes of head[0, headEnd): equal to headEnd when head is ASCII and was written whole (it
      // may be cut short at `end`), else re-encode the prefix
      pb = hr.read === head.length && pb === head.length ? headEnd : encoder.encodeInto(head.slice(0, headEnd), u8.subarray(p, end)).written
    }
    if (suffix.length > 0) pb += encoder.encodeInto(suffix, u8.subarray(p + pb, end)).written
    this.commit(off, sb, pb, kind, receivedAtUs)
    return true
  }

  /**
   * Pushes a frame received as bytes: subject `subject` (UTF-8 bytes, e.g.
   * SubjectCache.dataBytes) and payload `frame[start, end)` followed by
   * `,"_shard_id":{shardId},"_received_at":{receivedAtUs}}` — `end` is the index of the
   * frame's final `}` (ScanResult.lastBrace), which the suffix replaces. The same record as
   * `pushParts(subject, frame, lastBrace, suffix, …)` of the decoded strings, written without
   * strings: three native copies (the suffix bytes are built once per shard id and stamp).
   * False when full (counted).
   * receivedAtUs and shardId are written as `${n}` would (digits for integers).
   */
  pushFrame(subject: Uint8Array, frame: Uint8Array, start: number, end: number, shardId: number, receivedAtUs: number, kind: number): boolean {
    return this.pushBytes(subject, frame, 0, 0, 0, EMPTY_BYTES, start, end, shardId, receivedAtUs, kind)
  }

  /**
   * `pushFrame` whose subject is `head` followed by the frame's own bytes
   * `frame[tokenStart, tokenEnd)`, each written as `map[byte]` (a 256-entry byte table): for a
   * ticker whose subject token is its bytes with a one-for-one translation (subject.ts
   * `plainToken`, `TOKEN_BYTE`), the subject is written from the frame itself (in cache), with no
   * per-ticker subject kept or read. `head` is SubjectCache.headBytes(kind).
   * `mapFrom` (tokenStart ≤ mapFrom ≤ tokenEnd; default tokenStart): the bytes before it are
   * copied as they are, in one native copy, the caller knowing that `map` leaves them unchanged
   * (ScanResult.marketTickerOdd: a ticker's letters, digits and `-`); only the rest go through
   * `map` byte by byte.
   */
  pushFrameTicker(head: Uint8Array, frame: Uint8Array, tokenStart: number, tokenEnd: number, map: Uint8Array, start: number, end: number, shardId: number, receivedAtUs: number, kind: number, mapFrom = tokenStart): boolean {
    if (!(tokenStart >= 0 && tokenStart <= mapFrom && mapFrom <= tokenEnd && tokenEnd <= frame.length)) {
      throw new HotError('RING_RANGE_INVALID', tokenStart >= 0 && tokenStart <= tokenEnd && tokenEnd <= frame.length
        ? `mapFrom ${mapFrom} is not inside the token range [${tokenStart}, ${tokenEnd}]`
        : `token range [${tokenStart}, ${tokenEnd}) is not inside a buffer of ${frame.length} bytes`)
    }
    return this.pushBytes(head, frame, tokenStart, mapFrom, tokenEnd, map, start, end, shardId, receivedAtUs, kind)
  }

  /** pushFrame / pushFrameTicker: subject `subject` + frame[ts, tm) + map[frame[tm, te)], payload frame[start, end) + suffix. */
  private pushBytes(subject: Uint8Array, frame: Uint8Array, ts: number, tm: number, te: number, map: Uint8Array, start: number, end: number, shardId: number, receivedAtUs: number, kind: number): boolean {
    if (!(start >= 0 && start <= end && end <= frame.length)) {
      throw new HotError('RING_RANGE_INVALID', `frame range [${start}, ${end}) is not inside a buffer of ${frame.length} bytes`)
    }
    const cap = this.capacity
    const w = this.wpos
    // acquire: the consumer's published READ (bytes before it are free again)
    const read = Atomics.load(this.hdr, READ)
    const free = cap - ((w - read) >>> 0)
    let off = w & this.mask
    const tail = cap - off
    // the suffix bytes are the same for every frame of one socket read (one stamp per read)
    if (receivedAtUs !== this.suffixTs || shardId !== this.suffixShard) this.setSuffix(shardId, receivedAtUs)
    const suffix = this.suffix
    const sb = subject.length + te - ts
    const pb = end - start + suffix.length
    const size = RING_RECORD_HEADER_BYTES + sb + pb
    const exact = align8(size)
    if (exact > tail || exact > free || (off >= this.earlyWrapAt && free === cap)) {
      if (exact > cap) {
        throw new HotError('RING_RECORD_TOO_LARGE', `record of ${exact} bytes exceeds ring capacity ${cap} (subject ${decoder.decode(subject)}${decoder.decode(Uint8Array.from(frame.subarray(ts, te), (b) => map[b]))})`)
      }
      off = this.room(exact, w, read, free, off, tail)
      if (off < 0) return false
    }
    const u8 = this.u8
    let p = off + RING_RECORD_HEADER_BYTES
    u8.set(subject, p)
    let q = p + subject.length
    if (tm > ts) {
      copyBytes.call(frame, u8, q, ts, tm)
      q += tm - ts
    }
    for (let i = tm; i < te; i++, q++) u8[q] = map[frame[i]]
    p += sb
    copyBytes.call(frame, u8, p, start, end)
    u8.set(suffix, p + end - start)
    this.commit(off, sb, pb, kind, receivedAtUs)
    return true
  }

  /**
   * Where a record of `exact` bytes that does not fit at `off` (before the end, or in the free
   * space), or finds the ring empty past `earlyWrapAt`, can go: after a PAD to the end of the
   * data when it fits at offset 0, else nowhere (-1: refused, counted, the consumer woken if a
   * pad was published).
   */
  private room(exact: number, w: number, read: number, free: number, off: number, tail: number): number {
    const early = off >= this.earlyWrapAt && free === this.capacity && exact <= off
    if ((exact > tail || early) && tail <= free) {
      this.i32[off >> 2] = PAD
      this.wpos = (w + tail) | 0
      // publish: the pad (and records pending before it), so the consumer can free the tail
      // even if the record waits; after an early wrap the pad holds most of the ring, so the
      // consumer is woken now to free it (it does at once: readBatch)
      if (early) this.publish()
      else this.publishWrite()
      free -= tail
      off = 0
      tail = this.capacity
    }
    if (exact > free || exact > tail) {
      this.counters[FULL]++
      this.readAtFull = read
      // what is pending must become visible, or the consumer never frees the room
      this.publish()
      return -1
    }
    return off
  }

  /** Writes the record header of a record whose subject and payload are in place at `off`, and publishes it. */
  private commit(off: number, sb: number, pb: number, kind: number, receivedAtUs: number): void {
    const size = RING_RECORD_HEADER_BYTES + sb + pb
    const at = off >> 2
    this.i32[at] = size
    this.i32[at + 1] = kind
    this.f64[(off >> 3) + 1] = receivedAtUs
    this.i32[at + 4] = sb
    this.i32[at + 5] = pb
    this.wpos = (this.wpos + align8(size)) | 0
    this.unpublished++
    if (!this.deferPublish) this.publish()
  }

  /**
   * Producer: publishes the records pushed since the last publish (the consumer's
   * Atomics.load(WRITE) then sees them whole) and wakes the consumer if it sleeps. Every push
   * does this itself unless `deferPublish` is set.
   */
  publish(): void {
    this.publishWrite()
    this.wake()
  }

  private publishWrite(): void {
    if (this.published === this.wpos) return
    this.published = this.wpos
    this.counters[WRITTEN] += this.unpublished
    this.unpublished = 0
    // publish: every record before wpos is complete
    Atomics.store(this.hdr, WRITE, this.wpos)
  }

  /** The bytes of `,"_shard_id":{id},"_received_at":{receivedAtUs}}` for pushFrame (digits as `${n}` writes them). */
  private setSuffix(shardId: number, receivedAtUs: number): void {
    const head = `,"_shard_id":${shardId},"_received_at":`
    if (isSafeUint(receivedAtUs)) {
      const len = uintLength(receivedAtUs)
      const b = new Uint8Array(head.length + len + 1)
      encoder.encodeInto(head, b)
      writeUintDigits(b, head.length, receivedAtUs, len)
      b[b.length - 1] = 125 // }
      this.suffix = b
    } else this.suffix = encoder.encode(`${head}${receivedAtUs}}`)
    this.suffixShard = shardId
    this.suffixTs = receivedAtUs
  }

  /** Producer: no more records. Wakes the consumer so it can drain and stop. */
  close(): void {
    this.publishWrite()
    // publish: CLOSED after every record; a consumer that sees it drains what is left
    Atomics.store(this.hdr, CLOSED, 1)
    Atomics.store(this.hdr, SLEEPING, 0)
    Atomics.notify(this.hdr, SLEEPING)
  }

  /** Producer: resolves when the consumer has freed space since the last refused push. */
  async waitWritable(timeoutMs = 1000): Promise<void> {
    // announce, then re-check; the consumer swaps P_WAITING to 0 and notifies after a commit
    Atomics.store(this.hdr, P_WAITING, 1)
    if (Atomics.load(this.hdr, READ) !== this.readAtFull) {
      Atomics.store(this.hdr, P_WAITING, 0)
      return
    }
    const r = Atomics.waitAsync(this.hdr, P_WAITING, 1, timeoutMs)
    if (r.async) await r.value
    Atomics.store(this.hdr, P_WAITING, 0)
  }

  private wake(): void {
    // the consumer announced a sleep: swap the flag to 0 (one notify per sleep) and wake it
    if (Atomics.load(this.hdr, SLEEPING) === 1 && Atomics.compareExchange(this.hdr, SLEEPING, 1, 0) === 1) {
      Atomics.notify(this.hdr, SLEEPING)
      this.counters[NOTIFIES]++
    }
  }

  // ---- consumer ----

  /**
   * Reads up to `max` records into `out` (reused objects) without freeing their space; call
   * `commitRead()` when done with them. Returns how many were read.
   */
  readBatch(out: RingRecord[], max = out.length): number {
    // acquire: every record before WRITE is complete
    const w = Atomics.load(this.hdr, WRITE)
    let r = this.rpos
    let n = 0
    while (r !== w && n < max) {
      const off = r & this.mask
      const size = this.i32[off >> 2]
      if (size === PAD) {
        const at = r
        r = (r + this.capacity - off) | 0
        // a pad first in the batch, with nothing read before it still in use, is freed at once:
        // after an early wrap it holds most of the ring until it is
        if (n === 0 && at === Atomics.load(this.hdr, READ)) {
          this.rpos = r
          this.commitRead()
        }
        continue
      }
      this.fill(out[n++], off, size)
      r = (r + align8(size)) | 0
    }
    this.rpos = r
    this.uncounted += n
    return n
  }

  /** Frees the space of everything read so far and wakes a producer waiting for it. */
  commitRead(): void {
    const done = this.rpos
    const before = Atomics.load(this.hdr, READ)
    if (done === before) return
    this.counters[READ_COUNT] += this.uncounted
    this.uncounted = 0
    // publish: the producer may now overwrite the bytes before `done`
    Atomics.store(this.hdr, READ, done)
    if (Atomics.load(this.hdr, P_WAITING) === 1 && Atomics.compareExchange(this.hdr, P_WAITING, 1, 0) === 1) {
      Atomics.notify(this.hdr, P_WAITING)
    }
  }

  /** Reads up to `max` records, calling fn with a reused record (valid during the call). */
  drain(fn: (record: RingRecord) => void, max = Infinity): number {
    const w = Atomics.load(this.hdr, WRITE)
    let n = 0
    while (this.rpos !== w && n < max) {
      const off = this.rpos & this.mask
      const size = this.i32[off >> 2]
      if (size === PAD) {
        this.rpos = (this.rpos + this.capacity - off) | 0
        continue
      }
      this.fill(this.scratch, off, size)
      this.rpos = (this.rpos + align8(size)) | 0
      n++
      fn(this.scratch)
    }
    this.uncounted += n
    this.commitRead()
    return n
  }

  /** Consumer: true when a record (or a pad) is waiting. */
  readable(): boolean {
    return Atomics.load(this.hdr, WRITE) !== this.rpos
  }

  get closed(): boolean {
    return Atomics.load(this.hdr, CLOSED) === 1
  }

  /**
   * Consumer: resolves when something may be readable, the ring is closed, `wakeConsumer` was
   * called, or after timeoutMs. Never spins.
   */
  async waitReadable(timeoutMs = 1000): Promise<void> {
    // announce the sleep, then re-check (see the header for why this cannot lose a wake-up)
    Atomics.store(this.hdr, SLEEPING, 1)
    if (this.readable() || this.closed) {
      Atomics.store(this.hdr, SLEEPING, 0)
      return
    }
    const r = Atomics.waitAsync(this.hdr, SLEEPING, 1, timeoutMs)
    if (r.async) await r.value
    Atomics.store(this.hdr, SLEEPING, 0)
  }

  /** Wakes a consumer sleeping in waitReadable (e.g. to stop it); any thread may call it. */
  wakeConsumer(): void {
    Atomics.store(this.hdr, SLEEPING, 0)
    Atomics.notify(this.hdr, SLEEPING)
  }

  // ---- both sides ----

  /** Bytes in use (may be stale by the time it returns). */
  get usedBytes(): number {
    return (Atomics.load(this.hdr, WRITE) - Atomics.load(this.hdr, READ)) >>> 0
  }

  /** Counters from the header: records written/read, back-pressure events, wake-ups. */
  stats(): { written: number; read: number; full: number; notifies: number; usedBytes: number } {
    const c = this.counters
    return { written: c[WRITTEN], read: c[READ_COUNT], full: c[FULL], notifies: c[NOTIFIES], usedBytes: this.usedBytes }
  }

  private fill(rec: RingRecord, off: number, size: number): void {
    const at = off >> 2
    const sb = this.i32[at + 4]
    const pb = this.i32[at + 5]
    const p = off + RING_RECORD_HEADER_BYTES
    rec.set(this.u8, p, p + sb, p + sb + pb, this.f64[(off >> 3) + 1], this.i32[at + 1])
    if (RING_RECORD_HEADER_BYTES + sb + pb !== size) {
      throw new HotError('RING_CORRUPT', `record at offset ${off} has size ${size} but parts of ${sb} + ${pb} bytes`)
    }
  }
}

function checkCapacity(capacityBytes: number): void {
  if (!isPowerOfTwo(capacityBytes) || capacityBytes < MIN_CAPACITY || capacityBytes > MAX_CAPACITY) {
    invalidOption('capacityBytes', `a power of two from ${MIN_CAPACITY} to ${MAX_CAPACITY}`, capacityBytes)
  }
}

function align8(n: number): number {
  return (n + 7) & ~7
}

/** Buffer#copy(target, targetStart, sourceStart, sourceEnd): a native range copy without a view object. */
/** Buffer#toString(encoding, start, end) on any Uint8Array: a native decode without a view. */
const utf8Slice = Buffer.prototype.toString as (this: Uint8Array, encoding: 'utf8', start: number, end: number) => string

const copyBytes = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number

/** Exact bytes of a record (only off the fast path: near the end of the data or near full). */
function exactSize(subject: string, head: string, headEnd: number, suffix: string): number {
  const h = headEnd === head.length ? head : head.slice(0, headEnd)
  return RING_RECORD_HEADER_BYTES + Buffer.byteLength(subject) + Buffer.byteLength(h) + Buffer.byteLength(suffix)
}
