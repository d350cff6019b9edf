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
import { UsageError } from './errors.ts'

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
 * The budget from SSMD_HEAP_BUDGET_MB (unset: `defaultBytes`, the role's
 * own default; 0: off; anything but a number ≥ 0: a UsageError naming it).
 */
export function heapBudgetFromEnv(env: Record<string, string | undefined> = process.env, defaultBytes = HEAP_BUDGET_DEFAULT_BYTES): HeapBudget | undefined {
  const raw = env.SSMD_HEAP_BUDGET_MB
  if (raw === undefined || raw === '') return startHeapBudget({ budgetBytes: defaultBytes })
  const mb = Number(raw)
  if (!Number.isFinite(mb) || mb < 0) throw new UsageError(`SSMD_HEAP_BUDGET_MB must be a number of MiB, 0 for off (got ${JSON.stringify(raw)})`, 'CONFIG_ENV')
  return mb === 0 ? undefined : startHeapBudget({ budgetBytes: mb * 2 ** 20 })
}

/** How often the connector's main thread asks for a collection (see startGcPacer). */
export const GC_PACE_DEFAULT_MS = 1000

/**
 * A GC pacer: asks the collector for a collection every `everyMs` (`Bun.gc(false)`: ~0.3 ms, not
 * a full collection, which takes 35–50 ms at a 37 MB heap). For a thread whose JS heap hardly
 * grows, so the collector has no reason to run, but which holds memory `heapSize()` does not
 * count (native memory owned by JS objects, freed when they are collected): a heap budget never
 * fires there. Measured on `ssmd connector` with 10,000 markets (bench/connector.bench.ts rss):
 * its main thread's heap stayed flat at 37 MB while RSS ramped by ~50 MB over ~12 s, at about the
 * rate of the received bytes, every few minutes, then fell back at once; peaks 182–209 MB in
 * 10–15 minutes. With a request every second: no ramp in 15 minutes, peak 145 MB.
 * Off switch: SSMD_GC_PACE_MS=0 (another number sets the period in ms).
 */
export function startGcPacer(everyMs = GC_PACE_DEFAULT_MS): { readonly requests: number; stop(): void } {
  let requests = 0
  const timer = setInterval(() => {
    Bun.gc(false)
    requests++
  }, everyMs)
  timer.unref?.()
  return {
    get requests() {
      return requests
    },
    stop: () => clearInterval(timer),
  }
}

/** The pacer of SSMD_GC_PACE_MS (unset: `defaultMs`; 0: none; anything but a whole number ≥ 0: a UsageError naming it). */
export function gcPacerFromEnv(env: Record<string, string | undefined> = process.env, defaultMs = GC_PACE_DEFAULT_MS): ReturnType<typeof startGcPacer> | undefined {
  const raw = env.SSMD_GC_PACE_MS
  const ms = raw === undefined || raw === '' ? defaultMs : Number(raw)
  if (!Number.isSafeInteger(ms) || ms < 0) throw new UsageError(`SSMD_GC_PACE_MS must be a whole number of milliseconds, 0 for off (got ${JSON.stringify(raw)})`, 'CONFIG_ENV')
  return ms === 0 ? undefined : startGcPacer(ms)
}
