/**
 * The `file` transport: the connector writes the archive format (DESIGN §7) itself, no NATS.
 * Each line carries the connector's own monotonic `"_seq":N`; `{stream}` is the environment.
 * `_seq` goes on from the highest one already written under `{root}/{feed}/{stream}` (manifests
 * and a crashed writer's `.tmp`), so it stays unique and increasing across restarts, as
 * `_nats_seq` is (before, every start began again at 1: a date held the same `_seq` several
 * times). A batch is accepted once the archive writer has pushed it to the OS (flush).
 */
import { ArchiveWriter, type ArchiveWriterOptions } from '../archive/index.ts'
import { lastDurableSeq } from '../archiver/resume.ts'
import type { OutRecord, Sink, SinkStats } from '../transport/types.ts'
import { TransportError } from '../transport/errors.ts'

export type FileSinkOptions = Omit<ArchiveWriterOptions, 'seqField'>

export class FileSink implements Sink {
  readonly writer: ArchiveWriter
  private written = 0
  private accepted = 0
  private closed = false

  /**
   * A sink whose `_seq` goes on after the highest one already in its archive directory: read once
   * the writer holds the directory (a second writer is refused before it scans anything).
   */
  static async open(options: FileSinkOptions): Promise<FileSink> {
    const sink = new FileSink(options)
    try {
      sink.lastSeq = (await lastDurableSeq(sink.writer.dir, '_seq')) ?? 0
    } catch (e) {
      await sink.close().catch(() => {})
      throw e
    }
    return sink
  }

  /** `lastSeq`: the `_seq` before the first line this sink writes (FileSink.open reads it from disk). */
  constructor(options: FileSinkOptions, private lastSeq = 0) {
    this.writer = new ArchiveWriter({ ...options, seqField: '_seq' })
  }

  async write(records: OutRecord[]): Promise<void> {
    if (this.closed) throw new TransportError('SINK_CLOSED', 'file sink is closed')
    this.written += records.length
    await this.writer.append(records.map((r) => ({ payload: r.payload, seq: ++this.lastSeq })))
    await this.writer.flush()
    this.accepted += records.length
  }

  async flush(): Promise<void> {
    await this.writer.flush()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.writer.close()
  }

  stats(): SinkStats {
    return { written: this.written, accepted: this.accepted, pending: this.written - this.accepted }
  }
}
