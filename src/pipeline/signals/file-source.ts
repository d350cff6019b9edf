/**
 * Records from archive files (every layout the archive readers accept), in time order. The gunzip
 * worker also walks the records of the chunks it inflates (records/chunk-records.ts), so this
 * thread mostly builds records and runs the engine.
 */
import { listArchiveFiles, newReadStats, type ArchiveFile, type ReadStats, type TruncatedFile } from '../archive/index.ts'
import { readRecordBatches } from '../records/chunk-records.ts'
import { newParseStats, type ParseStats } from '../records/parse.ts'
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
    if (this.stopped) return
    const { onTruncated, onFile } = this.options
    const batches = readRecordBatches(files, { read: this.read, parse: this.parse, onTruncated, onFile })
    for await (const { records, lines: seqs } of batches) {
      for (let i = 0; i < records.length; i++) seqs[i] = sourceSeqOf(records[i], seqs[i])
      yield { records, seqs }
      if (this.stopped) break
    }
  }

  async close(): Promise<void> {
    this.stopped = true
  }
}
