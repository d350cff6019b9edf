/**
 * Faults the simulator injects, armed at start (`--fault name[=value]`) or at run time
 * (`POST /sim/faults`). One-shot faults are consumed by the next opportunity; the others stay on
 * until cleared (`DELETE /sim/faults` or `{"name":…,"value":"off"}`).
 */
import { UsageError } from '../../pipeline/core/errors.ts'

export const FAULT_NAMES = [
  'drop', // close connections now (all, or `conn`); value `close` (default: abrupt terminate)
  'drop_after', // every connection is terminated once it has been sent `value` data frames
  'stall', // stop sending data; value `data` (pings continue, default) or `all` (no pings, no replies either)
  'skip_seq', // the next sequenced frame (of `sid` / `conn` if given) jumps by `value` (default 1)
  'malformed_frame', // the next `value` (default 1) data frames are preceded by an invalid-JSON text frame
  'refuse_subscribe', // the next subscribe(s) get an error: value `CODE` or `CODE:COUNT` (default 17:1)
  'delay_pong', // answer client pings after `value` ms (see docs/SIMULATOR.md)
  'malformed_page', // the next `value` (default 1) REST list pages are invalid JSON
] as const
export type FaultName = (typeof FAULT_NAMES)[number]

export interface FaultSpec {
  name: FaultName
  value?: string | number
  /** Limit to one connection id. */
  conn?: number
  /** Limit to one sid (skip_seq). */
  sid?: number
}

export interface SkipSeq {
  k: number
  conn?: number
  sid?: number
}

export class Faults {
  dropAfterFrames = 0
  /** Stall mode for connections opened from now on and for all current ones (`conn` stalls are kept on the connection). */
  stall: 'data' | 'all' | null = null
  skipSeq: SkipSeq[] = []
  malformedFrames = 0
  refuseSubscribe: { code: number; remaining: number } | null = null
  delayPongMs = 0
  malformedPages = 0

  /** Parses `name[=value]` as given on the command line. */
  static parse(text: string): FaultSpec {
    const [name, value] = text.split('=', 2) as [string, string | undefined]
    if (!(FAULT_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`unknown fault ${JSON.stringify(name)} (expected one of ${FAULT_NAMES.join(', ')})`, 'SIM_BAD_FAULT')
    }
    return { name: name as FaultName, value }
  }

  snapshot(): Record<string, unknown> {
    return {
      drop_after: this.dropAfterFrames || null,
      stall: this.stall,
      skip_seq: this.skipSeq,
      malformed_frame: this.malformedFrames,
      refuse_subscribe: this.refuseSubscribe,
      delay_pong: this.delayPongMs,
      malformed_page: this.malformedPages,
    }
  }

  clear(): void {
    this.dropAfterFrames = 0
    this.stall = null
    this.skipSeq = []
    this.malformedFrames = 0
    this.refuseSubscribe = null
    this.delayPongMs = 0
    this.malformedPages = 0
  }

  /** Takes the seq jump for a frame about to go out on (conn, sid), if one is armed. */
  takeSkip(conn: number, sid: number): number {
    if (this.skipSeq.length === 0) return 0
    const i = this.skipSeq.findIndex((s) => (s.conn === undefined || s.conn === conn) && (s.sid === undefined || s.sid === sid))
    if (i < 0) return 0
    const [s] = this.skipSeq.splice(i, 1)
    return s.k
  }

  /** A refused subscribe's code, or 0. */
  takeRefusal(): number {
    const r = this.refuseSubscribe
    if (!r) return 0
    if (--r.remaining <= 0) this.refuseSubscribe = null
    return r.code
  }
}

export function faultInt(spec: FaultSpec, fallback: number, min = 0): number {
  if (spec.value === undefined || spec.value === '') return fallback
  const n = Number(spec.value)
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`fault ${spec.name}: value must be an integer ≥ ${min} (got ${JSON.stringify(spec.value)})`, 'SIM_BAD_FAULT')
  }
  return n
}
