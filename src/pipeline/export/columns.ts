/**
 * The typed columns of each record type, from the one record parser's units (records/types.ts):
 * prices in dollars, sizes in contracts, times epoch ms (UTC timestamps in the files; `received_at`
 * in µs, as the archive holds it). Every type
 * starts with ticker, ts, received_at and ends with the sequences, so a union by name lines up.
 */
import type { MarketRecord, RecordType } from '../records/index.ts'

/** `timestamp`: epoch ms; `timestamp_us`: epoch µs (the receive stamp keeps the archive's precision). */
export type ColumnKind = 'string' | 'double' | 'int64' | 'int32' | 'timestamp' | 'timestamp_us'
export type CellValue = string | number | null

export interface Column {
  readonly name: string
  readonly kind: ColumnKind
  readonly get: (r: MarketRecord) => CellValue
  /** A string column whose values are mostly distinct (ids, raw lines): copied, not interned. */
  readonly unique?: boolean
}

type Of<T extends RecordType> = Extract<MarketRecord, { type: T }>
const col = <T extends RecordType>(name: string, kind: ColumnKind, get: (r: Of<T>) => CellValue | undefined, unique = false): Column =>
  ({ name, kind, get: (r) => get(r as Of<T>) ?? null, unique })

const levels = (ls: readonly (readonly [number, number])[]) => JSON.stringify(ls)

const HEAD: Column[] = [
  col('ticker', 'string', (r) => r.ticker || null),
  col('ts', 'timestamp', (r) => r.ts || null),
  col('received_at', 'timestamp_us', (r) => receivedAtUs(r.raw) ?? (r.receivedAt ? r.receivedAt * 1000 : null)),
]
const TAIL: Column[] = [
  col('seq', 'int64', (r) => r.seq),
  col('sid', 'int64', (r) => r.sid),
  col('shard_id', 'int32', (r) => r.shard),
  col('nats_seq', 'int64', (r) => r.natsSeq),
  col('file_seq', 'int64', (r) => r.fileSeq),
]

const framed = (body: Column[]): readonly Column[] => [...HEAD, ...body, ...TAIL]

const RECEIVED_AT = '"_received_at":'

/**
 * The connector's `_received_at` (epoch µs) of an archive line, read from its end, where the
 * connector appended it (before the archive's `_nats_seq`/`_seq`); null when the line has none.
 * The parsed record keeps it in ms (records/types.ts), which threw the µs away: one socket read's
 * frames share a stamp, and sub-millisecond ordering and latency need the rest.
 */
export function receivedAtUs(raw: string): number | null {
  const at = raw.lastIndexOf(RECEIVED_AT, raw.length - 1)
  if (at < 0 || raw.length - at > 80) return null
  let v = 0
  let i = at + RECEIVED_AT.length
  const start = i
  for (; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c < 48 || c > 57) break
    v = v * 10 + (c - 48)
  }
  const end = raw.charCodeAt(i)
  return i > start && i - start <= 16 && (end === 125 || end === 44) && Number.isSafeInteger(v) ? v : null
}

/** The columns of each record type, in file order. */
export const COLUMNS: Record<RecordType, readonly Column[]> = {
  ticker: framed([
    col<'ticker'>('price', 'double', (r) => r.price),
    col<'ticker'>('yes_bid', 'double', (r) => r.yesBid),
    col<'ticker'>('yes_ask', 'double', (r) => r.yesAsk),
    col<'ticker'>('yes_bid_size', 'double', (r) => r.yesBidSize),
    col<'ticker'>('yes_ask_size', 'double', (r) => r.yesAskSize),
    col<'ticker'>('volume', 'double', (r) => r.volume),
    col<'ticker'>('open_interest', 'double', (r) => r.openInterest),
    col<'ticker'>('dollar_volume', 'double', (r) => r.dollarVolume),
    col<'ticker'>('dollar_open_interest', 'double', (r) => r.dollarOpenInterest),
  ]),
  trade: framed([
    col<'trade'>('trade_id', 'string', (r) => r.tradeId, true),
    col<'trade'>('yes_price', 'double', (r) => r.yesPrice),
    col<'trade'>('no_price', 'double', (r) => r.noPrice),
    col<'trade'>('count', 'double', (r) => r.count),
    col<'trade'>('taker_side', 'string', (r) => r.takerSide),
  ]),
  orderbook_snapshot: framed([
    col<'orderbook_snapshot'>('yes_levels', 'string', (r) => levels(r.yes), true),
    col<'orderbook_snapshot'>('no_levels', 'string', (r) => levels(r.no), true),
  ]),
  orderbook_delta: framed([
    col<'orderbook_delta'>('side', 'string', (r) => r.side),
    col<'orderbook_delta'>('price', 'double', (r) => r.price),
    col<'orderbook_delta'>('delta', 'double', (r) => r.delta),
  ]),
  market_lifecycle_v2: framed([
    col<'market_lifecycle_v2'>('event_type', 'string', (r) => r.eventType),
    col<'market_lifecycle_v2'>('result', 'string', (r) => r.result),
    col<'market_lifecycle_v2'>('settlement_value', 'double', (r) => r.settlementValue),
  ]),
  other: framed([
    col<'other'>('frame_type', 'string', (r) => r.frameType),
    col<'other'>('raw', 'string', (r) => r.raw, true),
  ]),
}

/**
 * A copy of `s` that does not share memory with the string it was cut from. The parser's strings
 * are slices of a whole read chunk (~1 MiB), and a kept slice keeps its chunk alive: buffering a
 * row group of slices would hold most of the day's text. A JSON round trip is the cheapest copy
 * measured here (~85 ns for a short string; normalize() and concatenation keep sharing).
 */
export function ownString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string
}

/** Most distinct values interned before the interner stops growing and copies instead. */
const INTERN_MAX = 100_000

/** One owned copy per distinct value of the low-cardinality string columns (tickers, sides). */
export class Interner {
  private readonly seen = new Map<string, string>()

  get(s: string): string {
    let v = this.seen.get(s)
    if (v === undefined) {
      v = ownString(s)
      if (this.seen.size < INTERN_MAX) this.seen.set(v, v)
    }
    return v
  }
}

/** A numeric column's values: float64 slots (every integer we export is below 2^53) and a null flag. */
class NumberColumn {
  values = new Float64Array(1024)
  nulls = new Uint8Array(1024)

  set(i: number, v: number | null): void {
    if (i === this.values.length) {
      const values = new Float64Array(i * 2)
      values.set(this.values)
      this.values = values
      const nulls = new Uint8Array(i * 2)
      nulls.set(this.nulls)
      this.nulls = nulls
    }
    this.nulls[i] = v === null ? 1 : 0
    this.values[i] = v ?? 0
  }

  take(n: number): (number | null)[] {
    const out: (number | null)[] = new Array(n)
    for (let i = 0; i < n; i++) out[i] = this.nulls[i] ? null : this.values[i]
    return out
  }
}

/**
 * Rows of one type held as columns until a row group is full: only the exported values are
 * kept, not the records (whose raw lines would dominate memory); numbers in typed arrays
 * (9 bytes a value, no per-value objects), strings interned or copied (see ownString).
 */
export class ColumnBuffer {
  readonly columns: readonly Column[]
  rows = 0
  private readonly interner: Interner
  private strings: (string | null)[][]
  private readonly numbers: (NumberColumn | null)[]

  constructor(columns: readonly Column[], interner = new Interner()) {
    this.columns = columns
    this.interner = interner
    this.strings = columns.map(() => [])
    this.numbers = columns.map((c) => (c.kind === 'string' ? null : new NumberColumn()))
  }

  push(r: MarketRecord): void {
    const n = this.rows++
    for (let i = 0; i < this.columns.length; i++) {
      const c = this.columns[i]
      const v = c.get(r)
      const num = this.numbers[i]
      if (num !== null) num.set(n, v as number | null)
      else this.strings[i].push(typeof v === 'string' ? (c.unique ? ownString(v) : this.interner.get(v)) : null)
    }
  }

  /** The buffered rows, column-major; the buffer starts empty again (keeping its capacity). */
  take(): CellValue[][] {
    const n = this.rows
    const out = this.columns.map((_, i) => this.numbers[i]?.take(n) ?? this.strings[i])
    this.strings = this.columns.map(() => [])
    this.rows = 0
    return out
  }
}
