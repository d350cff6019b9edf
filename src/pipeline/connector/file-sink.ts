/**
 * The `file` transport: the connector writes the archive format (DESIGN §7) itself, no NATS.
 * Each line carries the connector's own monotonic `"_seq":N`; `{stream}` is the environment.
 * A batch is accepted once the archive writer has pushed it to the OS (flush).
 */
import { ArchiveWriter, type ArchiveWriterOptions } from '../archive/index.ts'
import type { OutRecord, Sink, SinkStats } from '../transport/types.ts'
import { TransportError } from '../transport/errors.ts'

export class FileSink implements Sink {
  readonly writer: ArchiveWriter
  private written = 0
  private accepted = 0
  private closed = false

  constructor(options: Omit<ArchiveWriterOptions, 'seqField'>) {
    this.writer = new ArchiveWriter({ ...options, seqField: '_seq' })
  }

  async write(records: OutRecord[]): Promise<void> {
    if (this.closed) throw new TransportError('SINK_CLOSED', 'file sink is closed')
    this.written += records.length
    await this.writer.append(records.map((r) => ({ payload: r.payload, seq: r.seq })))
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
