import { describe, expect, test } from 'bun:test'
import { createRegistry, E2E_LATENCY_BUCKETS_S, FastHistogram, Histogram, LATENCY_BUCKETS_S } from './metrics.ts'

describe('FastHistogram', () => {
  test('exposes exactly what prom-client\'s Histogram exposes for the same observations (text and JSON, default labels too)', async () => {
    for (const buckets of [LATENCY_BUCKETS_S, E2E_LATENCY_BUCKETS_S, [0.1, 0.5, 1]]) {
      const a = createRegistry({ labels: { role: 'x' } })
      const b = createRegistry({ labels: { role: 'x' } })
      const fast = new FastHistogram('t_seconds', 'help text', buckets, [a])
      const ref = new Histogram({ name: 't_seconds', help: 'help text', buckets: [...buckets], registers: [b] })
      // values on, between and beyond the bounds, and zero
      const values = [0, 1e-7, 1e-6, 3e-6, 5e-6, 0.05, 0.1, 0.25, 0.3, 1, 2.5, 5, 7, 1e3, ...buckets]
      for (let i = 0; i < 300; i++) values.push(((i * 7919) % 1000) / 997 * 10 ** ((i % 9) - 6))
      for (const v of values) {
        fast.observe(v)
        ref.observe(v)
      }
      expect(await a.metrics()).toEqual(await b.metrics())
      expect(await a.getMetricsAsJSON()).toEqual(await b.getMetricsAsJSON())
      fast.reset()
      ref.reset()
      expect(await a.metrics()).toContain('t_seconds_count{role="x"} 0')
    }
  })

  test('sorts the bounds it is given', async () => {
    const r = createRegistry()
    const h = new FastHistogram('s_seconds', 'h', [0.5, 0.1, 1], [r])
    for (const v of [0.05, 0.3, 0.7, 2]) h.observe(v)
    expect((await r.metrics()).match(/le="[^"]+"} \d+/g)).toEqual(['le="0.1"} 1', 'le="0.5"} 2', 'le="1"} 3', 'le="+Inf"} 4'])
  })

  test('ignores values that are not finite numbers instead of corrupting the sum', async () => {
    const r = createRegistry()
    const h = new FastHistogram('n_seconds', 'h', [1], [r])
    h.observe(Number.NaN)
    h.observe(Number.POSITIVE_INFINITY)
    h.observe(0.5)
    expect(await r.metrics()).toContain('n_seconds_sum 0.5\nn_seconds_count 1')
  })
})
