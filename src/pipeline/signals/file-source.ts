/** Records from archive files (every layout the archive readers accept), in time order. */
import { listArchiveFiles, newReadStats, readArchiveBatches, type ArchiveFile, type ReadStats } from '../archive/index.ts'
import { newParseStats, parseRecord, type ParseStats } from '../records/parse.ts'
import type { MarketRecord } from '../records/types.ts'
import { sourceSeqOf, type RecordSource, type SourceBatch } from './types.ts'

export interface FileSourceOptions {
  root: string
  feed: string
  stream?: string
  dates: readonly string[]
  /** Called after each file (for progress). */
  onFile?: (done: number, total: number, file: ArchiveFile) => void
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
      for await (const lines of readArchiveBatches([files[f]], { stats: this.read })) {
        const records: MarketRecord[] = []
        const seqs: number[] = []
        for (const text of lines) {
          line++
          const r = parseRecord(text, {}, this.parse)
          if (r === null) continue
          records.push(r)
          seqs.push(sourceSeqOf(r, line))
        }
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
