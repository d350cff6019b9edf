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
 * A fresh Prometheus registry for one role. Each role (or test) owns its registry, so two roles
 * in one process (`ssmd run`) or two tests never collide on metric names.
 */
export function createRegistry(options: { defaults?: boolean; labels?: Record<string, string> } = {}): Registry {
  const registry = new Registry()
  if (options.labels) registry.setDefaultLabels(options.labels)
  if (options.defaults) collectDefaultMetrics({ register: registry })
  return registry
}
