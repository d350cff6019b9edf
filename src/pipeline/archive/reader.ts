import { isAscii } from 'node:buffer'
import { open } from 'node:fs/promises'
import { readChunks, type Chunk, type ChunkIndexer, type GunzipMode } from './chunks.ts'
import { GunzipError } from './gunzip.ts'
import { unwrapSeedLine } from './line.ts'
import type { ArchiveFile } from './list.ts'

/** A file whose gzip data ended early or was corrupt: the lines before that point were read. */
export interface TruncatedFile {
  path: string
  reason: string
  /** Bytes of an incomplete last line that were dropped. */
  droppedBytes: number
  /** The file is a `.tmp` (being written, or left by a crashed writer). */
  open: boolean
}

export interface ReadStats {
  files: number
  lines: number
  /** Uncompressed bytes read. */
  bytes: number
  truncated: TruncatedFile[]
}

export interface ReadOptions {
  /** Filled while reading (counts, truncated files). */
  stats?: ReadStats
  /** Called for each truncated or corrupt file, instead of throwing. */
  onTruncated?: (t: TruncatedFile) => void
  /** Unwrap seed 001 `{"ts","feed","data"}` lines to the frame (default true). */
  unwrapSeed?: boolean
  /** Read size in bytes (default 1 MiB). */
  chunkBytes?: number
  /** How gzip files are inflated (chunks.ts; default a worker for large files, env off switches). */
  gunzip?: GunzipMode
  /** An index the gunzip worker makes of each chunk (chunks.ts `ChunkIndexer`; `readTextChunks`). */
  index?: ChunkIndexer
  /** Smallest gzip file inflated in a worker (chunks.ts). @default 512 KiB */
  workerMinBytes?: number
}

/** One chunk's worth of lines (`readTextChunks`). */
export interface TextChunk {
  /** The line that ends in this chunk and began in earlier ones, finished (see `finishLine`), or null. */
  carried: string | null
  /** The chunk's complete lines after that, decoded, newline-separated, without the last newline. */
  text: string
  /** `text` is ASCII (one character per byte): character i is byte `textStart` + i of the chunk. */
  ascii: boolean
  textStart: number
  /** The chunk as read, with the worker's index (valid until the next chunk is asked for). */
  chunk: Chunk
}

export function newReadStats(): ReadStats {
  return { files: 0, lines: 0, bytes: 0, truncated: [] }
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(2)
    const { bytesRead } = await fh.read(head, 0, 2, 0)
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b
  } finally {
    await fh.close()
  }
}

/**
 * The lines of one archive file (`.jsonl`, `.jsonl.gz`, or a `.tmp` being written), in batches of
 * one chunk (chunks.ts: reused buffers, large gzip files inflated in a worker), with bounded memory. A gzip stream that ends early or is corrupt yields
 * every complete line before that point and is reported (stats, `onTruncated`), not thrown.
 * Seed 001 lines are unwrapped to the frame with `_received_at` (see `unwrapSeedLine`).
 */
export async function* readLineBatches(file: string | ArchiveFile, options: ReadOptions = {}): AsyncGenerator<string[]> {
  const path = typeof file === 'string' ? file : file.path
  const stats = options.stats
  const unwrap = options.unwrapSeed ?? true
  const chunks = readChunks(path, await isGzip(path), { readBytes: options.chunkBytes, gunzip: options.gunzip })
  if (stats) stats.files++
  // the same steps as ChunkLines, written out: this loop is the replay bench's baseline, kept as it was
  // the bytes of an incomplete last line, carried to the next chunk (lines never split a chunk's text)
  let carry: Buffer<ArrayBufferLike> = Buffer.allocUnsafe(1024)
  let carried = 0
  let first = true
  try {
    for await (const cc of chunks) {
      const c = cc.bytes
      if (stats) stats.bytes += c.length
      let chunk: Buffer<ArrayBufferLike> = Buffer.from(c.buffer, c.byteOffset, c.length)
      if (first) {
        first = false
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3) // BOM, as TextDecoder drops it
      }
      const last = chunk.lastIndexOf(NL)
      if (last < 0) {
        carry = append(carry, carried, chunk)
        carried += chunk.length
        continue
      }
      const lines: string[] = []
      let from = 0
      if (carried > 0) {
        from = chunk.indexOf(NL) + 1
        carry = append(carry, carried, chunk.subarray(0, from - 1))
        const line = decode(carry, 0, carried + from - 1)
        carried = 0
        if (line.length > 0) lines.push(finishLine(line, unwrap))
      }
      if (from < last) split(decode(chunk, from, last), lines, unwrap)
      if (last + 1 < chunk.length) {
        carry = append(carry, 0, chunk.subarray(last + 1))
        carried = chunk.length - last - 1
      }
      if (lines.length > 0) {
        if (stats) stats.lines += lines.length
        yield lines
      }
    }
    const rest = decode(carry, 0, carried)
    carried = 0
    if (rest.trim().length > 0) {
      if (stats) stats.lines++
      yield [finishLine(rest, unwrap)]
    }
  } catch (e) {
    if (!(e instanceof GunzipError)) throw e
    const t: TruncatedFile = { path, reason: e.message, droppedBytes: carried, open: path.endsWith('.tmp') }
    stats?.truncated.push(t)
    options.onTruncated?.(t)
  } finally {
    await chunks.return(undefined)
  }
}

/**
 * The lines of one archive file as `readLineBatches` reads them, a chunk at a time, undivided:
 * a line completed from earlier chunks, then the text of the chunk's complete lines (split it
 * with `finishLine` per line, skipping empty ones, as `readLineBatches` does). Counts files and
 * bytes in `stats`, not lines.
 */
export async function* readTextChunks(file: string | ArchiveFile, options: ReadOptions = {}): AsyncGenerator<TextChunk> {
  const { path, chunks, lines } = await openLines(file, options)
  try {
    for await (const c of chunks) {
      if (options.stats) options.stats.bytes += c.bytes.length
      const t = lines.next(c)
      if (t !== null) yield t
    }
    const rest = lines.rest()
    if (rest !== null) yield { carried: rest, text: '', ascii: true, textStart: 0, chunk: NO_CHUNK }
  } catch (e) {
    truncated(path, e, lines, options)
  } finally {
    await chunks.return(undefined)
  }
}

async function openLines(file: string | ArchiveFile, options: ReadOptions): Promise<{ path: string; chunks: AsyncGenerator<Chunk>; lines: ChunkLines }> {
  const path = typeof file === 'string' ? file : file.path
  const chunks = readChunks(path, await isGzip(path), { readBytes: options.chunkBytes, gunzip: options.gunzip, index: options.index, workerMinBytes: options.workerMinBytes })
  if (options.stats) options.stats.files++
  return { path, chunks, lines: new ChunkLines(options.unwrapSeed ?? true) }
}

/** A gzip error ends the file: reported (stats, `onTruncated`), not thrown. */
function truncated(path: string, e: unknown, lines: ChunkLines, options: ReadOptions): void {
  if (!(e instanceof GunzipError)) throw e
  const t: TruncatedFile = { path, reason: e.message, droppedBytes: lines.carried, open: path.endsWith('.tmp') }
  options.stats?.truncated.push(t)
  options.onTruncated?.(t)
}

/** The lines of consecutive chunks of a file: a leading BOM dropped, lines carried across chunks. */
class ChunkLines {
  /** The bytes of an incomplete last line, carried to the next chunk (lines never split a chunk's text). */
  private carry: Buffer<ArrayBufferLike> = Buffer.allocUnsafe(1024)
  carried = 0
  private first = true

  constructor(private readonly unwrap: boolean) {}

  /** The lines `c` completes, or null when it holds no newline. */
  next(c: Chunk): TextChunk | null {
    let chunk: Buffer<ArrayBufferLike> = Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.length)
    let bom = 0
    if (this.first) {
      this.first = false
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) bom = 3 // as TextDecoder drops it
      chunk = chunk.subarray(bom)
    }
    const last = chunk.lastIndexOf(NL)
    if (last < 0) {
      this.carry = append(this.carry, this.carried, chunk)
      this.carried += chunk.length
      return null
    }
    let line: string | null = null
    let from = 0
    if (this.carried > 0) {
      from = chunk.indexOf(NL) + 1
      this.carry = append(this.carry, this.carried, chunk.subarray(0, from - 1))
      const text = decode(this.carry, 0, this.carried + from - 1)
      this.carried = 0
      if (text.length > 0) line = finishLine(text, this.unwrap)
    }
    const ascii = from < last && isAscii(chunk.subarray(from, last))
    const text = from < last ? chunk.toString(ascii ? 'latin1' : 'utf8', from, last) : ''
    if (last + 1 < chunk.length) {
      this.carry = append(this.carry, 0, chunk.subarray(last + 1))
      this.carried = chunk.length - last - 1
    }
    return { carried: line, text, ascii, textStart: bom + from, chunk: c }
  }

  /** The last line when the file does not end with a newline (finished), else null. */
  rest(): string | null {
    const rest = decode(this.carry, 0, this.carried)
    this.carried = 0
    return rest.trim().length > 0 ? finishLine(rest, this.unwrap) : null
  }
}

const NO_CHUNK: Chunk = { bytes: new Uint8Array(0), index: null, slot: 0, slots: 0 }

const NL = 0x0a

/** Text of buf[a, b): ASCII (the usual archive line) copied as Latin-1, else decoded as UTF-8. */
function decode(buf: Buffer<ArrayBufferLike>, a: number, b: number): string {
  return buf.toString(isAscii(buf.subarray(a, b)) ? 'latin1' : 'utf8', a, b)
}

/** Appends the non-empty lines of `text` (no trailing newline) to `out`. */
function split(text: string, out: string[], unwrap: boolean): void {
  let i = 0
  for (;;) {
    const j = text.indexOf('\n', i)
    const end = j < 0 ? text.length : j
    if (end > i) out.push(finishLine(text.slice(i, end), unwrap))
    if (j < 0) return
    i = j + 1
  }
}

/** `bytes` written at carry[at], growing carry when needed; returns the (possibly new) carry. */
function append(carry: Buffer<ArrayBufferLike>, at: number, bytes: Uint8Array): Buffer<ArrayBufferLike> {
  let c = carry
  if (at + bytes.length > c.length) {
    c = Buffer.allocUnsafe(Math.max(2 * c.length, at + bytes.length))
    carry.copy(c, 0, 0, at)
  }
  c.set(bytes, at)
  return c
}

/** A line as readers give it: without a trailing CR, a seed 001 line unwrapped (when `unwrap`). */
export function finishLine(line: string, unwrap: boolean): string {
  const l = line.charCodeAt(line.length - 1) === 0x0d ? line.slice(0, -1) : line
  return unwrap && l.startsWith('{"ts":"') ? (unwrapSeedLine(l) ?? l) : l
}

/** Flattens batches into single lines without a generator level per line (2× faster in Bun). */
function flatten(batches: AsyncGenerator<string[]>): AsyncIterableIterator<string> {
  let batch: string[] = []
  let i = 0
  const it: AsyncIterableIterator<string> = {
    async next(): Promise<IteratorResult<string>> {
      while (i >= batch.length) {
        const r = await batches.next()
        if (r.done) return { value: undefined, done: true }
        batch = r.value
        i = 0
      }
      return { value: batch[i++], done: false }
    },
    async return(): Promise<IteratorResult<string>> {
      await batches.return(undefined)
      return { value: undefined, done: true }
    },
    [Symbol.asyncIterator]: () => it,
  }
  return it
}

/** The lines of one archive file, one string each (see `readLineBatches`). */
export function readLines(file: string | ArchiveFile, options: ReadOptions = {}): AsyncIterableIterator<string> {
  return flatten(readLineBatches(file, options))
}

/** Like `readArchive`, in batches. */
export async function* readArchiveBatches(files: Iterable<string | ArchiveFile>, options: ReadOptions = {}): AsyncGenerator<string[]> {
  for (const f of files) yield* readLineBatches(f, options)
}

/** The lines of several files, in the order given (`listArchiveFiles` gives time order). */
export function readArchive(files: Iterable<string | ArchiveFile>, options: ReadOptions = {}): AsyncIterableIterator<string> {
  return flatten(readArchiveBatches(files, options))
}
