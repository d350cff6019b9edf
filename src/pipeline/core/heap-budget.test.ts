import { describe, expect, test } from 'bun:test'
import { waitFor } from './wait.ts'
import { heapBudgetFromEnv, startHeapBudget } from './heap-budget.ts'

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

  test('SSMD_HEAP_BUDGET_MB=0 turns it off; unset or garbage keeps the default', () => {
    expect(heapBudgetFromEnv({ SSMD_HEAP_BUDGET_MB: '0' })).toBeUndefined()
    for (const env of [{}, { SSMD_HEAP_BUDGET_MB: 'lots' }, { SSMD_HEAP_BUDGET_MB: '16' }]) {
      const on = heapBudgetFromEnv(env)
      expect(on).toBeDefined()
      on?.stop()
    }
  })
})
