/**
 * The connector's hot path, on the socket's thread: scan the envelope (no full JSON.parse),
 * check seq per (connection, sid), pick the subject from a cache, append `_shard_id` and
 * `_received_at` to the raw bytes (no re-serialisation) and push into the SPSC ring. Every
 * frame is forwarded: unknown types go to a control subject as they are, and a frame that is not
 * a JSON object goes verbatim (a string) inside an `invalid` control record, stamped like any
 * frame, so every record is a JSON object that carries its stamps (and in the archive, its
 * sequence); both counted.
 * A full ring is back-pressure: frames wait in an ordered overflow queue (counted), never dropped.
 */
import { FrameScanner, SCAN_INVALID } from '../../hot/scan.ts'
import { KIND_EVENT_LIFECYCLE, KIND_NONE, kindOfType, plainTokenFrom, SubjectCache, TOKEN_BYTE } from '../../hot/subject.ts'
import { SEQ_GAP, SeqTracker } from '../../hot/seq-tracker.ts'

/** Record kinds in the ring's flags field (data kinds 0..4 come from src/hot/subject.ts). */
export const KIND_CONTROL = 15

/** Where records go: the SPSC ring (or, for tests, anything with the same shape). */
export interface RecordOut {
  /** payload = frame.slice(0, end) + suffix. Returns false when full. */
  pushParts(subject: string, frame: string, end: number, suffix: string, receivedAtUs: number, kind: number): boolean
  /**
   * payload = frame[start, end) + `,"_shard_id":{shardId},"_received_at":{receivedAtUs}}`, from
   * bytes (the raw WebSocket path). Returns false when full.
   */
  pushFrame(subject: Uint8Array, frame: Uint8Array, start: number, end: number, shardId: number, receivedAtUs: number, kind: number): boolean
  /**
   * pushFrame whose subject is `head` followed by `map[b]` of each byte b of
   * `frame[tokenStart, tokenEnd)` (Ring.pushFrameTicker; the bytes before `mapFrom` are known
   * to map to themselves and are copied as they are). Returns false when full.
   */
  pushFrameTicker(head: Uint8Array, frame: Uint8Array, tokenStart: number, tokenEnd: number, map: Uint8Array, start: number, end: number, shardId: number, receivedAtUs: number, kind: number, mapFrom: number): boolean
  /** Resolves when the consumer has freed space since the last refused push (or after a safety timeout). */
  waitWritable?(): Promise<void>
}

export interface IngestHooks {
  /** A seq gap on (connection, sid); the shard re-snapshots orderbook subscriptions. */
  gap(shardId: number, connId: string, sid: number, expected: number, got: number): void
  frame(shardId: number, type: string): void
  /** A frame that is not a JSON object (`text`, the frame as received). */
  invalid(shardId: number, text: string): void
  unknown(shardId: number, type: string): void
}

/** A frame that found the ring full: text (`frame`) or bytes (`bytes`, copied), in arrival order. */
interface Pending {
  subject: string
  frame: string
  end: number
  suffix: string
  t: number
  kind: number
  subjectBytes: Uint8Array | null
  bytes: Uint8Array | null
  shardId: number
}

const decoder = new TextDecoder()

/**
 * The control record of a frame that is not a JSON object: the frame's text verbatim in `raw`
 * (JSON.parse(record).raw === the frame), `_shard_id`/`_received_at` appended as to any frame.
 */
export function invalidRecord(text: string): string {
  return `{"type":"ssmd_control","kind":"invalid","reason":"not a JSON object","raw":${JSON.stringify(text)}}`
}

export class Ingest {
  /** Ticker strings only on request (tickerAt): a plain ticker's subject is written from the frame's bytes. */
  readonly scanner = new FrameScanner({ tickerStrings: false })
  readonly subjects: SubjectCache
  readonly seq = new SeqTracker()
  /** Frames that found the ring full, in arrival order. */
  private readonly overflow: Pending[] = []
  backpressureEvents = 0
  forwarded = 0

  constructor(prefix: string, private readonly out: RecordOut, private readonly hooks: IngestHooks) {
    this.subjects = new SubjectCache(prefix)
  }

  /**
   * Handles one frame. Returns the command id when the frame is a control reply
   * (subscribed/ok/unsubscribed/error with an id), else -1. Control replies are not published.
   */
  frame(shardId: number, connId: string, text: string, t: number): number {
    const r = this.scanner.scan(text)
    if (r.status === SCAN_INVALID) {
      this.hooks.invalid(shardId, text)
      const body = invalidRecord(text)
      this.put(this.subjects.controlSubject('invalid'), body, body.length - 1, this.suffix(shardId, t), t, KIND_CONTROL)
      return -1
    }
    const type = r.type ?? ''
    const kind = kindOfType(r.type)
    if (kind === KIND_NONE) {
      if (type === 'subscribed' || type === 'ok' || type === 'unsubscribed' || type === 'error') {
        this.hooks.frame(shardId, type)
        if (r.id >= 0) return r.id
        if (type !== 'error') return -1
        // An error without a command id: keep it, on the control subject.
        this.put(this.subjects.controlSubject('error'), text, r.lastBrace, this.suffix(shardId, t), t, KIND_CONTROL)
        return -1
      }
      this.hooks.unknown(shardId, type)
      this.put(this.subjects.controlSubject('unknown'), text, r.lastBrace, this.suffix(shardId, t), t, KIND_CONTROL)
      return -1
    }
    this.hooks.frame(shardId, type)
    if (r.sid >= 0 && r.seq >= 0) {
      if (this.seq.check(connId, r.sid, r.seq) === SEQ_GAP) this.hooks.gap(shardId, connId, r.sid, this.seq.expected, r.seq)
    }
    const ticker = kind === 4 ? r.eventTicker : r.marketTicker
    if (ticker === null || ticker === '') {
      // A data frame without its id field: forward it where it can be found, never drop it.
      this.hooks.unknown(shardId, `${type}:no-ticker`)
      this.put(this.subjects.controlSubject('unknown'), text, r.lastBrace, this.suffix(shardId, t), t, KIND_CONTROL)
      return -1
    }
    this.put(this.subjects.data(kind, ticker), text, r.lastBrace, this.suffix(shardId, t), t, kind)
    return -1
  }

  /**
   * `frame` for a frame received as UTF-8 bytes, `buf[start, end)` (valid only during the call:
   * copied into the ring, or into the overflow). Data frames take the byte path (scanBytes,
   * pushFrameTicker: the subject from the frame's own ticker bytes, no string and no per-market
   * lookup; a ticker whose token needs more than `.` → `_` takes its subject bytes from the
   * cache and pushFrame); control replies, unknown types and odd frames are decoded and take the
   * text path (rare).
   */
  frameBytes(shardId: number, connId: string, buf: Uint8Array, start: number, end: number, t: number): number {
    const r = this.scanner.scanBytes(buf, start, end)
    const kind = r.status === SCAN_INVALID ? KIND_NONE : kindOfType(r.type)
    if (kind === KIND_NONE) return this.frame(shardId, connId, decoder.decode(buf.subarray(start, end)), t)
    const ev = kind === KIND_EVENT_LIFECYCLE
    const a = ev ? r.eventTickerStart : r.marketTickerStart
    const e = ev ? r.eventTickerEnd : r.marketTickerEnd
    // the scan's pass over the ticker found where its letters, digits and `-` end: only the
    // bytes from there are checked here and mapped in the ring (-1: not a plain token)
    const from = plainTokenFrom(buf, a, e, ev ? r.eventTickerOdd : r.marketTickerOdd)
    const plain = from >= 0
    if (!plain) {
      const ticker = this.scanner.tickerAt(r, buf, ev)
      if (ticker === null || ticker === '') return this.frame(shardId, connId, decoder.decode(buf.subarray(start, end)), t)
    }
    this.hooks.frame(shardId, r.type as string)
    if (r.sid >= 0 && r.seq >= 0) {
      if (this.seq.check(connId, r.sid, r.seq) === SEQ_GAP) this.hooks.gap(shardId, connId, r.sid, this.seq.expected, r.seq)
    }
    if (this.overflow.length === 0) {
      const ok = plain
        ? this.out.pushFrameTicker(this.subjects.headBytes(kind), buf, a, e, TOKEN_BYTE, start, r.lastBrace, shardId, t, kind, from)
        : this.out.pushFrame(this.subjectBytes(kind, ev, buf), buf, start, r.lastBrace, shardId, t, kind)
      if (ok) {
        this.forwarded++
        return -1
      }
    }
    this.backpressureEvents++
    const subject = this.subjectBytes(kind, ev, buf)
    this.overflow.push({ subject: '', frame: '', end: r.lastBrace - start, suffix: '', t, kind, subjectBytes: subject, bytes: buf.slice(start, end), shardId })
    return -1
  }

  /** The subject bytes of the last scanBytes' ticker (read through the ticker cache when left as a range). */
  private subjectBytes(kind: number, ev: boolean, buf: Uint8Array): Uint8Array {
    const r = this.scanner.result
    const ticker = this.scanner.tickerAt(r, buf, ev)
    return this.subjects.dataBytesFor(kind, ticker as string, ev ? r.eventTickerId : r.marketTickerId)
  }

  /** `,"_shard_id":N,"_received_at":T}` replacing the frame's final `}`. */
  private suffix(shardId: number, t: number): string {
    return `,"_shard_id":${shardId},"_received_at":${t}}`
  }

  /** A connector-emitted control record (gap, reconnect, error) as JSON. */
  control(kind: string, fields: Record<string, unknown>, t: number): void {
    const body = JSON.stringify({ type: 'ssmd_control', kind, ts_us: t, ...fields })
    this.put(this.subjects.controlSubject(kind), body, body.length, '', t, KIND_CONTROL)
  }

  private put(subject: string, frame: string, end: number, suffix: string, t: number, kind: number): void {
    if (this.overflow.length === 0 && this.out.pushParts(subject, frame, end, suffix, t, kind)) {
      this.forwarded++
      return
    }
    this.backpressureEvents++
    this.overflow.push({ subject, frame, end, suffix, t, kind, subjectBytes: null, bytes: null, shardId: -1 })
  }

  /** Moves waiting frames into the ring, in order; returns how many are still waiting. */
  drainOverflow(): number {
    let i = 0
    while (i < this.overflow.length) {
      const p = this.overflow[i]
      const ok = p.bytes !== null
        ? this.out.pushFrame(p.subjectBytes as Uint8Array, p.bytes, 0, p.end, p.shardId, p.t, p.kind)
        : this.out.pushParts(p.subject, p.frame, p.end, p.suffix, p.t, p.kind)
      if (!ok) break
      this.forwarded++
      i++
    }
    if (i > 0) this.overflow.splice(0, i)
    return this.overflow.length
  }

  get waiting(): number {
    return this.overflow.length
  }
}
