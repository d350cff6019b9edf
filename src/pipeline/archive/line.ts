/**
 * Archive lines: the payload bytes with fields appended before the final `}` (no
 * re-serialisation), and the reverse (`stripInjected`). Also the cheap envelope scan used for the
 * manifest and the unwrapping of seed 001's `{"ts","feed","data"}` lines.
 */
import { writeUint } from '../../hot/digits.ts'
import { ByteTickerCache } from '../../hot/ticker-cache.ts'

/** Fields the pipeline appends to a frame: connector (`_shard_id`, `_received_at`), archiver
 * (`_nats_seq`), the connector's file transport (`_seq`). */
export const INJECTED_FIELDS = ['_shard_id', '_received_at', '_nats_seq', '_seq'] as const

/** One record to archive. `seq` (NATS stream seq or connector seq) feeds the manifest and, when the
 * writer has a `seqField`, is appended as `"<seqField>":<seq>`; `suffix` is extra member text
 * appended before it (`"a":1,"b":2`, no leading comma). */
export interface ArchiveRecord {
  /** The frame; of bytes, only `payload[start, end)` when given (a message inside a socket chunk). */
  payload: Uint8Array | string
  start?: number
  end?: number
  seq?: number
  suffix?: string
}

/** Buffer#copy(target, targetStart, sourceStart, sourceEnd) on any Uint8Array: a native range copy without a view. */
const copyBytes = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number

const CLOSE = 0x7d
const OPEN = 0x7b
const NL = 0x0a

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

/** Called with each payload's bytes (`buf[start, end)`, trailing whitespace trimmed, before injection). */
export type LineVisitor = (buf: Buffer, start: number, end: number) => void

export interface EncodedBatch {
  buf: Buffer
  /** Payloads not ending in `}`: written unchanged. */
  unterminated: number
}

const seqPrefixes = new Map<string, Buffer>()

/** `"<field>":` as bytes, cached per field name. */
function seqPrefix(field: string): Buffer {
  let b = seqPrefixes.get(field)
  if (!b) seqPrefixes.set(field, (b = Buffer.from(`"${field}":`)))
  return b
}


/**
 * Encodes records into one buffer of `\n`-terminated lines, appending `suffix` and
 * `"<seqField>":<seq>` before each payload's final `}`. Trailing whitespace of a payload is dropped
 * (a line holds exactly one frame); a payload not ending in `}` is written unchanged. `alloc`
 * gives a buffer of at least `size` bytes (a writer reuses its own).
 */
export function encodeBatch(
  records: readonly ArchiveRecord[],
  seqField: string | null,
  visit?: LineVisitor,
  alloc: (size: number) => Buffer = Buffer.allocUnsafe,
): EncodedBatch {
  const prefix = seqField === null ? null : seqPrefix(seqField)
  const perRecord = 3 + (prefix ? prefix.length + 24 : 0)
  let size = 0
  for (const r of records) {
    const p = r.payload
    size += (typeof p === 'string' ? Buffer.byteLength(p) : (r.end ?? p.byteLength) - (r.start ?? 0)) + perRecord
    if (r.suffix) size += Buffer.byteLength(r.suffix) + 1
  }
  const buf = alloc(size)
  let at = 0
  let unterminated = 0
  for (const r of records) {
    const p = r.payload
    const start = at
    if (typeof p === 'string') at += buf.write(p, at)
    else at += copyBytes.call(p, buf, at, r.start ?? 0, r.end ?? p.byteLength)
    while (at > start && isWs(buf[at - 1])) at--
    visit?.(buf, start, at)
    const seq = prefix === null ? undefined : r.seq
    if (at === start || buf[at - 1] !== CLOSE) {
      unterminated++
    } else if (seq !== undefined || r.suffix) {
      let j = at - 2
      while (j >= start && isWs(buf[j])) j--
      at-- // the final } is written again after the injected members
      let first = j < start || buf[j] === OPEN
      if (r.suffix) {
        if (!first) buf[at++] = 0x2c
        at += buf.write(r.suffix, at)
        first = false
      }
      if (seq !== undefined) {
        if (!first) buf[at++] = 0x2c
        at += (prefix as Buffer).copy(buf, at)
        if (Number.isSafeInteger(seq) && seq >= 0) at = writeUint(buf, at, seq)
        else at += buf.write(String(seq), at)
      }
      buf[at++] = CLOSE
    }
    buf[at++] = NL
  }
  return { buf: buf.subarray(0, at), unterminated }
}

const TYPE_KEY = Buffer.from('"type":"')
const TICKER_KEY = Buffer.from('"market_ticker":"')
const QUOTE = 0x22
const BACKSLASH = 0x5c
const bufIndexOf = Buffer.prototype.indexOf as (this: Uint8Array, value: Uint8Array | number, byteOffset: number) => number

/** What `scanFrameAt` found; one object reused per scanner. */
export interface FrameScan {
  type: string
  ticker: string | null
  /** Answered by JSON.parse (the indexOf scan did not find the type). */
  parsed: boolean
}

/**
 * The envelope's `type` and `msg.market_ticker` of the frame in buf[start, end) (`out`, reused),
 * found with indexOf and read as strings interned in `strings` (no string per line after the first
 * of each type and market); JSON.parse when the type is not found that way. `type` is `unknown`
 * when the frame is not JSON; a ticker holding a backslash reads as null.
 */
export function scanFrameAt(buf: Uint8Array, start: number, end: number, strings: ByteTickerCache, out: FrameScan): FrameScan {
  const type = stringAfter(buf, start, end, TYPE_KEY, strings)
  if (type !== null) {
    out.type = type
    out.ticker = stringAfter(buf, start, end, TICKER_KEY, strings)
    out.parsed = false
    return out
  }
  out.parsed = true
  try {
    const o = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8')) as { type?: unknown; msg?: { market_ticker?: unknown } }
    out.ticker = typeof o?.msg?.market_ticker === 'string' ? o.msg.market_ticker : null
    out.type = typeof o?.type === 'string' ? o.type : 'unknown'
  } catch {
    out.type = 'unknown'
    out.ticker = null
  }
  return out
}

/** The string after the first `key` in buf[start, end) up to the next `"`; null when absent or escaped. */
function stringAfter(buf: Uint8Array, start: number, end: number, key: Uint8Array, strings: ByteTickerCache): string | null {
  const i = bufIndexOf.call(buf, key, start)
  if (i < 0 || i + key.length > end) return null
  const a = i + key.length
  const e = bufIndexOf.call(buf, QUOTE, a)
  if (e < 0 || e >= end) return null
  for (let k = a; k < e; k++) if (buf[k] === BACKSLASH) return null
  return strings.get(buf, a, e) ?? null
}

/** The `type` of the connector's own control records (gap, reconnect, error…; DESIGN §5). */
export const CONTROL_TYPE = 'ssmd_control'

/**
 * The kind of the control record in buf[start, end) and, for a gap, the exchange sequence numbers
 * it says are missing (`missing`, else `got - expected`; null when it says neither). Reads the
 * connector's `{"type":"ssmd_control","kind":…}` and the older shape with the fields under `msg`.
 * Null when the frame is not a JSON object with a kind. Parses the frame: call it for control
 * records only (they are rare).
 */
export function readControl(buf: Uint8Array, start: number, end: number): { kind: string; missing: number | null } | null {
  let o: Record<string, unknown>
  try {
    o = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8'))
  } catch {
    return null
  }
  if (typeof o !== 'object' || o === null) return null
  const f = typeof o.kind === 'string' ? o : typeof o.msg === 'object' && o.msg !== null ? (o.msg as Record<string, unknown>) : o
  if (typeof f.kind !== 'string') return null
  const missing = typeof f.missing === 'number' ? f.missing
    : typeof f.got === 'number' && typeof f.expected === 'number' ? f.got - f.expected
    : null
  return { kind: f.kind, missing: missing !== null && Number.isFinite(missing) && missing > 0 ? missing : null }
}

const scanStrings = new ByteTickerCache(10_000, 256)

/** `scanFrameAt` over a view holding exactly one frame (a fresh result). */
export function scanFrame(view: Uint8Array): FrameScan {
  return scanFrameAt(view, 0, view.length, scanStrings, { type: '', ticker: null, parsed: false })
}

function injectedMemberAt(line: string, a: number, b: number): boolean {
  if (line.charCodeAt(a) !== 0x22) return false
  for (const f of INJECTED_FIELDS) {
    if (!line.startsWith(f, a + 1) || !line.startsWith('":', a + 1 + f.length)) continue
    let k = a + 3 + f.length
    if (line.charCodeAt(k) === 0x2d) k++
    if (k >= b) return false
    for (; k < b; k++) {
      const c = line.charCodeAt(k)
      if (c < 0x30 || c > 0x39) return false
    }
    return true
  }
  return false
}

/**
 * The original frame text of an archive line: removes the trailing integer members `_shard_id`,
 * `_received_at`, `_nats_seq`, `_seq` that the pipeline appended, only at the end of the top-level
 * object. Anything else (including those names inside nested objects) is left as it is.
 */
export function stripInjected(line: string): string {
  let end = line.length
  while (end > 0 && isWs(line.charCodeAt(end - 1))) end--
  if (end === 0 || line.charCodeAt(end - 1) !== CLOSE) return line
  const close = end - 1
  let cut = close
  for (;;) {
    const comma = line.lastIndexOf(',', cut - 1)
    if (comma < 0) {
      if (line.charCodeAt(0) === OPEN && cut > 1 && injectedMemberAt(line, 1, cut)) cut = 1
      break
    }
    if (!injectedMemberAt(line, comma + 1, cut)) break
    cut = comma
  }
  return cut === close ? line.slice(0, end) : line.slice(0, cut) + '}'
}

/** Epoch microseconds of an RFC 3339 time, keeping sub-millisecond digits (Go writes nanoseconds). */
export function rfc3339Micros(text: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text)
  if (!m) return Date.parse(text) * 1000
  const micros = m[2] ? Number((m[2] + '00000').slice(0, 6)) : 0
  return Date.parse(m[1] + m[3]) * 1000 + micros
}

const SEED_PREFIX = '{"ts":"'

/**
 * Unwraps a seed 001 line `{"ts":"<RFC3339>","feed":"kalshi","data":{…frame…}}` to the raw frame
 * with the line's `ts` appended as `"_received_at":<µs epoch>` (the same field live lines carry,
 * so `stripInjected` gives back the frame). Returns null for a line that is not in that format.
 */
export function unwrapSeedLine(line: string): string | null {
  if (!line.startsWith(SEED_PREFIX)) return null
  const tsEnd = line.indexOf('"', SEED_PREFIX.length)
  const dataAt = tsEnd < 0 ? -1 : line.indexOf(',"data":', tsEnd)
  let end = line.length
  while (end > 0 && isWs(line.charCodeAt(end - 1))) end--
  let ts: string
  let frame: string
  if (dataAt > 0 && line.charCodeAt(dataAt + 8) === OPEN && line.charCodeAt(end - 2) === CLOSE) {
    ts = line.slice(SEED_PREFIX.length, tsEnd)
    frame = line.slice(dataAt + 8, end - 1)
  } else {
    try {
      const o = JSON.parse(line) as { ts?: unknown; data?: unknown }
      if (typeof o.ts !== 'string' || o.data === undefined) return null
      ts = o.ts
      frame = JSON.stringify(o.data)
    } catch {
      return null
    }
  }
  const micros = rfc3339Micros(ts)
  if (!Number.isFinite(micros) || frame.charCodeAt(frame.length - 1) !== CLOSE) return frame
  return frame.length === 2 ? `{"_received_at":${micros}}` : `${frame.slice(0, -1)},"_received_at":${micros}}`
}
