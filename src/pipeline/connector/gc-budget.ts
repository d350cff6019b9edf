/**
 * A heap budget for the flusher Worker. Measured (bench/connector.bench.ts rss, 10k markets):
 * the Worker's JS heap grows ~7 MB/s of short-lived publish/ack garbage that JSC's collector
 * only reclaimed at ~140 MB, taking the process to 250–280 MB RSS; a full collection whenever
 * the heap has grown `budgetBytes` past its size after the previous one keeps it down (peak RSS
 * with 10k markets: 24 MiB ~175 MB, 8 MiB ~155 MB; ingest and latency the same within noise).
 * Checked every `everyMs` (a heapStats() call, no allocation); a collection of a heap that is
 * mostly garbage takes a few ms. Off switch: SSMD_FLUSHER_HEAP_BUDGET_MB=0.
 */
import { heapStats } from 'bun:jsc'

export interface GcBudgetOptions {
  /** Growth that triggers a full collection. @default 8 MiB */
  budgetBytes?: number
  /** @default 500 */
  everyMs?: number
}

export interface GcBudget {
  /** Collections run so far. */
  readonly collections: number
  stop(): void
}

export function startGcBudget(options: GcBudgetOptions = {}): GcBudget {
  const budget = options.budgetBytes ?? 8 * 2 ** 20
  let floor = heapStats().heapSize
  let collections = 0
  const timer = setInterval(() => {
    const size = heapStats().heapSize
    // the collector's own runs shrink the heap too: growth counts from the lowest size seen
    if (size < floor) floor = size
    if (size - floor < budget) return
    Bun.gc(true)
    collections++
    floor = heapStats().heapSize
  }, options.everyMs ?? 500)
  timer.unref?.()
  return {
    get collections() {
      return collections
    },
    stop: () => clearInterval(timer),
  }
}

/** The budget from SSMD_FLUSHER_HEAP_BUDGET_MB (unset: the default; 0: off). */
export function gcBudgetFromEnv(env: Record<string, string | undefined> = process.env): GcBudget | undefined {
  const raw = env.SSMD_FLUSHER_HEAP_BUDGET_MB
  if (raw === undefined || raw === '') return startGcBudget()
  const mb = Number(raw)
  if (!Number.isFinite(mb) || mb < 0) return startGcBudget()
  return mb === 0 ? undefined : startGcBudget({ budgetBytes: mb * 2 ** 20 })
}
