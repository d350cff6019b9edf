/**
 * Records from archive files (every layout the archive readers accept), in time order. The gunzip
 * worker also walks the records of the chunks it inflates (records/chunk-records.ts), so this
 * thread mostly builds records and runs the engine.
 */
import { listArchiveFiles, newReadStats, readTextChunks, type ArchiveFile, type ReadStats, type TruncatedFile } from '../archive/index.ts'
import { parseTextChunk, RECORD_INDEXER } from '../records/chunk-records.ts'
import { newParseStats, type ParseStats } from '../records/parse.ts'
import type { MarketRecord } from '../records/types.ts'
import { sourceSeqOf, type RecordSource, type SourceBatch } from './types.ts'

export interface FileSourceOptions {
  root: string
  feed: string
  stream?: string
  dates: readonly string[]
  /** Called after each file (for progress). */
  onFile?: (done: number, total: number, file: ArchiveFile) => void
  /** Called when a file turns out truncated or corrupt (its complete lines are still read). */
  onTruncated?: (t: TruncatedFile) => void
}

/**
 * Each record's source sequence is its line's `_nats_seq` (archiver) or `_seq` (connector file
 * transport), else its 1-based line number over the whole replay.
 */
export class FileRecordSource implements RecordSource {
  readonly read: ReadStats = newReadStats()
  readonly parse: ParseStats = newParseStats()
  files: ArchiveFile[] = []
  private stopped = false

  constructor(private readonly options: FileSourceOptions) {}

  async listFiles(): Promise<ArchiveFile[]> {
    const { root, feed, stream, dates } = this.options
    this.files = await listArchiveFiles(root, { feed, stream, dates })
    return this.files
  }

  async *batches(): AsyncGenerator<SourceBatch> {
    const files = await this.listFiles()
    let line = 0
    for (let f = 0; f < files.length && !this.stopped; f++) {
      for await (const t of readTextChunks(files[f], { stats: this.read, index: RECORD_INDEXER ?? undefined, onTruncated: this.options.onTruncated })) {
        const records: MarketRecord[] = []
        const seqs: number[] = []
        const n = parseTextChunk(t, records, seqs, line, this.parse)
        if (n === 0) continue
        line += n
        this.read.lines += n
        for (let i = 0; i < records.length; i++) seqs[i] = sourceSeqOf(records[i], seqs[i])
        yield { records, seqs }
        if (this.stopped) break
      }
      this.options.onFile?.(f + 1, files.length, files[f])
    }
  }

  async close(): Promise<void> {
    this.stopped = true
  }
}
