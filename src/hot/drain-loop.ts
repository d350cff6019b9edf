/**
 * The flusher Worker's loop: sleep on the ring (Atomics.waitAsync, so the Worker's event loop
 * stays free for its NATS client or file writer), read a batch, await the sink, then free the
 * batch's space. Space is freed only after `onBatch` resolves, so a slow sink fills the ring
 * and the producer sees back-pressure (push returns false) instead of records being copied
 * into an unbounded queue. The records and their payload views are reused: valid until
 * `onBatch` resolves; copy what must outlive it.
 *
 * Stopping: when the producer closes the ring, or `signal` aborts, the loop reads until the
 * ring is empty, hands those batches to `onBatch`, and returns the number of records drained.
 * If `onBatch` throws, the loop rejects with that error and the batch stays in the ring.
 *
 * Fairness: while the ring never runs dry and `onBatch` returns synchronously (a sink appending
 * to a local journal while the producer runs at full speed), the loop yields a macrotask turn at
 * least every `yieldEveryMs`, so the thread's sockets, timers and replies still run (before, a
 * NATS sink's stream check and its client's pings waited for the ring to empty: forever).
 */
import { invalidOption } from './errors.ts'
import { type Ring, RingRecord } from './ring.ts'

export interface DrainLoopOptions {
  /** Records per onBatch call at most. @default 1024 */
  maxBatch?: number
  /** Stop (after draining what is in the ring) when this aborts. */
  signal?: AbortSignal
  /** Longest sleep between checks, in ms (a safety net; wake-ups come from the producer). @default 1000 */
  idleTimeoutMs?: number
  /** Longest run of batches without giving the event loop a turn, in ms. @default 5 */
  yieldEveryMs?: number
}

/** A macrotask turn: timers and I/O callbacks run before it resolves (a microtask would not). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

export async function drainLoop(
  ring: Ring,
  onBatch: (records: readonly RingRecord[]) => void | Promise<void>,
  options: DrainLoopOptions = {},
): Promise<number> {
  const maxBatch = options.maxBatch ?? 1024
  const idle = options.idleTimeoutMs ?? 1000
  const yieldEvery = options.yieldEveryMs ?? 5
  if (!Number.isInteger(maxBatch) || maxBatch < 1) invalidOption('maxBatch', 'a positive integer', maxBatch)
  if (!(idle > 0)) invalidOption('idleTimeoutMs', 'a positive number', idle)
  if (!(yieldEvery > 0)) invalidOption('yieldEveryMs', 'a positive number', yieldEvery)
  const pool = Array.from({ length: maxBatch }, () => new RingRecord())
  const batch: RingRecord[] = []
  const signal = options.signal
  const onAbort = () => ring.wakeConsumer()
  signal?.addEventListener('abort', onAbort, { once: true })
  let total = 0
  let turnAt = performance.now()
  try {
    for (;;) {
      const n = ring.readBatch(pool, maxBatch)
      if (n > 0) {
        batch.length = n
        for (let i = 0; i < n; i++) batch[i] = pool[i]
        const pending = onBatch(batch)
        if (pending !== undefined) await pending
        ring.commitRead()
        total += n
        const now = performance.now()
        if (now - turnAt >= yieldEvery) {
          await nextTurn()
          turnAt = performance.now()
        }
        continue
      }
      turnAt = performance.now()
      ring.commitRead() // frees pads skipped by readBatch
      if (ring.closed || signal?.aborted) {
        if (!ring.readable()) return total
        continue
      }
      await ring.waitReadable(idle)
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}
