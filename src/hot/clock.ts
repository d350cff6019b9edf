/**
 * A cheap monotonic clock that follows wall time: receive stamps (`_received_at`) and latencies.
 *
 * A read is `offset + performance.now()` (~50 ns; stamp once per socket read, not per field).
 * The offset (the wall time at which this thread's `performance.now()` was 0) starts at
 * `performance.timeOrigin` and is checked against `Date.now()` at most every `checkEveryMs`
 * (on a read). Anchoring once was not enough: on this project's VMs the wall clock ran 0.5 %
 * faster than the monotonic one (kept right by the host, which the monotonic clock is not), so a
 * clock anchored once was 18 s behind wall time after an hour, and a Worker started 20 s after
 * the main thread disagreed with it by 100 ms.
 *
 * - Wall time ahead of the clock: the offset moves forward at once (a `Date.now()` sample is at
 *   most 1 ms below the true wall time, since it floors; so the offset is the highest sample).
 * - Wall time behind the clock (a slower wall clock, a step back): the offset slews back towards
 *   the best sample of each window of `window` checks, at most `slew` of the elapsed time
 *   (1 %: a 10 s step back takes ~17 minutes), so stamps never jump back.
 * - Readings never decrease within a thread (a reading equal to the last one is possible).
 * Two threads follow the same wall clock, so they agree to within the samples' precision. In
 * simulation (tests): within 0.2 ms of a steady wall clock, 0.9 ms of one running 0.5 % fast,
 * 4 ms of one running 0.5 % slow.
 */

export interface ClockSources {
  /** Wall time in ms (Date.now). */
  wallMs(): number
  /** Monotonic ms since this thread's origin (performance.now). */
  monoMs(): number
  /** Initial offset: wall ms at monoMs() = 0 (performance.timeOrigin). */
  originMs: number
}

export const CLOCK_DEFAULTS = { CHECK_EVERY_MS: 10, WINDOW: 32, SLEW: 0.01 }

export class WallClock {
  /** Wall ms at which monoMs() was 0: the current estimate. */
  offsetMs: number
  private nextCheck = 0
  private lastCheck = 0
  private best = Number.NEGATIVE_INFINITY
  private samples = 0
  private lastMs = 0

  constructor(
    private readonly src: ClockSources,
    private readonly checkEveryMs = CLOCK_DEFAULTS.CHECK_EVERY_MS,
    private readonly window = CLOCK_DEFAULTS.WINDOW,
    private readonly slew = CLOCK_DEFAULTS.SLEW,
  ) {
    this.offsetMs = src.originMs
  }

  /** Epoch microseconds, an integer, never decreasing within a thread (nowMs() floored). */
  nowUs(): number {
    return Math.floor(this.nowMs() * 1000)
  }

  /** Epoch milliseconds with a fraction, never decreasing within a thread. */
  nowMs(): number {
    const p = this.src.monoMs()
    if (p >= this.nextCheck) this.check(p)
    const t = this.offsetMs + p
    if (t > this.lastMs) this.lastMs = t
    return this.lastMs
  }

  private check(p: number): void {
    this.nextCheck = p + this.checkEveryMs
    const sample = this.src.wallMs() - p
    if (sample > this.offsetMs) this.offsetMs = sample
    if (sample > this.best) this.best = sample
    if (++this.samples < this.window) return
    // the window's best sample is within a fraction of a ms of the wall time: when the offset is
    // above it, the wall clock is behind this clock; slew back, never faster than `slew`
    if (this.best < this.offsetMs) this.offsetMs = Math.max(this.best, this.offsetMs - (p - this.lastCheck) * this.slew)
    this.lastCheck = p
    this.best = Number.NEGATIVE_INFINITY
    this.samples = 0
  }
}

const clock = new WallClock({ wallMs: Date.now, monoMs: () => performance.now(), originMs: performance.timeOrigin })

/** Epoch microseconds, an integer, never decreasing within a thread, following wall time. */
export function nowUs(): number {
  return clock.nowUs()
}

/** Epoch milliseconds with a fraction, never decreasing within a thread, following wall time. */
export function nowMs(): number {
  return clock.nowMs()
}

/** Thread-local monotonic nanoseconds for measuring durations (not comparable across threads). */
export function monoNs(): number {
  return performance.now() * 1e6
}
