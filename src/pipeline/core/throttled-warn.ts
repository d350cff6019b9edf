/**
 * A warning for events that come in bursts (seq gaps, malformed frames, duplicate ids): the first
 * is logged at once; those within `intervalMs` after a line are summed into one line at the end
 * of the interval (`count`, the first few `samples`, numeric fields added up), so a burst is a
 * line, not thousands, and none goes unreported. The metrics still count every one.
 */
import type { Logger } from './log.ts'

export const THROTTLED_WARN_DEFAULTS = { INTERVAL_MS: 10_000, SAMPLES: 5 }

export class ThrottledWarn {
  #count = 0
  #samples: unknown[] = []
  #sums: Record<string, number> = {}
  #last = -Infinity
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly intervalMs = THROTTLED_WARN_DEFAULTS.INTERVAL_MS,
    private readonly maxSamples = THROTTLED_WARN_DEFAULTS.SAMPLES,
  ) {}

  /** One event: `sample` kept while there is room, `sums` added to the next line's fields. */
  note(sample?: unknown, sums?: Record<string, number>): void {
    this.#count++
    if (sample !== undefined && this.#samples.length < this.maxSamples) this.#samples.push(sample)
    if (sums) for (const k in sums) this.#sums[k] = (this.#sums[k] ?? 0) + sums[k]
    if (this.#timer !== undefined) return
    const wait = this.#last + this.intervalMs - Date.now()
    if (wait <= 0) return this.flush()
    this.#timer = setTimeout(() => this.flush(), wait)
    this.#timer.unref?.()
  }

  /** Logs what was noted since the last line, if anything (also at a stop, so nothing is left unsaid). */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#count === 0) return
    this.log.warn({ count: this.#count, ...this.#sums, samples: this.#samples }, this.message)
    this.#last = Date.now()
    this.#count = 0
    this.#samples = []
    this.#sums = {}
  }
}
