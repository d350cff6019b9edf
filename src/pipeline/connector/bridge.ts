/**
 * The connector's ring and where it drains to. `nats` and `file` drain in the flusher Worker
 * (a second thread: disk and JetStream I/O never delay the socket thread); `memory`, or a sink
 * handed in, drains in-process. Before a `nats` start the stream is created or validated.
 */
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import type { Logger } from 'pino'
import { Ring } from '../../hot/ring.ts'
import type { ResolvedConfig } from '../config/index.ts'
import { ConnectionError, SsmdError } from '../core/errors.ts'
import { redactUrl } from '../core/redact.ts'
import { withTimeout } from '../core/wait.ts'
import { MemorySink } from '../transport/memory-sink.ts'
import { ensureStream } from '../transport/stream.ts'
import { validateStreamSubjects } from '../transport/subjects.ts'
import type { Sink } from '../transport/types.ts'
import { Flusher } from './flusher.ts'
import type { RecordOut } from './ingest.ts'
import { RingOut } from './ring-out.ts'
import type { WorkerInit } from './flusher-worker.ts'

export interface BridgeStats {
  records: number
  written?: number
  accepted?: number
  pending?: number
  /** Records the transport stored (NatsSink, MemorySink): a duplicate id is not stored. */
  stored?: number
  /** Records not stored because their Nats-Msg-Id was already stored (see NatsSinkStats). */
  duplicates?: number
  journalRecords?: number
  journalBytes?: number
  /** Records NATS refused for what they are (transport/dead-letter.ts). */
  deadLettered?: number
  connected?: boolean
  mode?: string
}

export interface Bridge {
  out: RecordOut
  capacityBytes: number
  usedBytes(): number
  stats(): BridgeStats
  metricsText(): Promise<string>
  /** Closes the ring, drains it into the transport, closes the transport. */
  stop(): Promise<void>
  /**
   * Resolves with the transport's first permanent failure (a NatsSink whose stream is gone, a
   * crashed Worker); never rejects. The ring keeps draining after a sink failure (a NatsSink
   * journals what it is given), so the connector can stop and lose nothing it received.
   */
  failed: Promise<SsmdError>
  /** False once nothing drains the ring any more (the flusher Worker crashed). */
  draining(): boolean
  /** The in-process sink when there is one (memory transport, tests). */
  sink?: Sink
}

export interface BridgeOptions {
  config: ResolvedConfig
  sink?: Sink
  instanceId: string
  log: Logger
}

export async function startBridge(o: BridgeOptions): Promise<Bridge> {
  const c = o.config
  const ring = Ring.allocate(c.connector.ringBytes)
  if (o.sink || c.transport.type === 'memory') {
    const sink = o.sink ?? new MemorySink()
    const failed = Promise.withResolvers<SsmdError>()
    let draining = true
    const fail = (e: unknown) => {
      o.log.error({ err: e }, 'flusher failed')
      failed.resolve(e instanceof SsmdError ? e : new ConnectionError(`flusher (${sink.constructor.name}): ${String((e as Error)?.message ?? e)}`, 'FLUSHER'))
    }
    const flusher = new Flusher(ring, sink, o.instanceId, fail)
    flusher.start().catch((e) => {
      draining = false
      fail(e)
    })
    return {
      failed: failed.promise,
      draining: () => draining,
      out: new RingOut(ring),
      sink,
      capacityBytes: ring.capacity,
      usedBytes: () => ring.usedBytes,
      stats: () => ({ records: flusher.records, ...sink.stats() }),
      metricsText: async () => '',
      stop: async () => {
        ring.close()
        await flusher.stop()
      },
    }
  }
  if (c.transport.type === 'nats') {
    await prepareStream(c, o.log)
    warnLegacyJournal(c, o.log)
  }
  return startWorkerBridge(ring, o)
}

/**
 * Before the journal moved to `{data dir}/journal/{stream}`, every connector journaled into
 * `{data dir}/journal` itself. Segments left there are not replayed by this connector (they may be
 * another stream's): say where they are and how to replay them.
 */
function warnLegacyJournal(c: ResolvedConfig, log: Logger): void {
  const legacy = join(c.dataDir, 'journal')
  if (resolve(c.transport.journalDir) === resolve(legacy)) return
  let segments: string[] = []
  try {
    segments = readdirSync(legacy).filter((f) => /^segment-\d{12}\.jnl$/.test(f))
  } catch {
    return
  }
  if (segments.length === 0) return
  log.warn({ dir: legacy, segments: segments.length, journalDir: c.transport.journalDir },
    `${legacy} holds ${segments.length} journal segment(s) of an older ssmd (one journal for every stream); start a connector once with SSMD_JOURNAL_DIR=${legacy} to replay them`)
}

/** Creates or validates the stream; a NATS that is down at start is not fatal (the journal takes over). */
async function prepareStream(c: ResolvedConfig, log: Logger): Promise<void> {
  let nc
  try {
    nc = await connect({ servers: c.transport.url, timeout: 3000, noAsyncTraces: true, name: 'ssmd-connector-setup' })
  } catch (e) {
    log.warn({ url: redactUrl(c.transport.url), err: (e as Error).message }, 'NATS unreachable at start: journaling locally until it answers')
    return
  }
  try {
    const jsm = await jetstreamManager(nc)
    const info = await withTimeout(
      ensureStream(jsm, { name: c.transport.stream, subjects: [`${c.transport.subjectPrefix}.>`], maxAgeMs: c.transport.maxAgeMs, maxBytes: c.transport.maxBytes, duplicateWindowMs: c.transport.duplicateWindowMs }, log),
      10_000,
      `creating or reading stream ${c.transport.stream}`,
    )
    validateStreamSubjects(info, c.transport.subjectPrefix)
  } finally {
    await nc.close()
  }
}

/**
 * Where the flusher Worker's module is: beside this file in a checkout; inside a
 * `bun build --compile` executable, by its path from the entry points' common root (`src/`;
 * package.json's `build` script passes the worker as a second entry point).
 */
function flusherWorkerSpecifier(): string {
  const url = new URL('./flusher-worker.ts', import.meta.url).href
  return url.includes('$bunfs') ? './pipeline/connector/flusher-worker.ts' : url
}

function startWorkerBridge(ring: Ring, o: BridgeOptions): Promise<Bridge> {
  const c = o.config
  const worker = new Worker(flusherWorkerSpecifier())
  let last: BridgeStats = { records: 0 }
  let failure: SsmdError | undefined
  let metricsId = 0
  const metricWaiters = new Map<number, (text: string) => void>()
  let stopped: () => void = () => {}
  const stoppedP = new Promise<void>((r) => (stopped = r))
  let ready = false
  let draining = true
  const failed = Promise.withResolvers<SsmdError>()
  // 'failed': the sink failed and the Worker goes on draining the ring into it (a NatsSink
  // journals); 'error' before 'ready': the Worker could not start, and is ended here (no bridge,
  // hence no stop(), exists for it; a live Worker keeps the process from exiting)
  const fail = (e: SsmdError, reject: (e: SsmdError) => void) => {
    failure ??= e
    failed.resolve(e)
    if (ready) return
    reject(e)
    stopped()
    worker.terminate()
  }
  return new Promise((resolve, reject) => {
    worker.onmessage = (ev: MessageEvent) => {
      const m = ev.data as { type: string; [k: string]: unknown }
      if (m.type === 'ready') {
        ready = true
        resolve(bridge)
      } else if (m.type === 'stats') last = m as unknown as BridgeStats
      else if (m.type === 'metrics') metricWaiters.get(m.id as number)?.(m.text as string)
      else if (m.type === 'stopped') stopped()
      else if (m.type === 'failed' || m.type === 'error') {
        o.log.error({ err: m.message, code: m.code }, 'flusher failed')
        fail(new ConnectionError(`flusher (${c.transport.type}): ${m.message}`, (m.code as string) ?? 'FLUSHER'), reject)
      }
    }
    worker.onerror = (e) => {
      draining = false
      fail(new ConnectionError(`flusher worker crashed: ${e.message}`, 'FLUSHER_CRASHED'), reject)
      stopped()
    }
    const init: WorkerInit = {
      type: 'init',
      sab: ring.sab,
      instanceId: o.instanceId,
      transport: c.transport.type as 'nats' | 'file',
      nats: { url: c.transport.url, journalDir: c.transport.journalDir },
      file: { root: c.dataDir, feed: c.feed.name, stream: c.name },
      logLevel: o.log.level,
    }
    worker.postMessage(init)
    const bridge: Bridge = {
      failed: failed.promise,
      draining: () => draining,
      out: new RingOut(ring),
      capacityBytes: ring.capacity,
      usedBytes: () => ring.usedBytes,
      stats: () => last,
      metricsText: () =>
        new Promise<string>((res) => {
          const id = ++metricsId
          const t = setTimeout(() => res(''), 2000)
          metricWaiters.set(id, (text) => {
            clearTimeout(t)
            metricWaiters.delete(id)
            res(text)
          })
          worker.postMessage({ type: 'metrics', id })
        }),
      stop: async () => {
        ring.close()
        worker.postMessage({ type: 'stop' })
        await stoppedP
        worker.terminate()
        if (failure) throw failure
      },
    }
  })
}
