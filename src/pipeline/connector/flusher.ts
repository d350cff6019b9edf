/**
 * The flusher: drains the ring in batches into a transport sink. Runs in the flusher Worker
 * (nats, file) or in-process (memory, or a sink handed in by tests / `ssmd run`).
 */
import { drainLoop } from '../../hot/drain-loop.ts'
import type { Ring, RingRecord } from '../../hot/ring.ts'
import type { OutRecord, Sink } from '../transport/types.ts'
import { OutRecordFactory } from './out-records.ts'

export const FLUSHER_DEFAULTS = { MAX_BATCH: 1024, SETTLE_MS: 10_000 }

export class Flusher {
  readonly factory: OutRecordFactory
  records = 0
  /**
   * The sink's first failure (reported once through `onFailure`). The ring keeps draining into
   * the sink after it, so the producer is never left with a ring nobody empties: a failed
   * NatsSink still journals every batch it is given (then throws, which is ignored here), so what
   * the connector received before it stopped is in the journal for the next start.
   */
  failure: unknown = undefined
  private readonly abort = new AbortController()
  private done: Promise<number> | undefined

  constructor(
    readonly ring: Ring,
    readonly sink: Sink,
    instanceId: string,
    private readonly onFailure?: (error: unknown) => void,
    private readonly maxBatch = FLUSHER_DEFAULTS.MAX_BATCH,
  ) {
    this.factory = new OutRecordFactory(instanceId)
  }

  start(): Promise<number> {
    this.done = drainLoop(this.ring, (batch) => this.onBatch(batch), { maxBatch: this.maxBatch, signal: this.abort.signal })
    return this.done
  }

  private onBatch(batch: readonly RingRecord[]): void | Promise<void> {
    const out: OutRecord[] = new Array(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]
      // The ring's bytes are reused once the batch is committed: the sink keeps a copy.
      out[i] = this.factory.make(r.subject, r.bytes.slice(r.start, r.end), r.receivedAtUs, r.kind)
    }
    this.records += batch.length
    try {
      const pending = this.sink.write(out)
      if (pending !== undefined) return pending.catch((e) => this.failed(e))
    } catch (e) {
      this.failed(e)
    }
  }

  private failed(e: unknown): void {
    if (this.failure !== undefined) return
    this.failure = e
    this.onFailure?.(e)
  }

  /**
   * Drains what is left in the ring (the producer has closed it), lets the sink settle (a
   * journal replays into NATS if it answers, up to `settleMs`), then closes the sink. Rejects
   * with the sink's failure, if it had one.
   */
  async stop(settleMs = FLUSHER_DEFAULTS.SETTLE_MS): Promise<void> {
    this.abort.abort()
    await this.done
    const settling = this.sink as Sink & { settle?: (ms: number) => Promise<boolean> }
    if (settling.settle && this.failure === undefined) await settling.settle(settleMs)
    await this.sink.close()
    if (this.failure !== undefined) throw this.failure
  }
}
