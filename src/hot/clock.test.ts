import { describe, expect, test } from 'bun:test'
import { CLOCK_ORIGIN_US, monoNs, nowMs, nowUs } from './clock.ts'

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
    expect(CLOCK_ORIGIN_US).toBeLessThan(nowUs())
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
})
