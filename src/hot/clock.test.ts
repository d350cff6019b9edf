import { describe, expect, test } from 'bun:test'
import { monoNs, nowMs, nowUs, WallClock } from './clock.ts'

describe('clock', () => {
  test('nowUs never goes backwards and is an integer', () => {
    let last = nowUs()
    for (let i = 0; i < 200_000; i++) {
      const t = nowUs()
      if (t < last || !Number.isInteger(t)) throw new Error(`clock went from ${last} to ${t}`)
      last = t
    }
  })

  test('nowUs and nowMs are close to Date.now()', () => {
    expect(Math.abs(nowUs() / 1000 - Date.now())).toBeLessThan(50)
    expect(Math.abs(nowMs() - Date.now())).toBeLessThan(50)
    expect(monoNs()).toBeGreaterThan(0)
  })

  test('a real Worker reads the same clock within a millisecond (its reading falls between two of ours)', async () => {
    const worker = new Worker(new URL('./fixture-clock-worker.ts', import.meta.url).href)
    try {
      const worst: number[] = []
      for (let i = 0; i < 20; i++) {
        const before = nowUs()
        const theirs = await new Promise<number>((resolve) => {
          worker.onmessage = (e) => resolve(e.data as number)
          worker.postMessage(0)
        })
        const after = nowUs()
        // the Worker's reading happened between our two readings
        worst.push(Math.max(before - theirs, theirs - after, 0))
      }
      expect(Math.max(...worst)).toBeLessThan(1000)
    } finally {
      worker.terminate()
    }
  })

  describe('follows a simulated wall clock (Date.now floors to ms)', () => {
    /** A monotonic clock read every `stepMs`, and a wall clock `wall(mono)` in float ms. */
    function run(wall: (mono: number) => number, seconds: number, stepMs = 1, originMs = wall(0)) {
      let mono = 0
      const c = new WallClock({ wallMs: () => Math.floor(wall(mono)), monoMs: () => mono, originMs })
      let last = 0
      let decreased = 0
      const errors: number[] = []
      const at: number[] = []
      let seed = 7
      // reads at irregular times (±50 % of the step), as a socket's are: samples fall anywhere in a ms
      const jitter = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * stepMs
      for (; mono <= seconds * 1000; mono += stepMs + jitter()) {
        const t = c.nowUs()
        if (t < last) decreased++
        last = t
        errors.push(t / 1000 - wall(mono))
        at.push(mono)
      }
      /** The largest |error| of the reads from `fromMs` on (to `toMs`). */
      const worst = (fromMs: number, toMs = Infinity) => errors.reduce((w, e, i) => (at[i] >= fromMs && at[i] <= toMs ? Math.max(w, Math.abs(e)) : w), 0)
      /** The error of the first read at or after `ms`. */
      const errorAt = (ms: number) => errors[at.findIndex((m) => m >= ms)]
      return { decreased, worst, errorAt }
    }
    const T0 = 1_796_000_000_000.25

    test('a wall clock 0.5 % faster than the monotonic one (this VM): within ~1 ms of it for an hour, never decreasing', () => {
      const { decreased, worst } = run((m) => T0 + m * 1.005, 3600, 5)
      expect({ decreased, worstUnder1ms: worst(0) < 1 }).toEqual({ decreased: 0, worstUnder1ms: true })
      // anchored once, it would have been 18 s behind
    })

    test('a steady wall clock: the offset settles within a fraction of a ms of it, from an origin 0.9 ms off', () => {
      const { worst } = run((m) => T0 + m, 60, 1, T0 + 0.9)
      expect(worst(10_000)).toBeLessThan(0.25)
    })

    test('a wall clock that steps 5 s forward is followed at the next check', () => {
      const { worst } = run((m) => T0 + m + (m >= 30_000 ? 5_000 : 0), 31, 1)
      expect(worst(30_000 + 12)).toBeLessThan(1)
    })

    test('a wall clock that steps 10 s back is slewed to (1 % of the elapsed time), never stepping back', () => {
      const step = (m: number) => T0 + m - (m >= 10_000 ? 10_000 : 0)
      const { decreased, errorAt, worst } = run(step, 10 + 1100, 10)
      expect(decreased).toBe(0)
      // 100 s after the step, ~1 s of the 10 s is slewed off; after ~1,000 s all of it
      expect(errorAt(110_000)).toBeGreaterThan(8_900)
      expect(errorAt(110_000)).toBeLessThan(9_100)
      expect(worst(1_050_000)).toBeLessThan(1)
    })

    test('a wall clock 0.5 % slower than the monotonic one is followed within the slew', () => {
      const { decreased, worst } = run((m) => T0 + m * 0.995, 600, 5)
      expect({ decreased, worstUnder5ms: worst(0) < 5 }).toEqual({ decreased: 0, worstUnder5ms: true })
    })
  })
})
