import { TimeoutError } from './errors.ts'

/**
 * Polls `condition` until it returns a truthy value, or throws a TimeoutError naming `what`
 * after `timeoutMs`. For tests and start-up checks: wait for the condition, never for time.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 5,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await condition()
      if (v) return v as NonNullable<T>
    } catch (e) {
      last = e
    }
    if (performance.now() > deadline) {
      throw new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last })
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Rejects with a TimeoutError naming `what` if `promise` does not settle within `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Sleeps for `ms` (for production back-off only; tests wait for conditions). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      signal?.removeEventListener('abort', done)
      clearTimeout(t)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Jittered exponential back-off: base × 2^attempt, capped, with ±`jitter` fraction. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, jitter = 0.25, random = Math.random): number {
  const raw = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt))
  return Math.max(0, Math.round(raw * (1 - jitter + 2 * jitter * random())))
}
