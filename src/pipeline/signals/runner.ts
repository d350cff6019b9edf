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

/** Batches whose fires and ack may still be on their way while later batches are evaluated. */
export const RUNNER_MAX_BATCHES_IN_FLIGHT = 64

/**
 * Runs until the source ends or `signal` aborts. A batch is acked only after its fires (and those
 * of every batch before it) are published (stored), and acks are asked for in batch order; but
 * the loop does not wait for those round trips before it evaluates the next batch (at most
 * RUNNER_MAX_BATCHES_IN_FLIGHT behind), and one batch's ack does not wait for the previous one's,
 * so a live runner's latency is not one PubAck plus one ack round trip per batch. It returns once every
 * ack is done, so a restart resumes after the last batch evaluated; after a failed publish nothing
 * later is acked (those messages come again on the next start) and the failure is thrown.
 */
export async function runSignals(o: RunOptions): Promise<RunResult> {
  let records = 0
  let fires = 0
  const out: EmittedFire[] = []
  let chain: Promise<void> = Promise.resolve()
  let failure: unknown = null
  const inFlight: Promise<void>[] = []
  for await (const batch of o.source.batches()) {
    if (failure !== null) break
    out.length = 0
    const { records: rs, seqs } = batch
    for (let i = 0; i < rs.length; i++) o.engine.process(rs[i], seqs[i], out)
    // the batch's fires are sent now, in call order; its ack is asked for once their PubAcks and
    // those of every batch before it are in (so acks are asked for in batch order, and never past
    // a failed publish); the next batch's ack does not wait for this one's round trip (a source
    // with AckPolicy.All sends the acks waiting behind one in flight as one)
    const published = out.length === 0 ? null : Promise.all(out.map((f) => o.sink.publish(f)))
    const ack = batch.ack
    chain = published === null ? chain : chain.then(async () => void (await published))
    published?.catch(() => {}) // observed through the chain
    const step = chain.then(() => ack?.()).catch((e) => {
      failure ??= e
    })
    inFlight.push(step)
    if (inFlight.length > RUNNER_MAX_BATCHES_IN_FLIGHT) await inFlight.shift()
    records += rs.length
    fires += out.length
    o.onBatch?.(rs.length, out)
    if (o.signal?.aborted) break
  }
  await Promise.all(inFlight)
  if (failure !== null) throw failure
  return { records, fires }
}
