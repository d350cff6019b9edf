/** (Over 300 lines: one writer state machine, rotation, day rollover, manifest, recovery of .tmp files and the directory lock, each step sharing the open file and the day state.) */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { silentLogger, type Logger } from '../core/log.ts'
import { lockDir } from '../core/dir-lock.ts'
import { UsageError } from '../core/errors.ts'
import { DayState } from './day-state.ts'
import { ArchiveError } from './errors.ts'
import { GzipFile, gzipModeFromEnv, isGzipMode, type GzipMode } from './gzip-file.ts'
import { ByteTickerCache } from '../../hot/ticker-cache.ts'
import { CONTROL_TYPE, encodeBatch, readControl, scanFrameAt, type ArchiveRecord, type FrameScan } from './line.ts'
import { countControl, type ManifestFile } from './manifest.ts'
import { freeName, recoverOrphans } from './recover.ts'
import { parseRotation, rfc3339, slotAt, type Slot } from './rotation.ts'

export const ARCHIVE_WRITER_DEFAULTS = {
  /** Wall-clock rotation interval; whole minutes that divide a day. */
  rotation: '15m',
  /** gzip level 1..9. */
  gzipLevel: 6,
  /** Field appended with each record's `seq`: `_nats_seq` (archiver) or `_seq` (file transport);
   * null appends nothing. Also recorded as the manifest's `seq_field`. */
  seqField: '_nats_seq' as string | null,
  /** How often a timer closes a file whose slot has ended when no records arrive; 0 = no timer
   * (call `tick()` yourself). */
  rotationCheckMs: 1000,
}

export interface ArchiveWriterOptions extends Partial<typeof ARCHIVE_WRITER_DEFAULTS> {
  root: string
  feed: string
  stream: string
  /** How files are compressed (gzip-file.ts); default SSMD_GZIP, else `members`. */
  gzipMode?: GzipMode
  /** Wall clock in epoch milliseconds (tests inject one). */
  now?: () => number
  log?: Logger
}

export interface ArchiveWriterStats {
  records: number
  bytes: number
  /** Payloads not ending in `}`, written unchanged. */
  unterminated: number
  /** Frames whose type needed JSON.parse (or was not JSON). */
  parseFallbacks: number
  filesRotated: number
  openFile: string | null
}

export interface GapInput {
  after_seq: number
  missing_count: number
  /** Epoch ms; default now. */
  detected_at?: number
}

interface OpenFile {
  file: GzipFile
  slot: Slot
  entry: ManifestFile
  byType: Map<string, number>
  /** Encode buffers handed to the compressor since the last flush (reusable once it resolves). */
  written: Buffer[]
}

/** Encode buffers kept for reuse (a fresh large buffer is fresh pages: a page fault per 4 KiB). */
const SPARE_BUFFERS = 4
const MIN_ENCODE_BYTES = 512 * 1024

const SAFE_NAME = /^[A-Za-z0-9_.-]+$/

/** The stream directory's lock (a dot file, like `.stream.json`: readers walk the date directories beside it). */
export const ARCHIVE_LOCK_FILE = '.lock'

/**
 * Writes `{root}/{feed}/{stream}/{YYYY-MM-DD}/{HHMM}.jsonl.gz` (UTC), one file per wall-clock slot,
 * with a merged `manifest.json` per date directory.
 *
 * Durability contract: when `append()` resolves, the batch is handed to the compressor; when
 * `flush()` resolves, every record appended before the call is compressed and written to the file
 * (`.tmp` while open) with Z_SYNC_FLUSH, so it is readable by other processes and survives a crash
 * of this process, but not of the machine. A file is fsynced and renamed when its slot ends and on
 * `close()`. The archiver acks a batch only after `flush()` resolves: at-least-once across process
 * crashes. Calls are serialised in the order made. Memory does not grow with the day's volume
 * (per day: the distinct tickers and types, and one manifest entry per file).
 *
 * A batch goes to the slot of the clock when `append()` is called (one clock read per batch).
 */
export class ArchiveWriter {
  private readonly o: typeof ARCHIVE_WRITER_DEFAULTS
  private readonly rotationMs: number
  private readonly now: () => number
  private readonly log: Logger
  /** `{root}/{feed}/{stream}`: the directory of the date directories this writer writes. */
  readonly dir: string
  private readonly feed: string
  private readonly stream: string
  private readonly gzipMode: GzipMode
  /**
   * The sequence space of what is written from now on (the archiver's stream identity, once a
   * stream was re-created under this directory): recorded in each file entry as `stream_created`.
   * Set before the first write of that stream (mid-run, after `cut()`).
   */
  streamCreated: string | undefined = undefined
  /**
   * The sequence space a crashed writer's `.tmp` files were written in (what the archiver's
   * identity said before this run adopted a stream), recorded in their recovered entries.
   */
  orphanStreamCreated: string | undefined = undefined
  private chain: Promise<unknown> = Promise.resolve()
  private day: DayState | null = null
  private open: OpenFile | null = null
  private timer: ReturnType<typeof setInterval> | null = null
  private closed = false
  private readonly lock: { release(): void }
  private readonly counts = { records: 0, bytes: 0, unterminated: 0, parseFallbacks: 0, filesRotated: 0 }
  private readonly spare: Buffer[] = []
  /** Type and ticker strings of the lines (interned: none per line after each one's first). */
  private readonly strings = new ByteTickerCache(100_000, 256)
  private readonly scan: FrameScan = { type: '', ticker: null, parsed: false }

  constructor(options: ArchiveWriterOptions) {
    this.o = { ...ARCHIVE_WRITER_DEFAULTS, ...dropUndefined(options) }
    this.rotationMs = parseRotation(this.o.rotation)
    const bad = (message: string) => new UsageError(`options.${message}`, 'ARCHIVE_OPTIONS')
    for (const k of ['feed', 'stream'] as const) {
      if (!SAFE_NAME.test(options[k])) throw bad(`${k} must be a plain name (got ${JSON.stringify(options[k])})`)
    }
    const { gzipLevel: level, rotationCheckMs: checkMs } = this.o
    if (!Number.isInteger(level) || level < 1 || level > 9) throw bad(`gzipLevel must be 1..9 (got ${level})`)
    const mode = options.gzipMode ?? gzipModeFromEnv()
    if (!isGzipMode(mode)) throw bad(`gzipMode must be "members" or "zlib" (got ${JSON.stringify(mode)})`)
    this.gzipMode = mode
    if (!Number.isInteger(checkMs) || checkMs < 0) {
      throw bad(`rotationCheckMs must be a non-negative integer (got ${checkMs})`)
    }
    this.now = options.now ?? Date.now
    this.log = options.log ?? silentLogger()
    this.feed = options.feed
    this.stream = options.stream
    this.dir = join(options.root, options.feed, options.stream)
    // one writer per stream directory: two (two archivers given one name, two connectors on one
    // data directory) would write the same slot's file and each other's manifests
    try {
      mkdirSync(this.dir, { recursive: true })
    } catch (e) {
      throw new ArchiveError(`cannot create ${this.dir}: ${(e as Error).message}`, 'ARCHIVE_IO', { cause: e })
    }
    const dir = this.dir
    this.lock = lockDir(dir, {
      log: this.log, what: 'archive directory', file: ARCHIVE_LOCK_FILE,
      locked: (holder, path) => new ArchiveError(
        `archive directory ${dir} is in use by ${holder}: one writer per directory (an archiver per stream name, a connector per data directory): give this one another name or data directory, or remove ${path} if that process is not an ssmd writer`,
        'ARCHIVE_LOCKED',
      ),
      failed: (e) => new ArchiveError(`cannot lock ${dir}: ${(e as Error).message}`, 'ARCHIVE_IO', { cause: e }),
    })
    if (this.o.rotationCheckMs > 0) {
      const check = () => this.tick().catch((e) => this.log.error({ err: e }, 'archive rotation failed'))
      this.timer = setInterval(check, checkMs)
      this.timer.unref?.()
    }
  }

  /** Appends a batch (one gzip write). See the class comment for what resolution means. */
  append(records: readonly ArchiveRecord[]): Promise<void> {
    return this.serial(() => this.doAppend(records))
  }

  /** Pushes all appended records to the OS (Z_SYNC_FLUSH, no fsync): they are in the file. */
  flush(): Promise<void> {
    return this.serial(async () => {
      const open = this.open
      if (!open) return
      await open.file.flush()
      this.recycle(open.written)
    })
  }

  /** Closes the open file if its slot has ended (the timer calls this; tests call it). */
  tick(): Promise<void> {
    return this.serial(async () => {
      if (this.open && this.now() >= this.open.slot.endMs) await this.closeOpen(this.now())
    })
  }

  /** Records a gap in the manifest of the day it was detected; written at once. */
  recordGap(gap: GapInput): Promise<void> {
    return this.serial(async () => {
      const at = gap.detected_at ?? this.now()
      const day = await this.dayFor(slotAt(at, this.rotationMs).date)
      day.gaps.push({ after_seq: gap.after_seq, missing_count: gap.missing_count, detected_at: rfc3339(at) })
      await day.save()
    })
  }

  /**
   * Closes the open file now (fsync, rename, manifest); the next append opens another in the same
   * slot (`HHMM-01`). The archiver cuts when its stream was re-created, so that a file's
   * sequences come from one stream.
   */
  cut(): Promise<void> {
    return this.serial(async () => {
      if (this.open) await this.closeOpen(this.now())
    })
  }

  /** Graceful shutdown: finish, fsync and rename the open file, write the manifest. */
  close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    return this.serial(async () => {
      if (this.open) await this.closeOpen(this.now())
      this.closed = true
      this.lock.release()
    })
  }

  stats(): ArchiveWriterStats {
    return { ...this.counts, openFile: this.open?.file.tmpPath ?? null }
  }

  /** A buffer of at least `size` bytes: a spare one, else a new one. */
  private takeSpare(size: number): Buffer {
    for (let i = this.spare.length - 1; i >= 0; i--) {
      if (this.spare[i].length >= size) return this.spare.splice(i, 1)[0]
    }
    return Buffer.allocUnsafeSlow(Math.max(size, MIN_ENCODE_BYTES))
  }

  /** `bufs` were compressed (a flush or close resolved after them): keep a few for reuse. */
  private recycle(bufs: Buffer[]): void {
    for (const b of bufs.splice(0)) if (this.spare.length < SPARE_BUFFERS) this.spare.push(b)
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      if (this.closed) throw new ArchiveError(`archive writer for ${this.dir} is closed`, 'ARCHIVE_CLOSED')
      return step()
    })
    this.chain = run.catch(() => {})
    return run
  }

  private async doAppend(records: readonly ArchiveRecord[]): Promise<void> {
    const now = this.now()
    const slot = slotAt(now, this.rotationMs)
    if (this.open && this.open.slot.startMs !== slot.startMs) await this.closeOpen(now)
    if (records.length === 0) return
    const open = this.open ?? (await this.openFile(slot, now))
    const day = this.day as DayState
    const entry = open.entry
    let fallbacks = 0
    let backing: Buffer | null = null
    const { buf, unterminated } = encodeBatch(records, this.o.seqField, (b, start, end) => {
      const f = scanFrameAt(b, start, end, this.strings, this.scan)
      if (f.parsed) fallbacks++
      open.byType.set(f.type, (open.byType.get(f.type) ?? 0) + 1)
      day.types.add(f.type)
      if (f.ticker !== null) day.tickers.add(f.ticker)
      if (f.type === CONTROL_TYPE) {
        const c = readControl(b, start, end)
        if (c !== null) countControl(entry, c)
      }
    }, (size) => (backing = this.takeSpare(size)))
    if (backing !== null) open.written.push(backing)
    for (const r of records) {
      if (r.seq === undefined) continue
      if (entry.first_seq === null) entry.first_seq = r.seq
      entry.last_seq = r.seq
    }
    entry.records += records.length
    entry.bytes += buf.length
    this.counts.records += records.length
    this.counts.bytes += buf.length
    this.counts.unterminated += unterminated
    this.counts.parseFallbacks += fallbacks
    await open.file.write(buf)
  }

  private async dayFor(date: string): Promise<DayState> {
    if (this.day?.date === date) return this.day
    const dir = join(this.dir, date)
    mkdirSync(dir, { recursive: true })
    const header = {
      feed: this.feed, stream: this.stream, rotation_interval: this.o.rotation, seq_field: this.o.seqField,
    }
    const day = await DayState.load(date, dir, header, this.log)
    if ((await recoverOrphans(day, this.o.seqField, this.o.gzipLevel, this.log, this.gzipMode, this.orphanStreamCreated)) > 0) await day.save()
    this.day = day
    return day
  }

  private async openFile(slot: Slot, now: number): Promise<OpenFile> {
    const day = await this.dayFor(slot.date)
    const name = freeName(day, slot.name)
    day.names.add(name)
    const file = new GzipFile(join(day.dir, name), this.o.gzipLevel, '.tmp', this.gzipMode)
    const entry: ManifestFile = {
      name, start: rfc3339(now), end: rfc3339(now), records: 0, bytes: 0,
      first_seq: null, last_seq: null, records_by_type: {}, upstream_gaps: 0, upstream_missing: 0, reconnects: 0,
      ...(this.streamCreated !== undefined ? { stream_created: this.streamCreated } : {}),
    }
    this.open = { file, slot, entry, byType: new Map(), written: [] }
    this.log.debug({ file: file.tmpPath }, 'archive file opened')
    return this.open
  }

  private async closeOpen(now: number): Promise<void> {
    const open = this.open as OpenFile
    this.open = null
    const day = this.day as DayState
    const entry = open.entry
    entry.end = rfc3339(Math.min(now, open.slot.endMs))
    entry.records_by_type = Object.fromEntries([...open.byType].sort(([a], [b]) => a.localeCompare(b)))
    try {
      await open.file.close()
    } catch (e) {
      open.file.abandon()
      throw e
    }
    this.recycle(open.written)
    day.files.push(entry)
    this.counts.filesRotated++
    await day.save()
    this.log.info({ file: open.file.finalPath, records: entry.records, bytes: entry.bytes }, 'archive file closed')
  }
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
