/**
 * Records of archive chunks (archive `readTextChunks`), exactly as `parseRecord` gives them for
 * each line `readLineBatches` reads. When the gunzip worker walked a chunk's lines
 * (`RECORD_INDEXER`: scan-worker.ts, scan-chunk.ts), a line it read is built from its slots
 * (scan.ts `buildScanned`) without walking it again here. The lines it did not walk (a chunk it
 * left to this thread, lines past its list, or no worker at all: inline gunzip, plain files) get
 * the same byte walk here (scan-chunk.ts `listLines` over the chunk's bytes, into this thread's
 * own index), when the chunk is ASCII; a line either walk declines, one completed from an
 * earlier chunk, and every line of a chunk that is not ASCII go through `parseRecord`.
 * Off switch: SSMD_SCAN_WORKER=0 (the worker only inflates; every line is walked here);
 * SSMD_RECORD_SCAN=json: every line through `parseRecord`'s JSON.parse.
 */
import { finishLine, readTextChunks, type ArchiveFile, type ChunkIndexer, type ReadStats, type TextChunk, type TruncatedFile } from '../archive/index.ts'
import { parseRecord, type ParseStats } from './parse.ts'
import { buildScanned, RECORD_SCAN } from './scan.ts'
import { blockOf, chunkIndexBytes, chunkIndexOf, LINE_WORDS, LIST, listAt, listLines, newChunkIndex, type ChunkIndex } from './scan-chunk.ts'
import type { MarketRecord } from './types.ts'

/** The index readers ask the gunzip worker for, or null when it is switched off (see the header). */
export const RECORD_INDEXER: ChunkIndexer | null = RECORD_SCAN && process.env.SSMD_SCAN_WORKER !== '0'
  ? { worker: new URL('./scan-worker.ts', import.meta.url).href, compiledPath: './pipeline/records/scan-worker.ts', bytes: chunkIndexBytes }
  : null

/**
 * Lines whose records were built from a byte walk (tests, diagnostics): `built` all of them,
 * `walkedHere` those walked on this thread (chunks the worker left unindexed, or no worker).
 */
export const chunkRecords = { built: 0, walkedHere: 0 }

/** Records built from the index in the current chunk, by line type (1 ticker, 2 trade, 3 orderbook_delta). */
const built = [0, 0, 0, 0]
const TYPE_NAMES = ['', 'ticker', 'trade', 'orderbook_delta']

let viewsOf: SharedArrayBuffer | null = null
let views: ChunkIndex | null = null
/** The ticker of each ticker id of the file `namesOf` of the index `viewsOf` (ids are per file). */
let names: (string | undefined)[] = []
let namesOf = 0

function indexOf(t: TextChunk): ChunkIndex | null {
  const memory = t.chunk.index
  if (memory === null || !t.ascii) return null
  if (memory !== viewsOf) {
    viewsOf = memory
    views = chunkIndexOf(memory, t.chunk.slots)
    names = []
  }
  const index = views as ChunkIndex
  const at = listAt(t.chunk.slot)
  if (index.lists[at + LIST.FILE] !== namesOf) {
    namesOf = index.lists[at + LIST.FILE]
    names = []
  }
  // the worker lists lines from the chunk's first line start, as the reader's text starts
  return index.lists[at + LIST.FROM] === t.textStart ? index : null
}

/**
 * Appends the records of the lines of `t` to `out`, and the number of each one's line to `lines`
 * (lines are numbered on from `line`, non-empty lines only, as `readLineBatches` yields them);
 * returns the number of lines. `unwrap` as the reader's `unwrapSeed`.
 */
export function parseTextChunk(t: TextChunk, out: MarketRecord[], lines: number[], line: number, stats: ParseStats, unwrap = true): number {
  const first = line
  lineNo = line
  if (t.carried !== null) add(parseRecord(t.carried, {}, stats), out, lines, ++lineNo)
  const text = t.text
  let i = 0
  const index = indexOf(t)
  if (index !== null) i = buildListed(t, index, t.chunk.slot, out, lines, stats, unwrap)
  // lines the worker did not walk (it left the chunk to this thread, or there is no worker):
  // walked here, over the chunk's bytes, which are the text's when it is ASCII
  if (t.ascii && i < text.length && RECORD_SCAN) {
    const own = (ownIndex ??= newChunkIndex(1))
    while (i < text.length && listLines(t.chunk.bytes, t.textStart + i, t.textStart, own, 0) > 0) {
      const before = chunkRecords.built
      i = buildListed(t, own, 0, out, lines, stats, unwrap)
      chunkRecords.walkedHere += chunkRecords.built - before
    }
  }
  while (i < text.length) {
    let j = text.indexOf('\n', i)
    if (j < 0) j = text.length
    if (j > i) add(parseRecord(finishLine(text.slice(i, j), unwrap), {}, stats), out, lines, ++lineNo)
    i = j + 1
  }
  return lineNo - first
}

/** Line number of the last line parseTextChunk gave a number. */
let lineNo = 0
/** This thread's index of one chunk (for `listLines` here). */
let ownIndex: ChunkIndex | null = null

/**
 * Appends the records of the lines listed in `index` region `slot` (positions in `t.text`);
 * returns the text position after the last of them.
 */
function buildListed(t: TextChunk, index: ChunkIndex, slot: number, out: MarketRecord[], lines: number[], stats: ParseStats, unwrap: boolean): number {
  const text = t.text
  const list = index.lists
  const at = listAt(slot)
  const count = list[at + LIST.COUNT]
  let i = 0
  for (let n = 0; n < count; n++) {
    const w = at + LIST.LINES + LINE_WORDS * n
    const a = list[w]
    const z = list[w + 1]
    const type = list[w + 2]
    i = z + 1
    if (z === a) continue
    lineNo++
    const raw = text.slice(a, z)
    const id = list[w + 3]
    const r = type === 0 ? undefined : buildScanned(text, raw, index.store, blockOf(slot, n), id < 0 ? undefined : names[id])
    if (r === undefined) {
      add(parseRecord(finishLine(raw, unwrap), {}, stats), out, lines, lineNo)
      continue
    }
    if (id >= 0) names[id] = r.ticker
    // the first of a type in the chunk makes its byType key now, keeping parseRecord's key order
    if (built[type]++ === 0) stats.byType[r.type] ??= 0
    out.push(r)
    lines.push(lineNo)
  }
  // counted once per list
  for (let k = 1; k <= 3; k++) {
    if (built[k] === 0) continue
    stats.byType[TYPE_NAMES[k]] = (stats.byType[TYPE_NAMES[k]] ?? 0) + built[k]
    stats.lines += built[k]
    stats.records += built[k]
    chunkRecords.built += built[k]
    built[k] = 0
  }
  return i
}

export interface ReadRecordsOptions<F> {
  /** Files and bytes, counted by the reader; lines, counted here. */
  read: ReadStats
  parse: ParseStats
  /** A file turned out truncated or corrupt (its complete lines are still read). */
  onTruncated?: (t: TruncatedFile) => void
  /** Called after each file (for progress). */
  onFile?: (done: number, total: number, file: F) => void
}

/**
 * The records of `files` in order, a chunk's worth at a time (the gunzip worker walking the lines
 * of the chunks it inflates, as above), each with its line number: 1-based over all the files,
 * counting non-empty lines, as `readLineBatches` yields them. Each batch is the caller's to keep.
 */
export async function* readRecordBatches<F extends string | ArchiveFile>(files: readonly F[], o: ReadRecordsOptions<F>): AsyncGenerator<{ records: MarketRecord[]; lines: number[] }> {
  let line = 0
  for (let f = 0; f < files.length; f++) {
    for await (const t of readTextChunks(files[f], { stats: o.read, index: RECORD_INDEXER ?? undefined, onTruncated: o.onTruncated })) {
      const records: MarketRecord[] = []
      const lines: number[] = []
      const n = parseTextChunk(t, records, lines, line, o.parse)
      if (n === 0) continue
      line += n
      o.read.lines += n
      yield { records, lines }
    }
    o.onFile?.(f + 1, files.length, files[f])
  }
}

function add(r: MarketRecord | null, out: MarketRecord[], lines: number[], line: number): void {
  if (r === null) return
  out.push(r)
  lines.push(line)
}
