/**
 * Sampled validation of archived frames against the Kalshi field rules (reference archiver: every
 * 100th message by total count). Only a sampled message is parsed (`Sampler.take()` decides
 * first, so the other 99 cost one counter increment); a failure is logged (rate-limited) and
 * counted, and the message is archived unchanged either way: validation never drops or alters data.
 *
 * Rules (what `records/parse.ts` reads, in both wire formats):
 * - `ticker`: `msg` object; `msg.market_ticker` string; `msg.ts` integer (or `msg.ts_ms`).
 * - `trade`: `msg.market_ticker`, `msg.trade_id` strings; a price: `yes_price` / `price` /
 *   `no_price` integer cents, or `yes_price_dollars` / `no_price_dollars` numeric strings; a size:
 *   `count` integer or `count_fp` numeric string; `taker_side` or legacy `side` string;
 *   `msg.ts` integer (or `msg.ts_ms`).
 * - `market_lifecycle_v2`: `msg.market_ticker`, `msg.event_type` strings.
 * - control frames (`subscribed`, `ok`, `unsubscribed`, `error`, connector `ssmd_control`) are
 *   skipped; other types (orderbook, event_lifecycle, unknown) have no rules and pass.
 * - a payload that is not a JSON object, or has no string `type`, fails.
 */
import type { Logger } from '../core/log.ts'
import { CONTROL_TYPES } from '../kalshi/protocol.ts'

export type ValidationStatus = 'valid' | 'invalid' | 'skipped'

export interface ValidationResult {
  status: ValidationStatus
  /** The frame `type` (`invalid_json` when the payload is not a JSON object, `unknown` without a type). */
  type: string
  /** What is missing or mistyped, e.g. `msg.trade_id (string)`; empty unless invalid. */
  problems: string[]
}

const SKIPPED: ReadonlySet<string> = new Set<string>([...CONTROL_TYPES, 'ssmd_control'])

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v)
const isStr = (v: unknown): boolean => typeof v === 'string'
/** A fixed-point string the parser reads (`"0.5600"`, `"10.00"`). */
const isNumeric = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))

function ts(msg: Json, problems: string[]): void {
  if (!isInt(msg.ts) && !isInt(msg.ts_ms)) problems.push('msg.ts (integer)')
}

function str(msg: Json, field: string, problems: string[]): void {
  if (!isStr(msg[field])) problems.push(`msg.${field} (string)`)
}

/** Validates one payload (a raw frame, with or without the connector's injected fields). */
export function validateFrame(payload: string | Uint8Array): ValidationResult {
  let o: unknown
  try {
    o = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload))
  } catch {
    return { status: 'invalid', type: 'invalid_json', problems: ['not JSON'] }
  }
  if (!isObject(o)) return { status: 'invalid', type: 'invalid_json', problems: ['not a JSON object'] }
  if (typeof o.type !== 'string') return { status: 'invalid', type: 'unknown', problems: ['type (string)'] }
  const type = o.type
  if (SKIPPED.has(type)) return { status: 'skipped', type, problems: [] }
  if (type !== 'ticker' && type !== 'trade' && type !== 'market_lifecycle_v2') return { status: 'valid', type, problems: [] }
  if (!isObject(o.msg)) return { status: 'invalid', type, problems: ['msg (object)'] }
  const msg = o.msg
  const problems: string[] = []
  str(msg, 'market_ticker', problems)
  if (type === 'ticker') {
    ts(msg, problems)
  } else if (type === 'trade') {
    str(msg, 'trade_id', problems)
    const price = isInt(msg.yes_price) || isInt(msg.price) || isInt(msg.no_price) ||
      isNumeric(msg.yes_price_dollars) || isNumeric(msg.no_price_dollars)
    if (!price) problems.push('msg.yes_price or msg.price (integer) or msg.yes_price_dollars (string)')
    if (!isInt(msg.count) && !isNumeric(msg.count_fp)) problems.push('msg.count (integer) or msg.count_fp (string)')
    if (!isStr(msg.taker_side) && !isStr(msg.side)) problems.push('msg.taker_side or msg.side (string)')
    ts(msg, problems)
  } else {
    str(msg, 'event_type', problems)
  }
  return { status: problems.length === 0 ? 'valid' : 'invalid', type, problems }
}

/** Every `every`-th call of `take()` is true (the 100th, 200th, …); `every` 0 never. */
export class Sampler {
  private seen = 0
  constructor(readonly every: number) {}
  take(): boolean {
    if (this.every <= 0) return false
    if (++this.seen < this.every) return false
    this.seen = 0
    return true
  }
}

export interface ValidationWarning {
  seq: number
  subject: string
  result: ValidationResult
  payload: string | Uint8Array
}

/**
 * Logs validation failures at most once per `intervalMs`; the next log line says how many were
 * suppressed in between (the metric counts every one).
 */
export class RateLimitedWarn {
  private last = -Infinity
  private suppressed = 0
  constructor(private readonly log: Logger, private readonly intervalMs = 60_000, private readonly now: () => number = Date.now) {}

  warn(w: ValidationWarning): void {
    const t = this.now()
    if (t - this.last < this.intervalMs) {
      this.suppressed++
      return
    }
    const text = typeof w.payload === 'string' ? w.payload : new TextDecoder().decode(w.payload.subarray(0, 600))
    this.log.warn({
      seq: w.seq, subject: w.subject, message_type: w.result.type, problems: w.result.problems,
      suppressed: this.suppressed, sample: text.length > 300 ? `${text.slice(0, 300)}…` : text,
    }, 'sampled message failed validation (archived unchanged)')
    this.last = t
    this.suppressed = 0
  }
}
