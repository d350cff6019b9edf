import { heapSize } from 'bun:jsc'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export { Counter, Gauge, Histogram, Registry }

/** Latency buckets in seconds: 1 µs … 500 ms, as the reference connector used, plus 1 s and 5 s. */
export const LATENCY_BUCKETS_S = [1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1, 5]

/** Finer buckets for end-to-end latency (receive → durable), 50 µs … 5 s, for percentiles. */
export const E2E_LATENCY_BUCKETS_S = [
  5e-5, 1e-4, 1.5e-4, 2e-4, 3e-4, 4e-4, 5e-4, 7.5e-4, 1e-3, 1.5e-3, 2e-3, 3e-3, 5e-3, 7.5e-3, 1e-2, 2e-2,
  5e-2, 0.1, 0.25, 0.5, 1, 5,
]

/**
 * A label-less histogram for per-message observations on a hot path, exposed through a prom-client
 * registry like any other (`registerMetric`: `get()` gives the same text and JSON shape as
 * prom-client's Histogram). `observe` is a binary search and three adds, no allocation; prom-client's
 * `observe` builds a closure and a label object per call, which cost the NatsSink ~10 % of its
 * throughput with two observations per PubAck.
 */
interface HistogramValue {
  value: number
  labels: Record<string, string | number>
  metricName: string
  exemplar?: null
}

export class FastHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly bounds: Float64Array
  /** Observations per bucket (not cumulative); the last is +Inf. */
  private readonly counts: Float64Array
  private sum = 0
  private count = 0

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    registers: readonly Registry[] = [],
  ) {
    this.bounds = Float64Array.from([...buckets].sort((a, b) => a - b))
    this.counts = new Float64Array(this.bounds.length + 1)
    for (const r of registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0])
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return
    const b = this.bounds
    let lo = 0
    let hi = b.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (value <= b[mid]) hi = mid
      else lo = mid + 1
    }
    this.counts[lo]++
    this.sum += value
    this.count++
  }

  /** prom-client's metric JSON: cumulative `_bucket{le}`, then `_sum` and `_count`. */
  get(): { name: string; help: string; type: string; aggregator: string; values: HistogramValue[] } {
    const values: HistogramValue[] = []
    let cum = 0
    for (let i = 0; i < this.bounds.length; i++) {
      cum += this.counts[i]
      values.push({ value: cum, labels: { le: this.bounds[i] }, metricName: `${this.name}_bucket`, exemplar: null })
    }
    values.push({ value: this.count, labels: { le: '+Inf' }, metricName: `${this.name}_bucket`, exemplar: null })
    values.push({ value: this.sum, labels: {}, metricName: `${this.name}_sum` })
    values.push({ value: this.count, labels: {}, metricName: `${this.name}_count` })
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    this.counts.fill(0)
    this.sum = 0
    this.count = 0
  }
}

/**
 * A fresh Prometheus registry for one role. Each role (or test) owns its registry, so two roles
 * in one process (`ssmd run`) or two tests never collide on metric names.
 */
export function createRegistry(options: { defaults?: boolean; labels?: Record<string, string> } = {}): Registry {
  const registry = new Registry()
  if (options.labels) registry.setDefaultLabels(options.labels)
  if (options.defaults) collectDefaultMetrics({ register: registry })
  return registry
}

/**
 * `name`: this thread's JS heap, read at each scrape (bun:jsc heapSize(), which counts the memory
 * of its ArrayBuffers too; ~25 µs). A Worker registers its own thread's heap, under its own name,
 * in its own registry.
 */
export function heapGauge(registry: Registry, name: string): Gauge {
  return new Gauge({
    name, help: 'JS heap of the thread, with the memory of its ArrayBuffers (bun:jsc heapSize)', registers: [registry],
    collect() {
      this.set(heapSize())
    },
  })
}

/** The process's resident memory, read at each scrape, as `process_resident_memory_bytes` (prom-client's default metrics' name). */
export function rssGauge(registry: Registry): Gauge {
  return new Gauge({
    name: 'process_resident_memory_bytes', help: 'Resident memory of the process', registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss())
    },
  })
}
