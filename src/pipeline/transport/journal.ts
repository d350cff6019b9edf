/**
 * The local journal: an append-only, length-prefixed binary log in a directory, where NatsSink
 * keeps records while NATS is unreachable. Segments `segment-<12-digit id>.jnl` are replayed
 * oldest first and deleted once JetStream acked every record in them.
 *
 * Record layout (little endian):
 *   u32 bodyLength | u32 crc32(body) | body
 *   body = u16 subjectLength | subject (utf8) | u16 msgIdLength | msgId (utf8)
 *          | f64 receivedAtUs (NaN when absent) | payload (the rest)
 * Each append is one write + fsync, so a crash loses at most the batch being written; a torn or
 * corrupt tail (short record, bad crc) ends the segment's readable records and is logged.
 * Segments found at open are never appended to: new records start a new segment.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../core/errors.ts'
import { silentLogger, type Logger } from '../core/log.ts'
import { TransportError } from './errors.ts'
import { lockJournalDir } from './journal-lock.ts'

export interface JournalRecord {
  subject: string
  msgId: string
  payload: Uint8Array
  receivedAtUs?: number
}

export const JOURNAL_DEFAULTS = {
  /** A segment is sealed and a new one started past this size. */
  SEGMENT_MAX_BYTES: 64 * 1024 * 1024,
}

export interface JournalOptions {
  /** @default JOURNAL_DEFAULTS.SEGMENT_MAX_BYTES */
  segmentMaxBytes?: number
  log?: Logger
}

const HEAD_BYTES = 8
const FIXED_BODY_BYTES = 2 + 2 + 8
const NAME = /^segment-(\d{12})\.jnl$/

interface Segment {
  records: number
  bytes: number
}

export class Journal {
  readonly dir: string
  readonly #segmentMaxBytes: number
  readonly #log: Logger
  #segments = new Map<number, Segment>()
  #active: { id: number; fd: number } | undefined
  #nextId = 1
  #records = 0
  #bytes = 0
  #lock: { release(): void } | undefined

  private constructor(dir: string, segmentMaxBytes: number, log: Logger) {
    this.dir = dir
    this.#segmentMaxBytes = segmentMaxBytes
    this.#log = log
  }

  /**
   * Opens (creating) the directory, takes its lock (journal-lock.ts: JOURNAL_LOCKED while another
   * live process journals there) and takes stock of leftover segments.
   */
  static open(dir: string, options: JournalOptions = {}): Journal {
    const max = options.segmentMaxBytes ?? JOURNAL_DEFAULTS.SEGMENT_MAX_BYTES
    if (!Number.isSafeInteger(max) || max <= 0) {
      throw new UsageError(`options.segmentMaxBytes must be a positive integer (got ${max})`, 'OPTIONS')
    }
    const j = new Journal(dir, max, options.log ?? silentLogger())
    mkdirSync(dir, { recursive: true })
    j.#lock = lockJournalDir(dir, j.#log)
    const ids = readdirSync(dir)
      .map((f) => NAME.exec(f)?.[1])
      .filter((m): m is string => m !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
    for (const id of ids) {
      const seg = { records: j.read(id).length, bytes: statSync(j.#path(id)).size }
      j.#segments.set(id, seg)
      j.#records += seg.records
      j.#bytes += seg.bytes
      j.#nextId = id + 1
    }
    return j
  }

  /** Records and bytes waiting in the journal. */
  get records(): number {
    return this.#records
  }
  get bytes(): number {
    return this.#bytes
  }

  /** Segment ids, oldest first (the active one last). */
  segments(): number[] {
    return [...this.#segments.keys()]
  }

  /** True when `id` is the segment appends currently go to. */
  isActive(id: number): boolean {
    return this.#active?.id === id
  }

  /** Appends the records in order as one write, then fsyncs. */
  append(records: readonly JournalRecord[]): void {
    if (records.length === 0) return
    const buf = encode(records)
    if (this.#active) {
      const seg = this.#segments.get(this.#active.id)!
      if (seg.bytes > 0 && seg.bytes + buf.length > this.#segmentMaxBytes) this.seal()
    }
    const active = (this.#active ??= this.#startSegment())
    try {
      let off = 0
      while (off < buf.length) off += writeSync(active.fd, buf, off, buf.length - off)
      fsyncSync(active.fd)
    } catch (e) {
      throw new TransportError('JOURNAL_IO', `cannot append to journal ${this.#path(active.id)}: ${(e as Error).message}`, { cause: e })
    }
    const seg = this.#segments.get(active.id)!
    seg.records += records.length
    seg.bytes += buf.length
    this.#records += records.length
    this.#bytes += buf.length
  }

  /** Closes the active segment: the next append starts a new one. */
  seal(): void {
    if (!this.#active) return
    closeSync(this.#active.fd)
    this.#active = undefined
  }

  /** The readable records of a segment, in order. */
  read(id: number): JournalRecord[] {
    const path = this.#path(id)
    const buf = readFileSync(path)
    const { records, end } = decode(buf)
    if (end < buf.length) {
      this.#log.warn({ segment: path, offset: end, droppedBytes: buf.length - end }, 'journal segment has a torn or corrupt tail; records after the offset are skipped')
    }
    return records
  }

  /** Deletes a sealed segment (its records are acked). */
  remove(id: number): void {
    if (this.isActive(id)) this.seal()
    const seg = this.#segments.get(id)
    if (!seg) return
    unlinkSync(this.#path(id))
    this.#segments.delete(id)
    this.#records -= seg.records
    this.#bytes -= seg.bytes
  }

  /** Seals the active segment and releases the directory's lock. */
  close(): void {
    this.seal()
    this.#lock?.release()
    this.#lock = undefined
  }

  #startSegment(): { id: number; fd: number } {
    const id = this.#nextId++
    const fd = openSync(this.#path(id), 'a')
    this.#segments.set(id, { records: 0, bytes: 0 })
    return { id, fd }
  }

  #path(id: number): string {
    return join(this.dir, `segment-${String(id).padStart(12, '0')}.jnl`)
  }
}

const textEncoder = new TextEncoder()

function encode(records: readonly JournalRecord[]): Buffer {
  let total = 0
  const subjects: Uint8Array[] = new Array(records.length)
  const ids: Uint8Array[] = new Array(records.length)
  for (let i = 0; i < records.length; i++) {
    subjects[i] = textEncoder.encode(records[i].subject)
    ids[i] = textEncoder.encode(records[i].msgId)
    total += HEAD_BYTES + FIXED_BODY_BYTES + subjects[i].length + ids[i].length + records[i].payload.length
  }
  const buf = Buffer.allocUnsafe(total)
  let o = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    const start = o + HEAD_BYTES
    let p = start
    p = buf.writeUInt16LE(subjects[i].length, p)
    buf.set(subjects[i], p)
    p += subjects[i].length
    p = buf.writeUInt16LE(ids[i].length, p)
    buf.set(ids[i], p)
    p += ids[i].length
    p = buf.writeDoubleLE(r.receivedAtUs ?? Number.NaN, p)
    buf.set(r.payload, p)
    p += r.payload.length
    buf.writeUInt32LE(p - start, o)
    buf.writeUInt32LE(Bun.hash.crc32(buf.subarray(start, p)), o + 4)
    o = p
  }
  return buf
}

function decode(buf: Buffer): { records: JournalRecord[]; end: number } {
  const records: JournalRecord[] = []
  let o = 0
  while (o + HEAD_BYTES <= buf.length) {
    const len = buf.readUInt32LE(o)
    const start = o + HEAD_BYTES
    if (len < FIXED_BODY_BYTES || start + len > buf.length) break
    const body = buf.subarray(start, start + len)
    if (Bun.hash.crc32(body) !== buf.readUInt32LE(o + 4)) break
    let p = 0
    const sLen = body.readUInt16LE(p)
    p += 2
    const subject = body.toString('utf8', p, p + sLen)
    p += sLen
    const idLen = body.readUInt16LE(p)
    p += 2
    const msgId = body.toString('utf8', p, p + idLen)
    p += idLen
    const recv = body.readDoubleLE(p)
    p += 8
    const payload = new Uint8Array(body.subarray(p))
    records.push(Number.isNaN(recv) ? { subject, msgId, payload } : { subject, msgId, payload, receivedAtUs: recv })
    o = start + len
  }
  return { records, end: o }
}
