import { describe, expect, test } from 'bun:test'
import { waitFor } from './wait.ts'
import { UsageError } from './errors.ts'
import { gcPacerFromEnv, heapBudgetFromEnv, startGcPacer, startHeapBudget } from './heap-budget.ts'

describe('heap budget', () => {
  test('collects once the heap has grown past the budget', async () => {
    Bun.gc(true) // the floor is this test's live heap, not garbage other test files left behind
    const gc = startHeapBudget({ budgetBytes: 1 << 20, everyMs: 5 })
    const keep: unknown[] = []
    try {
      await waitFor(() => {
        // the heap grows (kept objects) until a check sees it past the budget
        for (let i = 0; i < 5000; i++) keep.push({ i, s: `x${i}`.repeat(8) })
        return gc.collections > 0
      }, 'a collection')
      expect(gc.collections).toBeGreaterThan(0)
    } finally {
      gc.stop()
    }
  })

  test('SSMD_HEAP_BUDGET_MB=0 turns it off; unset keeps the default; garbage is an error naming it', () => {
    expect(heapBudgetFromEnv({ SSMD_HEAP_BUDGET_MB: '0' })).toBeUndefined()
    for (const env of [{}, { SSMD_HEAP_BUDGET_MB: '' }, { SSMD_HEAP_BUDGET_MB: '16' }]) {
      const on = heapBudgetFromEnv(env)
      expect(on).toBeDefined()
      on?.stop()
    }
    for (const bad of ['lots', '-1']) {
      expect(() => heapBudgetFromEnv({ SSMD_HEAP_BUDGET_MB: bad })).toThrow(`SSMD_HEAP_BUDGET_MB must be a number of MiB, 0 for off (got "${bad}")`)
    }
  })
})

describe('GC pacer', () => {
  // (what the requests do for memory is a bench figure: bench/connector.bench.ts rss)
  test('asks for a collection each period until stopped', async () => {
    const pacer = startGcPacer(5)
    try {
      await waitFor(() => pacer.requests >= 3, 'three requests')
    } finally {
      pacer.stop()
    }
    const after = pacer.requests
    // a second pacer of the same period as the clock: three of its periods pass, the first pacer's count stays
    const clock = startGcPacer(5)
    try {
      await waitFor(() => clock.requests >= 3, 'three periods')
    } finally {
      clock.stop()
    }
    expect([after >= 3, pacer.requests]).toEqual([true, after])
  })

  test('SSMD_GC_PACE_MS: unset is on, 0 is off, anything but a whole number is an error that names it', () => {
    expect(gcPacerFromEnv({ SSMD_GC_PACE_MS: '0' })).toBeUndefined()
    for (const env of [{}, { SSMD_GC_PACE_MS: '250' }]) {
      const on = gcPacerFromEnv(env)
      expect(on).toBeDefined()
      on?.stop()
    }
    for (const bad of ['often', '-5', '1.5']) {
      expect(() => gcPacerFromEnv({ SSMD_GC_PACE_MS: bad })).toThrow(UsageError)
      expect(() => gcPacerFromEnv({ SSMD_GC_PACE_MS: bad })).toThrow(`SSMD_GC_PACE_MS must be a whole number of milliseconds, 0 for off (got "${bad}")`)
    }
  })
})
