/**
 * A cheap monotonic clock anchored to wall time once per thread.
 *
 * `performance.timeOrigin` is the wall-clock time (ms) at which this thread's
 * `performance.now()` was 0; it is read once at module load. Their sum is monotonic (it only
 * moves with `performance.now()`) and agrees across the main thread and Workers, whose
 * `performance.now()` counts from the Worker's own start (research/perf-baseline.md §2).
 * `Date.now()` is not used: it steps in 1 ms and can jump backwards with NTP. A read costs
 * ~50 ns: stamp once per socket read, not per field.
 */

const ORIGIN_MS = performance.timeOrigin
/** Epoch µs at which this thread's performance.now() was 0. */
export const CLOCK_ORIGIN_US = ORIGIN_MS * 1000

/** Epoch microseconds, an integer, monotonic (never decreases) within a thread. */
export function nowUs(): number {
  return Math.floor((ORIGIN_MS + performance.now()) * 1000)
}

/** Epoch milliseconds with a fraction, monotonic within a thread. */
export function nowMs(): number {
  return ORIGIN_MS + performance.now()
}

/** Thread-local monotonic nanoseconds for measuring durations (not comparable across threads). */
export function monoNs(): number {
  return performance.now() * 1e6
}
