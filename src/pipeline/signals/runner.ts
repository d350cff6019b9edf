/** The loop that drives an engine from a source into a sink; the same for live, replay, backtest. */
import type { SignalEngine } from './engine.ts'
import type { EmittedFire, FireSink, RecordSource } from './types.ts'

export interface RunOptions {
  engine: SignalEngine
  source: RecordSource
  sink: FireSink
  /** Stops after the current batch. */
  signal?: AbortSignal
  /** Called after each batch (progress, metrics). */
  onBatch?: (records: number, fires: readonly EmittedFire[]) => void
}

export interface RunResult {
  records: number
  fires: number
}

/** Runs until the source ends or `signal` aborts; a batch is acked after its fires are published. */
export async function runSignals(o: RunOptions): Promise<RunResult> {
  let records = 0
  let fires = 0
  const out: EmittedFire[] = []
  for await (const batch of o.source.batches()) {
    out.length = 0
    const { records: rs, seqs } = batch
    for (let i = 0; i < rs.length; i++) o.engine.process(rs[i], seqs[i], out)
    // a batch's fires all in flight at once (sent in call order): one wait for their acks, not one per fire
    if (out.length === 1) await o.sink.publish(out[0])
    else if (out.length > 1) await Promise.all(out.map((f) => o.sink.publish(f)))
    await batch.ack?.()
    records += rs.length
    fires += out.length
    o.onBatch?.(rs.length, out)
    if (o.signal?.aborted) break
  }
  return { records, fires }
}
