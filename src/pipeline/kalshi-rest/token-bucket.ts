import { delay } from '../core/wait.ts'

/**
 * A token bucket: `ratePerSecond` tokens per second, at most `burst` saved up. `take()` waits
 * until a token is there. `pause(ms)` empties the bucket and holds every caller for `ms` (a 429's
 * Retry-After applies to the client as a whole, not to one request).
 */
export class TokenBucket {
  #tokens: number
  #last: number
  #holdUntil = 0
  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = burst
    this.#last = now()
  }

  /** Milliseconds until a token is available (0: take it now). Takes it when 0. */
  tryTake(): number {
    const now = this.now()
    if (now < this.#holdUntil) return this.#holdUntil - now
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.ratePerSecond)
    this.#last = now
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return 0
    }
    return Math.ceil(((1 - this.#tokens) / this.ratePerSecond) * 1000)
  }

  async take(): Promise<void> {
    for (let wait = this.tryTake(); wait > 0; wait = this.tryTake()) await delay(wait)
  }

  pause(ms: number): void {
    this.#tokens = 0
    this.#holdUntil = Math.max(this.#holdUntil, this.now() + ms)
    this.#last = this.#holdUntil // nothing accrues during the hold
  }
}
