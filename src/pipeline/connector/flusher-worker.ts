/**
 * The flusher Worker: attaches to the connector's ring and drains it into the environment's
 * transport (`nats`: JetStream with a local journal; `file`: the archive writer). Messages:
 * in `{type:'init', …}`, `{type:'stop'}`, `{type:'metrics', id}`; out `ready`, `stats`,
 * `metrics`, `failed` (the sink failed; the ring keeps draining into it, a NatsSink journals),
 * `error` (the Worker could not start, or its loop broke), `stopped` (always, after `stop`).
 */
import { Ring } from '../../hot/ring.ts'
import { createLogger } from '../core/log.ts'
import { createRegistry, heapGauge } from '../core/metrics.ts'
import type { Sink } from '../transport/types.ts'
import { Flusher } from './flusher.ts'
import { FLUSHER_HEAP_BUDGET_BYTES, heapBudgetFromEnv, type HeapBudget } from '../core/heap-budget.ts'

export interface WorkerInit {
  type: 'init'
  sab: SharedArrayBuffer
  instanceId: string
  transport: 'nats' | 'file'
  nats?: { url: string; journalDir: string }
  file?: { root: string; feed: string; stream: string; rotation?: string }
  logLevel?: string
}

declare const self: Worker
const registry = createRegistry()
heapGauge(registry, 'ssmd_connector_flusher_heap_bytes')
let flusher: Flusher | undefined
let statsTimer: ReturnType<typeof setInterval> | undefined
let gc: HeapBudget | undefined

function post(msg: unknown): void {
  self.postMessage(msg)
}

function stats(): Record<string, unknown> {
  const s = flusher?.sink.stats() as (ReturnType<Sink['stats']> & { journalRecords?: number; journalBytes?: number; deadLettered?: number; connected?: boolean; mode?: string }) | undefined
  return { type: 'stats', records: flusher?.records ?? 0, ...(s ?? {}) }
}

self.onmessage = async (ev: MessageEvent) => {
  const msg = ev.data as WorkerInit | { type: 'stop' } | { type: 'metrics'; id: number }
  try {
    if (msg.type === 'init') {
      gc = heapBudgetFromEnv(process.env, FLUSHER_HEAP_BUDGET_BYTES) // first: a bad value fails the start before the sink opens
      const log = createLogger('ssmd-flusher', { level: msg.logLevel ?? 'info', pretty: false, destination: 2 })
      const ring = new Ring(msg.sab)
      let sink: Sink
      // only the transport's own modules are loaded (each is ~9 MB of the Worker's RSS)
      if (msg.transport === 'nats') {
        const { NatsSink } = await import('../transport/nats-sink.ts')
        sink = await NatsSink.open({ servers: msg.nats!.url, journalDir: msg.nats!.journalDir, registry, log, name: `ssmd-connector-${msg.instanceId}` })
      } else {
        const { FileSink } = await import('./file-sink.ts')
        sink = await FileSink.open({ ...msg.file!, log })
      }
      flusher = new Flusher(ring, sink, msg.instanceId, (e) => post({ type: 'failed', ...describe(e) }))
      flusher.start().catch((e) => post({ type: 'error', ...describe(e) }))
      statsTimer = setInterval(() => post(stats()), 250)
      post({ type: 'ready' })
    } else if (msg.type === 'metrics') {
      post({ type: 'metrics', id: msg.id, text: await registry.metrics() })
    } else if (msg.type === 'stop') {
      clearInterval(statsTimer)
      gc?.stop()
      try {
        await flusher?.stop()
      } catch (e) {
        // the sink's failure, already reported as 'failed'; anything else is news
        if (e !== flusher?.failure) post({ type: 'error', ...describe(e) })
      }
      post(stats())
      post({ type: 'stopped' })
    }
  } catch (e) {
    post({ type: 'error', ...describe(e) })
  }
}

function describe(e: unknown): { message: string; code?: string } {
  const err = e as { message?: string; code?: string } | undefined
  return { message: String(err?.message ?? e), code: err?.code }
}
