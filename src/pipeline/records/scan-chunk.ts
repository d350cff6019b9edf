/**
 * (Over 300 lines: the walk mirrors scan.ts's, function for function, and the chunk index it
 * fills is read by one reader; the property tests check them together.)
 * The walk of scan.ts over bytes, for the lines of an archive chunk: run by the gunzip worker
 * (scan-worker.ts) on each chunk it inflated, so the reader's thread only builds the records
 * (scan.ts `buildScanned`) from the slots found here. It is the same walk, member for member:
 * layouts learned per type, keys named by one comparison, numeric strings read while their
 * closing quote is found, the whole JSON grammar checked; where scan.ts tests the line for a
 * backslash or control character up front, this walk checks every string it passes (outside
 * strings such bytes are not a token). A line it declines is left to the reader (scan.ts, then
 * JSON.parse), so what is accepted here must give the slots scan.ts gives (a property test).
 *
 * The index of one chunk (`ChunkIndex`, shared memory, one region per ring slot) lists its
 * complete lines from `from` (after the piece of a line the previous chunk started, after a
 * leading BOM in the file's first chunk) as start, end, type and ticker id, with
 * positions relative to `from`, so they are positions in the reader's text of the chunk when its
 * bytes are ASCII; type 0 = declined, else 1 ticker, 2 trade, 3 orderbook_delta, whose slots are
 * in the line's block of the slot store. At most `INDEX_LINES` lines per chunk are listed; the
 * reader splits the rest itself.
 */
import {
  DEC, FALSE, keyCode, keyHash, LAYOUT_MEMBERS, LAYOUTS, M, MSG_BY_TYPE, MSG_KEYS, NONE, NULL,
  NUM, NUMERIC, OBJ, POW10, SLOTS, STR, T, TOP_BY_TYPE, TOP_KEYS, TRUE, typeClassOf, type SlotStore,
} from './scan-slots.ts'

/** Lines listed per chunk (a 256 KiB chunk holds ~600 Kalshi lines). */
export const INDEX_LINES = 1024
/** Int32 words per listed line: start, end, type, ticker id. */
export const LINE_WORDS = 4
/** Int32 words of a chunk's line list: [count, from, file, (unused), (line words) × INDEX_LINES] (even: the Float64 part after it stays aligned). */
const LIST_WORDS = 4 + LINE_WORDS * INDEX_LINES

/** Line lists and slot stores of every ring slot, over shared memory. */
export interface ChunkIndex {
  slots: number
  lists: Int32Array
  store: SlotStore
}

/** Bytes of shared memory an index of `slots` ring slots takes. */
export function chunkIndexBytes(slots: number): number {
  return slots * (4 * LIST_WORDS + INDEX_LINES * SLOTS * (1 + 4 + 4 + 8))
}

/** Views of an index over `shared` (from `chunkIndexBytes(slots)`). */
export function chunkIndexOf(shared: SharedArrayBuffer, slots: number): ChunkIndex {
  let at = 0
  const take = (bytes: number) => {
    const v = { buffer: shared, offset: at }
    at += bytes
    return v
  }
  const lists = take(4 * slots * LIST_WORDS)
  const n = slots * INDEX_LINES * SLOTS
  const nv = take(8 * n)
  const va = take(4 * n)
  const vb = take(4 * n)
  const kind = take(n)
  return {
    slots,
    lists: new Int32Array(shared, lists.offset, slots * LIST_WORDS),
    store: {
      kind: new Uint8Array(shared, kind.offset, n),
      va: new Int32Array(shared, va.offset, n),
      vb: new Int32Array(shared, vb.offset, n),
      nv: new Float64Array(shared, nv.offset, n),
    },
  }
}

/**
 * A chunk's line list, read by the reader: count, from, the number of the file (ticker ids are
 * per file), then per line start, end, type and ticker id (-1: none).
 */
export const listAt = (slot: number) => slot * LIST_WORDS
export const LIST = { COUNT: 0, FROM: 1, FILE: 2, LINES: 4 } as const
/** Block (line × SLOTS base) of line i of the chunk in `slot`. */
export const blockOf = (slot: number, line: number) => (slot * INDEX_LINES + line) * SLOTS

const QUOTE = 34
const COMMA = 44
const MINUS = 45
const DOT = 46
const D0 = 48
const D9 = 57
const COLON = 58
const BACKSLASH = 92
const LBRACK = 91
const RBRACK = 93
const LBRACE = 123
const RBRACE = 125
const NL = 10
const MAX_DEPTH = 64

// the slot store and block the walk writes (set per line)
let kind: Uint8Array = new Uint8Array(0)
let va: Int32Array = new Int32Array(0)
let vb: Int32Array = new Int32Array(0)
let nv: Float64Array = new Float64Array(0)
let base = 0
/** The chunk (or line) being walked, a DataView of it, and the end of the line (exclusive). */
let bytes: Uint8Array = new Uint8Array(0)
let view: DataView = new DataView(new ArrayBuffer(0))
let limit = 0
/** Offset subtracted from byte positions written to va/vb (the chunk's `from`). */
let origin = 0

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))

/** Open-addressed table: (length, first byte, last byte) code → slot, confirmed byte by byte. */
class ByteKeyTable {
  private readonly codes = new Int32Array(128)
  private readonly slots = new Int32Array(128).fill(-1)
  private readonly names: Uint8Array[] = new Array<Uint8Array>(128).fill(new Uint8Array(0))

  constructor(keys: readonly string[], first: number) {
    keys.forEach((k, i) => {
      const c = keyCode(k.length, k.charCodeAt(0), k.charCodeAt(k.length - 1))
      let h = keyHash(c)
      while (this.slots[h] >= 0) h = (h + 1) & 127
      this.codes[h] = c
      this.slots[h] = first + i
      this.names[h] = ascii(k)
    })
  }

  /** The slot of the key b[a, z), or -1. */
  find(b: Uint8Array, a: number, z: number): number {
    const c = keyCode(z - a, b[a], b[z - 1])
    for (let h = keyHash(c); this.slots[h] >= 0; h = (h + 1) & 127) {
      if (this.codes[h] === c && equalAt(b, a, this.names[h]) && this.names[h].length === z - a) return this.slots[h]
    }
    return -1
  }
}

/** b[a, a + key.length) equals key. */
function equalAt(b: Uint8Array, a: number, key: Uint8Array): boolean {
  for (let i = 0; i < key.length; i++) if (b[a + i] !== key[i]) return false
  return true
}

/**
 * A learned `"key":`: its bytes as little-endian 32-bit words, the last one masked to the bytes
 * it holds (the word read there takes 1–3 bytes of the value after the key, which a line has).
 */
class Key {
  readonly length: number
  readonly words: Int32Array
  readonly lastMask: number
  constructor(bytes: Uint8Array) {
    this.length = bytes.length
    const n = (bytes.length + 3) >> 2
    this.words = new Int32Array(n)
    for (let i = 0; i < bytes.length; i++) this.words[i >> 2] |= bytes[i] << (8 * (i & 3))
    const tail = bytes.length - 4 * (n - 1)
    this.lastMask = tail === 4 ? -1 : (1 << (8 * tail)) - 1
  }
}

const NO_KEY = new Key(new Uint8Array(0))

/** The bytes at `a` (of the line, which ends before `limit`) are `key`; compared a word at a time. */
function keyAt(a: number, key: Key): boolean {
  const w = key.words
  const last = w.length - 1
  // the last word is read whole: key and at least 3 more bytes must lie before the line's end
  if (last < 0 || a + 4 * last + 4 > limit) return false
  for (let i = 0; i < last; i++) if (view.getInt32(a + 4 * i, true) !== w[i]) return false
  return (view.getInt32(a + 4 * last, true) & key.lastMask) === w[last]
}

const MSG_TABLE = new ByteKeyTable(MSG_KEYS, 0)
const TOP_TABLE = new ByteKeyTable(TOP_KEYS, MSG_KEYS.length)

/** Member layouts seen last (as scan.ts): `"key":` and slot per member index. */
const layoutKey: Key[][] = Array.from({ length: LAYOUTS }, () => new Array<Key>(LAYOUT_MEMBERS).fill(NO_KEY))
const layoutSlot: number[][] = Array.from({ length: LAYOUTS }, () => new Array<number>(LAYOUT_MEMBERS).fill(-1))

/** Index of the `"` closing the string whose text starts at `i`, or -1 at a control byte or backslash. */
function stringEnd(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i]
    if (c === QUOTE) return i
    if (c < 0x20 || c === BACKSLASH || c === undefined) return -1
    i++
  }
}

/** scan.ts `walk` over bytes: the members of the object whose `{` is at `i`; the index after its `}`, or -1. */
function walk(b: Uint8Array, i: number, layout: number): number {
  const top = layout <= MSG_BY_TYPE
  const table = top ? TOP_TABLE : MSG_TABLE
  let keys = layoutKey[layout]
  let slots = layoutSlot[layout]
  i++
  if (b[i] === RBRACE) return i + 1
  for (let j = 0; ; j++) {
    let slot: number
    let v: number
    const known = j < LAYOUT_MEMBERS ? keys[j] : NO_KEY
    if (keyAt(i, known)) {
      slot = slots[j]
      v = i + known.length
    } else {
      if (b[i] !== QUOTE) return -1
      const ke = stringEnd(b, i + 1)
      if (ke < 0 || b[ke + 1] !== COLON) return -1
      slot = table.find(b, i + 1, ke)
      v = ke + 2
      if (j < LAYOUT_MEMBERS) {
        keys[j] = new Key(b.slice(i, v))
        slots[j] = slot
      }
    }
    const c = b[v]
    let next: number
    if (c === QUOTE) {
      if (slot >= 0 && NUMERIC[slot] === 1) next = decimalString(b, v + 1, slot)
      else {
        const e = stringEnd(b, v + 1)
        if (e < 0) return -1
        next = e + 1
        if (slot >= 0) {
          kind[base + slot] = STR
          va[base + slot] = v + 1 - origin
          vb[base + slot] = e - origin
        }
      }
    } else if (c === MINUS || (c >= D0 && c <= D9)) {
      next = number(b, v, slot)
    } else if (c === LBRACE || c === LBRACK) {
      if (slot === T.msg && c === LBRACE && kind[base + slot] === NONE) {
        kind[base + slot] = OBJ
        next = walk(b, v, MSG_BY_TYPE + typeClass(b))
      } else if (slot >= 0) return -1
      else next = skip(b, v, 1)
    } else {
      const k = c === 116 ? (literal(b, v, TRUE_BYTES) ? TRUE : NONE)
        : c === 102 ? (literal(b, v, FALSE_BYTES) ? FALSE : NONE)
        : c === 110 ? (literal(b, v, NULL_BYTES) ? NULL : NONE) : NONE
      if (k === NONE) return -1
      next = v + (k === FALSE ? 5 : 4)
      if (slot >= 0) kind[base + slot] = k
    }
    if (next < 0) return -1
    if (j === 0 && layout === 0) {
      keys = layoutKey[TOP_BY_TYPE + typeClass(b)]
      slots = layoutSlot[TOP_BY_TYPE + typeClass(b)]
    }
    const d = b[next]
    if (d === COMMA) i = next + 1
    else if (d === RBRACE) return next + 1
    else return -1
  }
}

const TRUE_BYTES = ascii('true')
const FALSE_BYTES = ascii('false')
const NULL_BYTES = ascii('null')
const literal = (b: Uint8Array, i: number, word: Uint8Array) => equalAt(b, i, word)

function typeClass(b: Uint8Array): number {
  if (kind[base + T.type] !== STR) return 4
  const at = va[base + T.type] + origin
  return typeClassOf(b[at], b[at + 1])
}

/** scan.ts `number` over bytes. */
function number(b: Uint8Array, i: number, slot: number): number {
  const start = i
  let c = b[i]
  const neg = c === MINUS
  if (neg) c = b[++i]
  let m = 0
  let digits = 0
  let scale = 0
  let plain = true
  if (c === D0) {
    c = b[++i]
    digits = 1
  } else if (c > D0 && c <= D9) {
    do {
      m = m * 10 + (c - D0)
      digits++
      c = b[++i]
    } while (c >= D0 && c <= D9)
  } else return -1
  if (c === DOT) {
    c = b[++i]
    if (!(c >= D0 && c <= D9)) return -1
    do {
      m = m * 10 + (c - D0)
      scale++
      c = b[++i]
    } while (c >= D0 && c <= D9)
  }
  if (c === 101 || c === 69) {
    plain = false
    c = b[++i]
    if (c === 43 || c === MINUS) c = b[++i]
    if (!(c >= D0 && c <= D9)) return -1
    do c = b[++i]
    while (c >= D0 && c <= D9)
  }
  if (slot >= 0) {
    kind[base + slot] = NUM
    nv[base + slot] = plain && (digits + scale <= 15 || (scale === 0 && m <= Number.MAX_SAFE_INTEGER))
      ? (neg ? -(scale === 0 ? m : m / POW10[scale]) : scale === 0 ? m : m / POW10[scale])
      : Number(text(b, start, i))
  }
  return i
}

/** scan.ts `decimalString` over bytes. */
function decimalString(b: Uint8Array, a: number, slot: number): number {
  let i = a
  let c = b[i]
  const neg = c === MINUS
  if (neg) c = b[++i]
  let m = 0
  let digits = 0
  let scale = 0
  while (c >= D0 && c <= D9) {
    m = m * 10 + (c - D0)
    digits++
    c = b[++i]
  }
  if (c === DOT && digits > 0) {
    c = b[++i]
    while (c >= D0 && c <= D9) {
      m = m * 10 + (c - D0)
      scale++
      c = b[++i]
    }
  }
  va[base + slot] = a - origin
  if (c === QUOTE && digits > 0 && digits + scale <= 15) {
    kind[base + slot] = DEC
    const x = scale === 0 ? m : m / POW10[scale]
    nv[base + slot] = neg ? -x : x
  } else {
    kind[base + slot] = STR
    i = stringEnd(b, i)
    if (i < 0) return -1
  }
  vb[base + slot] = i - origin
  return i + 1
}

/** scan.ts `skip` over bytes: index after the JSON value at `i` (not recorded), or -1. */
function skip(b: Uint8Array, i: number, depth: number): number {
  const c = b[i]
  if (c === QUOTE) {
    const e = stringEnd(b, i + 1)
    return e < 0 ? -1 : e + 1
  }
  if (c === LBRACE || c === LBRACK) {
    if (depth >= MAX_DEPTH) return -1
    const close = c === LBRACE ? RBRACE : RBRACK
    i++
    if (b[i] === close) return i + 1
    for (;;) {
      if (c === LBRACE) {
        if (b[i] !== QUOTE) return -1
        const e = stringEnd(b, i + 1)
        if (e < 0 || b[e + 1] !== COLON) return -1
        i = e + 2
      }
      i = skip(b, i, depth + 1)
      if (i < 0) return -1
      const d = b[i]
      if (d === COMMA) i++
      else if (d === close) return i + 1
      else return -1
    }
  }
  if (c === MINUS || (c >= D0 && c <= D9)) return number(b, i, -1)
  if (c === 116) return literal(b, i, TRUE_BYTES) ? i + 4 : -1
  if (c === 102) return literal(b, i, FALSE_BYTES) ? i + 5 : -1
  if (c === 110) return literal(b, i, NULL_BYTES) ? i + 4 : -1
  return -1
}

/** The ASCII text of b[a, z) (numbers only). */
function text(b: Uint8Array, a: number, z: number): string {
  let s = ''
  for (let i = a; i < z; i++) s += String.fromCharCode(b[i])
  return s
}

const SEED = ascii('{"ts":"')
const TYPES = [ascii('ticker'), ascii('trade'), ascii('orderbook_delta')]

/**
 * Walks the line b[a, z) into block `block` of `store`, positions relative to `from`: the
 * record type (1 ticker, 2 trade, 3 orderbook_delta) or 0 to leave the line to the reader.
 */
export function scanLineBytes(b: Uint8Array, a: number, z: number, store: SlotStore, block: number, from: number): number {
  limit = z
  return walkLine(b, a, store, block, from) === z ? lineType : 0
}

/** The type `walkLine` found (1 ticker, 2 trade, 3 orderbook_delta; 0: declined). */
let lineType = 0

/**
 * Walks the line at `a` (bytes before `limit`) into block `block` of `store`: the index after its
 * closing brace, or -1; `lineType` says what it read (0 when the walk failed or the type is not
 * one of the three).
 */
function walkLine(b: Uint8Array, a: number, store: SlotStore, block: number, from: number): number {
  lineType = 0
  if (b[a] !== LBRACE || b[a + 1] !== QUOTE || equalAt(b, a, SEED)) return -1
  if (b !== bytes) {
    bytes = b
    view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  }
  kind = store.kind
  va = store.va
  vb = store.vb
  nv = store.nv
  base = block
  origin = from
  kind.fill(NONE, base, base + SLOTS)
  const e = walk(b, a, 0)
  if (e < 0 || kind[base + T.msg] !== OBJ || kind[base + T.type] !== STR) return e
  const ta = va[base + T.type] + origin
  const len = vb[base + T.type] + origin - ta
  for (let t = 0; t < TYPES.length; t++) {
    if (len === TYPES[t].length && equalAt(b, ta, TYPES[t])) {
      lineType = t + 1
      break
    }
  }
  return e
}

/**
 * Lists the lines of `chunk` (ring slot `slot`) in `index`: from the start when `lineStart`
 * (else after the first newline), after a BOM when `first` (the file's first chunk), up to the
 * last newline.
 */
export function indexChunk(chunk: Uint8Array, lineStart: boolean, first: boolean, index: ChunkIndex, slot: number): void {
  if (first) newFile()
  let from = lineStart ? 0 : chunk.indexOf(NL) + 1
  if (first && lineStart && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) from = 3
  // a chunk that starts mid-line and holds no newline has no line: from = 0, and none is listed
  listLines(chunk, from, from, index, slot, true)
}

/**
 * Lists in `index` region `slot` the lines of `chunk` from byte `start` (a line start) up to its
 * last newline, at most INDEX_LINES of them, with positions relative to `origin` (LIST.FROM).
 * With `ids`, each line also gets its ticker's id (the worker's ids, per file); without, -1 (a
 * walk on the reader's thread, which names tickers itself). Returns the number of lines listed.
 */
export function listLines(chunk: Uint8Array, start: number, origin: number, index: ChunkIndex, slot: number, ids = false): number {
  const list = index.lists
  const at = listAt(slot)
  list[at + LIST.FROM] = origin
  list[at + LIST.FILE] = file
  // every line up to the last newline ends in one: no walk reads past it (a newline ends any token)
  const last = chunk.lastIndexOf(NL)
  limit = last + 1
  let count = 0
  let a = start
  while (count < INDEX_LINES && a <= last) {
    // a line the walk read ends right after it; any other is found by its newline
    let z = walkLine(chunk, a, index.store, blockOf(slot, count), origin)
    let type = lineType
    if (z < 0 || chunk[z] !== NL) {
      type = 0
      z = chunk.indexOf(NL, a)
    }
    const w = at + LIST.LINES + LINE_WORDS * count
    list[w] = a - origin
    list[w + 1] = z - origin
    list[w + 2] = type
    list[w + 3] = -1
    if (ids && type !== 0) ticker(chunk, blockOf(slot, count), origin, list, w)
    count++
    a = z + 1
  }
  list[at + LIST.COUNT] = count
  return count
}

// ---- tickers: an id per ticker of the file, so the reader makes each ticker's string once ----

const ID_SETS = 8192
/** Longest ticker (bytes) given an id (as scan.ts caches tickers up to 64 characters). */
const MAX_ID_TICKER = 64
const idKey: (Key | null)[] = new Array<Key | null>(ID_SETS).fill(null)
const idOf = new Int32Array(ID_SETS)
/** Ids given per file at most (the reader keeps a string per id). */
const MAX_IDS = 65_536
let nextId = 0
/** Files begun (ids restart at 0 in each). */
let file = 0

function newFile(): void {
  file++
  nextId = 0
  idKey.fill(null)
}

/**
 * Writes the ticker id of the ticker slot of block `block` at list[w + 3]. An id names the same
 * bytes for the whole file (a new id when a ticker takes the place of another in the table).
 * Tickers are hashed and compared a word at a time: the value is followed by at least `"}}`,
 * so its last word can be read whole (else it gets no id).
 */
function ticker(b: Uint8Array, block: number, from: number, list: Int32Array, w: number): void {
  const k = block + M.market_ticker
  if (kind[k] !== STR) return
  const a = va[k] + from
  const n = vb[k] + from - a
  if (n === 0 || n > MAX_ID_TICKER || a + ((n + 3) & ~3) > limit) return
  let h = n
  for (let i = 0; i < n; i += 4) {
    const word = i + 4 <= n ? view.getInt32(a + i, true) : view.getInt32(a + i, true) & ((1 << (8 * (n - i))) - 1)
    h = Math.imul(h ^ word, 0x9e3779b1) ^ (h >>> 16)
  }
  const set = (h ^ (h >>> 15)) & (ID_SETS - 1)
  const known = idKey[set]
  if (known === null || known.length !== n || !keyAt(a, known)) {
    if (nextId === MAX_IDS) return // tickers crowding each other out: the reader makes each string
    idKey[set] = new Key(b.slice(a, a + n))
    idOf[set] = nextId++
  }
  list[w + 3] = idOf[set]
}

/** A new index of `slots` ring slots (tests). */
export function newChunkIndex(slots: number): ChunkIndex {
  return chunkIndexOf(new SharedArrayBuffer(chunkIndexBytes(slots)), slots)
}
