/**
 * A heap budget for a thread that consumes messages at a high rate (the connector's flusher
 * Worker, the archiver): JSC's collector lets a heap of short-lived per-message garbage grow
 * far past the live data before it runs, and that is RSS. Here a full collection runs whenever
 * the heap has grown `budgetBytes` past the lowest size seen since the previous one.
 * Measured: connector with 10k markets, flusher Worker: peak RSS ~255 MB without, ~175 MB at
 * 24 MiB, ~153 MB at 8 MiB, ~145 MB at 4 MiB (ingest and latency the same within noise); `ssmd archiver` over
 * 1M messages: ~276 MB without, ~190 MB at 8 MiB. Checked every `everyMs` with `heapSize()`
 * (~25 µs; not `heapStats()`, which walks the whole heap: ~20 ms at 300k objects, and it took
 * a quarter of the archiver's CPU); a collection of a heap that is mostly garbage takes a few ms.
 * A young-generation collection (`edenGC()`) instead was ~40 % faster for the archiver but left
 * its peak RSS where it is without a budget (~270 MB over 1M messages), so it is a full one.
 * Off switch: SSMD_HEAP_BUDGET_MB=0 (another number sets the budget in MiB).
 */
import { heapSize } from 'bun:jsc'

export interface HeapBudgetOptions {
  /** Growth that triggers a full collection. @default 8 MiB */
  budgetBytes?: number
  /** @default HEAP_BUDGET_CHECK_MS */
  everyMs?: number
}

export interface HeapBudget {
  /** Collections run so far. */
  readonly collections: number
  stop(): void
}

export const HEAP_BUDGET_DEFAULT_BYTES = 8 * 2 ** 20
/**
 * The connector's flusher Worker: 4 MiB keeps a 10k-market connector at 143–147 MB peak RSS
 * (8 MiB: 152–157) at no cost to ingest; the archiver keeps 8 MiB (4 MiB costs it ~10–15 %).
 */
export const FLUSHER_HEAP_BUDGET_BYTES = 4 * 2 ** 20
/** How often the heap size is checked (one heapSize() call, ~25 µs). */
export const HEAP_BUDGET_CHECK_MS = 100

export function startHeapBudget(options: HeapBudgetOptions = {}): HeapBudget {
  const budget = options.budgetBytes ?? HEAP_BUDGET_DEFAULT_BYTES
  let floor = heapSize()
  let collections = 0
  const timer = setInterval(() => {
    const size = heapSize()
    // the collector's own runs shrink the heap too: growth counts from the lowest size seen
    if (size < floor) floor = size
    if (size - floor < budget) return
    Bun.gc(true)
    collections++
    floor = heapSize()
  }, options.everyMs ?? HEAP_BUDGET_CHECK_MS)
  timer.unref?.()
  return {
    get collections() {
      return collections
    },
    stop: () => clearInterval(timer),
  }
}

/**
 * The budget from SSMD_HEAP_BUDGET_MB (unset or not a number ≥ 0: `defaultBytes`, the role's
 * own default; 0: off).
 */
export function heapBudgetFromEnv(env: Record<string, string | undefined> = process.env, defaultBytes = HEAP_BUDGET_DEFAULT_BYTES): HeapBudget | undefined {
  const raw = env.SSMD_HEAP_BUDGET_MB
  const mb = raw === undefined || raw === '' ? Number.NaN : Number(raw)
  if (!Number.isFinite(mb) || mb < 0) return startHeapBudget({ budgetBytes: defaultBytes })
  return mb === 0 ? undefined : startHeapBudget({ budgetBytes: mb * 2 ** 20 })
}
