/**
 * Ticker strings for the frame scanner: a hit returns the string made on the first sight of the
 * same ticker, with no allocation and no decoding, so one market always gets one flat string
 * (whose hash the next Map lookup finds cached, and which keeps no frame alive). The ring's
 * consumer uses a `ByteTickerCache` the same way for record subjects.
 *   - `ByteTickerCache`: keyed by UTF-8 bytes (scanBytes, the raw WebSocket path);
 *   - `TextTickerCache`: keyed by the characters of a frame string (scan, the string path).
 *
 * Both are open-addressing tables (linear probing) of up to `maxEntries` tickers: every market
 * a connector subscribes to stays in (a 10,000-market connector misses once per market), unlike
 * a direct-mapped array where two markets that share a slot evict each other on every frame.
 * A slot is four int32 in one array (length, a 32-bit hash of sampled characters, for bytes
 * the offset of the ticker's bytes in one arena, and the entry's id; a probe reads one cache
 * line) plus its string. Ids are dense (0, 1, 2… in order of first sight, reset by a clear):
 * after each `get`, `lastId` is the id of the ticker it returned (-1 when not cached), so a
 * caller can keep per-ticker data in arrays indexed by id instead of a Map keyed by the string
 * (SubjectCache.dataBytesFor; confirm with the string, since a clear gives ids out again).
 * The table starts at 1,024 slots and doubles while at most half full; at `maxEntries` tickers
 * it is cleared (counted in `clears`) and refills, which bounds memory against a stream of
 * ever-new tickers (about 60 bytes per entry). The hash reads every character (tickers of one
 * series differ anywhere: a hash of a few sampled characters put whole series in one probe
 * chain); a hit is decided by comparing every character.
 * Only tickers without backslash or control characters are cached by bytes (a byte-equal hit
 * has none); the text path only ever sees such tickers.
 */

/** Longest ticker (bytes or characters) the caches hold by default; longer ones are decoded every time. */
const MAX_CACHED_TICKER = 64

const SPACE = 32
const BACKSLASH = 92
const MIN_SLOTS = 1024
const EMPTY = -1
const H1 = 0x9e3779b1
const H2 = 0x01000193

/** Decodes string contents; keeps a leading U+FEFF (it is text inside a string, not a BOM). */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true })
const latin1Slice = Buffer.prototype.toString

/** The slot table both caches share (see the header). */
class TickerTable {
  hits = 0
  misses = 0
  /** Times the cache reached maxEntries and was emptied. */
  clears = 0
  readonly maxEntries: number
  /** Longest key (bytes or characters) held; longer ones are decoded every time. */
  readonly maxLength: number
  /** Id of the ticker the last `get` returned (dense from 0, see the header); -1 when it was not cached. */
  lastId = -1
  protected count = 0
  protected mask = -1
  /** Per slot: [length or EMPTY, hash, arena offset (bytes cache), id]. */
  protected meta = new Int32Array(0)
  protected strs: (string | undefined)[] = []

  /** Up to `maxEntries` tickers (a positive integer), or 0 for no cache. */
  constructor(maxEntries: number, maxLength = MAX_CACHED_TICKER) {
    this.maxEntries = maxEntries
    this.maxLength = maxLength
    if (maxEntries > 0) this.allocate(MIN_SLOTS)
  }

  /** Tickers held now. */
  get size(): number {
    return this.count
  }

  /** Forgets every ticker (keeps the table's size). */
  clear(): void {
    for (let s = 0; s < this.strs.length; s++) this.meta[s << 2] = EMPTY
    this.strs.fill(undefined)
    this.count = 0
    this.clears++
  }

  /** The slot where a ticker of hash h that was not found goes (clearing or growing first). */
  protected freeSlot(h: number, emptySlot: number): number {
    if (this.count >= this.maxEntries) {
      this.clear()
      return h & this.mask
    }
    if (2 * (this.count + 1) <= this.strs.length) return emptySlot
    this.grow()
    let slot = h & this.mask
    while (this.meta[slot << 2] !== EMPTY) slot = (slot + 1) & this.mask
    return slot
  }

  protected put(slot: number, len: number, h: number, offset: number, t: string): void {
    const at = slot << 2
    this.meta[at] = len
    this.meta[at + 1] = h
    this.meta[at + 2] = offset
    this.meta[at + 3] = this.count
    this.lastId = this.count
    this.strs[slot] = t
    this.count++
  }

  private allocate(slots: number): void {
    this.mask = slots - 1
    this.meta = new Int32Array(4 * slots)
    for (let s = 0; s < slots; s++) this.meta[s << 2] = EMPTY
    this.strs = new Array<string | undefined>(slots).fill(undefined)
  }

  /** Doubles the table and re-inserts every entry. */
  private grow(): void {
    const { meta, strs } = this
    this.allocate(2 * strs.length)
    const mask = this.mask
    for (let s = 0; s < strs.length; s++) {
      const at = s << 2
      if (meta[at] === EMPTY) continue
      let slot = meta[at + 1] & mask
      while (this.meta[slot << 2] !== EMPTY) slot = (slot + 1) & mask
      this.meta.set(meta.subarray(at, at + 4), slot << 2)
      this.strs[slot] = strs[s]
    }
  }
}

/** Ticker strings keyed by their UTF-8 bytes (see the header). */
export class ByteTickerCache extends TickerTable {
  private arena = new Uint8Array(MIN_SLOTS * 16)
  private used = 0

  /**
   * The string of `b[a, e)` (the contents of a JSON string without its quotes), or undefined
   * when it holds a backslash or a control character (the caller declines).
   */
  get(b: Uint8Array, a: number, e: number): string | undefined {
    const len = e - a
    if (len === 0 || this.maxEntries === 0 || len > this.maxLength) {
      this.lastId = -1
      return len === 0 ? '' : decodeString(b, a, e)
    }
    // every byte: tickers of one series differ anywhere (dates, strikes, teams), and a hash that
    // samples a few bytes puts whole series in one probe chain
    let h = Math.imul(len, H1)
    for (let i = a; i < e; i++) h = Math.imul(h ^ b[i], H2)
    h ^= h >>> 15
    const arena = this.arena
    const mask = this.mask
    const meta = this.meta
    let slot = h & mask
    for (;;) {
      const l = meta[slot << 2]
      if (l === EMPTY) break
      if (l === len && meta[(slot << 2) + 1] === h) {
        // byte loads (a DataView compare four bytes at a time was faster alone, but its calls
        // were not inlined inside the connector: slower there)
        const d = meta[(slot << 2) + 2] - a
        let k = a
        while (k < e && arena[k + d] === b[k]) k++
        if (k === e) {
          this.hits++
          this.lastId = meta[(slot << 2) + 3]
          return this.strs[slot]
        }
      }
      slot = (slot + 1) & mask
    }
    this.misses++
    const t = decodeString(b, a, e)
    if (t === undefined) {
      this.lastId = -1
      return undefined
    }
    slot = this.freeSlot(h, slot)
    this.put(slot, len, h, this.store(b, a, e), t)
    return t
  }

  override clear(): void {
    super.clear()
    this.used = 0
  }

  /** Copies b[a, e) into the arena; returns its offset there. */
  private store(b: Uint8Array, a: number, e: number): number {
    const at = this.used
    if (at + e - a > this.arena.length) {
      const bigger = new Uint8Array(Math.max(2 * this.arena.length, at + e - a))
      bigger.set(this.arena.subarray(0, at))
      this.arena = bigger
    }
    const arena = this.arena
    for (let i = a, k = at; i < e; i++, k++) arena[k] = b[i]
    this.used = at + e - a
    return at
  }
}

/** Ticker strings keyed by the characters s[a, b) of a frame string (see the header). */
export class TextTickerCache extends TickerTable {
  /** The ticker s[a, b) as a flat string: the cached one when the same characters were seen. */
  get(s: string, a: number, b: number): string {
    const len = b - a
    if (this.maxEntries === 0 || len > this.maxLength || len === 0) {
      this.lastId = -1
      return s.slice(a, b)
    }
    let h = Math.imul(len, H1)
    for (let i = a; i < b; i++) h = Math.imul(h ^ s.charCodeAt(i), H2)
    h ^= h >>> 15
    const mask = this.mask
    const meta = this.meta
    let slot = h & mask
    for (;;) {
      const l = meta[slot << 2]
      if (l === EMPTY) break
      if (l === len && meta[(slot << 2) + 1] === h && s.startsWith(this.strs[slot] as string, a)) {
        this.hits++
        this.lastId = meta[(slot << 2) + 3]
        return this.strs[slot] as string
      }
      slot = (slot + 1) & mask
    }
    this.misses++
    // flat: a slice may share the frame's buffer; slicing a fresh concatenation copies the characters
    const t = (' ' + s.slice(a, b)).slice(1)
    this.put(this.freeSlot(h, slot), len, h, 0, t)
    return t
  }
}

/**
 * The text of b[a, e) (string contents), or undefined when it holds a backslash or a control
 * character. ASCII is copied as Latin-1 (the same characters, and cheaper than TextDecoder).
 */
export function decodeString(b: Uint8Array, a: number, e: number): string | undefined {
  let high = false
  for (let i = a; i < e; i++) {
    const c = b[i]
    if (c < SPACE || c === BACKSLASH) return undefined
    if (c > 127) high = true
  }
  return high ? utf8.decode(b.subarray(a, e)) : latin1Slice.call(b as Buffer, 'latin1', a, e)
}
