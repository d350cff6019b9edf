/**
 * What both record scanners share (scan.ts over a string, scan-chunk.ts over the bytes of an
 * archive chunk): the keys a record reads, one slot per key, and the slot storage a walk fills
 * and the record builder (scan.ts `buildScanned`) reads. A slot store holds one block of `SLOTS`
 * entries per line, at `base` = line × SLOTS: the string scanner has a store of one line, the
 * byte scanner one block per line of a chunk (in shared memory, filled by the gunzip worker).
 */

// Slots: msg members first, then top-level members (one index space, one set of arrays).
export const MSG_KEYS = [
  'market_ticker', 'ts', 'ts_ms', 'price', 'price_dollars', 'yes_bid', 'yes_bid_dollars', 'yes_ask',
  'yes_ask_dollars', 'yes_bid_size', 'yes_bid_size_fp', 'yes_ask_size', 'yes_ask_size_fp', 'volume',
  'volume_fp', 'open_interest', 'open_interest_fp', 'dollar_volume', 'dollar_open_interest',
  'yes_price', 'yes_price_dollars', 'no_price', 'no_price_dollars', 'trade_id', 'count', 'count_fp',
  'taker_side', 'side', 'delta', 'delta_fp',
] as const
export const TOP_KEYS = ['type', 'msg', 'seq', 'sid', '_shard_id', '_received_at', '_nats_seq', '_seq'] as const
export const M = Object.fromEntries(MSG_KEYS.map((k, i) => [k, i])) as { [K in (typeof MSG_KEYS)[number]]: number }
export const T = Object.fromEntries(TOP_KEYS.map((k, i) => [k, MSG_KEYS.length + i])) as { [K in (typeof TOP_KEYS)[number]]: number }
export const SLOTS = MSG_KEYS.length + TOP_KEYS.length

// slot value kinds
export const NONE = 0
export const STR = 1
export const NUM = 2
export const TRUE = 3
export const FALSE = 4
export const NULL = 5
export const OBJ = 6
/** A string holding a plain decimal (`-?\d+(\.\d*)?`, ≤ 15 digits): its Number() value is in nv. */
export const DEC = 7

/** Msg slots whose strings are read as numbers (prices, sizes, times): parsed during the walk. */
export const NUMERIC = new Uint8Array(SLOTS)
for (let k = 0; k < MSG_KEYS.length; k++) NUMERIC[k] = k === M.market_ticker || k === M.trade_id || k === M.taker_side || k === M.side ? 0 : 1

/** Slot storage: kind per slot; string slots the characters [va, vb); number (and DEC) slots nv. */
export interface SlotStore {
  kind: Uint8Array
  va: Int32Array
  vb: Int32Array
  nv: Float64Array
}

/** A slot store of `lines` blocks in ordinary memory (the chunk index makes its own, shared). */
export function newSlotStore(lines: number): SlotStore {
  const n = lines * SLOTS
  return { kind: new Uint8Array(n), va: new Int32Array(n), vb: new Int32Array(n), nv: new Float64Array(n) }
}

export const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i)

/** Layouts remembered per object kind: layout 0 is the top level until `type` is read; then 1–4 top level and 5–8 msg, by type. */
export const LAYOUTS = 9
export const LAYOUT_MEMBERS = 64
export const TOP_BY_TYPE = 0
export const MSG_BY_TYPE = 4

/** 1 ticker, 2 trade, 3 orderbook_*, 4 other; from the first two characters of the type string. */
export function typeClassOf(c0: number, c1: number): number {
  return c0 === 116 ? (c1 === 105 ? 1 : 2) : c0 === 111 ? 3 : 4
}

/** Hash of a key's (length, first, last character) code, for the open-addressed key tables. */
export const keyCode = (len: number, first: number, last: number) => (len & 0xff) | (first << 8) | (last << 20)
export const keyHash = (c: number) => Math.imul(c, 0x9e3779b1) >>> 25
