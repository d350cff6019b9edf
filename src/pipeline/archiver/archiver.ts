import { rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { NatsConnection } from '@nats-io/nats-core'
import { OPS_PORTS, serveOps, type OpsServer } from '../core/http.ts'
import { silentLogger, type Logger } from '../core/log.ts'
import { createRegistry, type Registry } from '../core/metrics.ts'
import { withTimeout } from '../core/wait.ts'
import { connectRoleNats } from '../transport/connect.ts'
import { natsState } from '../core/nats-link.ts'
import { createArchiverMetrics, type ArchiverMetrics } from './metrics.ts'
import { resolveTuning, validateEntries, type ArchiverTuning, type ArchiveStreamEntry } from './options.ts'
import { StreamTask, type StreamTaskStats } from './stream-task.ts'
import { UPLOAD_DEFAULTS, Uploader, gcsUpload, type UploadFn } from './upload.ts'

export const SYNC_READY = '.sync-ready'

export interface ArchiverUploadConfig extends Partial<typeof UPLOAD_DEFAULTS> {
  bucket: string
  prefix?: string
  /** GCS-compatible endpoint (tests, emulators). */
  endpoint?: string
  /** Replaces the GCS upload (tests). */
  upload?: UploadFn
}

export interface ArchiverOptions {
  natsUrl: string
  /** Local storage root (`{root}/{feed}/{name}/{date}/`). */
  root: string
  streams: ArchiveStreamEntry[]
  tuning?: Partial<ArchiverTuning>
  /** Upload closed files; null keeps them on the local disk only. */
  upload?: ArchiverUploadConfig | null
  /** `/health /ready /metrics` port (0 = any free one); null = no server. @default 8081 (OPS_PORTS.archiver) */
  opsPort?: number | null
  /** Upper bound on finishing queued uploads at shutdown; the rest resume on the next start. */
  shutdownUploadMs?: number
  log?: Logger
  registry?: Registry
}

export interface ArchiverStats {
  streams: Record<string, StreamTaskStats>
  uploads: { pending: number; uploaded: number; failed: number; attempts: number }
}

export interface Archiver {
  ops: OpsServer | null
  registry: Registry
  metrics: ArchiverMetrics
  tasks: StreamTask[]
  uploaders: Uploader[]
  /** Rejects as soon as any stream task fails (the caller stops the rest and exits non-zero). */
  failed: Promise<never>
  stats(): ArchiverStats
  /** Graceful: stop consuming, finish the files, settle uploads, write `.sync-ready`. */
  stop(): Promise<void>
}

/** Starts one task per stream entry, sharing one NATS connection, one ops server, one registry. */
export async function startArchiver(options: ArchiverOptions): Promise<Archiver> {
  validateEntries(options.streams)
  const tuning = resolveTuning(options.tuning)
  const log = options.log ?? silentLogger()
  const registry = options.registry ?? createRegistry()
  const metrics = createArchiverMetrics(registry)
  mkdirSync(options.root, { recursive: true })
  rmSync(join(options.root, SYNC_READY), { force: true })
  const tasks: StreamTask[] = []
  const uploaders: Uploader[] = []
  // the ops port first: a port in use fails the start before anything is connected or consumed
  let nc: NatsConnection | null = null
  const probe = () => {
    const streams = Object.fromEntries(tasks.map((t) => [t.entry.name, t.stats()]))
    // a NATS client closed for good (not reconnecting: repeated authorization errors) needs a restart
    const ok = tasks.length > 0 && tasks.every((t) => t.stats().state === 'consuming') && (nc === null || natsState(nc) !== 'closed')
    return { ok, status: ok ? 'ok' : 'degraded', streams, nats: nc === null ? 'connecting' : natsState(nc) }
  }
  const ops: OpsServer | null = options.opsPort === null ? null : serveOps({ port: options.opsPort ?? OPS_PORTS.archiver, registry, health: probe, ready: () => {
    const p = probe()
    // the real state (isClosed() says false while the client reconnects through an outage)
    return { ...p, ok: p.ok && nc !== null && natsState(nc) === 'connected' && tasks.every((t) => !t.stats().waitingForStream) }
  } })
  try {
    nc = await connectRoleNats(options.natsUrl, 'ssmd-archiver', log)
  } catch (e) {
    await ops?.stop()
    throw e
  }
  const conn = nc
  const upload = options.upload ? options.upload.upload ?? gcsUpload({ endpoint: options.upload.endpoint }) : null
  try {
    // inside the try: a writer that cannot take its directory (ARCHIVE_LOCKED) closes what was
    // opened (the NATS connection, the ops server) instead of leaving them to hold the process
    for (const entry of options.streams) {
      let uploader: Uploader | null = null
      const task: StreamTask = new StreamTask({
        nc: conn, entry, root: options.root, tuning, metrics, log,
        onFileClosed: () => void uploader?.scan(2).catch((e) => log.error({ err: e }, 'upload scan failed')),
      })
      if (upload && options.upload) {
        const { bucket, prefix, maxAttempts, retryBaseMs, retryCapMs } = options.upload
        uploader = new Uploader({
          dir: join(options.root, entry.feed, entry.name), feed: entry.feed, stream: entry.name, bucket, prefix,
          upload, serial: (step) => task.serial(step), metrics, log, maxAttempts, retryBaseMs, retryCapMs,
        })
        uploaders.push(uploader)
      }
      tasks.push(task)
    }
    // every start settled before any is stopped: one stream failing fast (not found) while another
    // was still starting left that one to attach its consumer (and record its stream) after the stop
    const started = await Promise.allSettled(tasks.map((t) => t.start()))
    const failure = started.find((r) => r.status === 'rejected')
    if (failure) throw failure.reason
    // pending uploads of earlier runs resume now
    await Promise.all(uploaders.map((u) => u.scan()))
  } catch (e) {
    await Promise.all(tasks.map((t) => t.stop()))
    await conn.close()
    await ops?.stop()
    throw e
  }
  const failed = Promise.race(tasks.map((t) => t.done.then(() => new Promise<never>(() => {})))) as Promise<never>
  failed.catch(() => {})
  let stopping: Promise<void> | null = null
  const stats = (): ArchiverStats => {
    const u = { pending: 0, uploaded: 0, failed: 0, attempts: 0 }
    for (const x of uploaders) for (const [k, v] of Object.entries(x.stats())) u[k as keyof typeof u] += v
    return { streams: Object.fromEntries(tasks.map((t) => [t.entry.name, t.stats()])), uploads: u }
  }
  return {
    ops, registry, metrics, tasks, uploaders, failed, stats,
    stop() {
      stopping ??= (async () => {
        // each step runs whatever the one before did: a full disk failing the .sync-ready write
        // left the ops server up, and the process alive, failed, forever
        const step = async (what: string, run: () => unknown) => {
          try {
            await run()
          } catch (e) {
            log.error({ err: e }, `stopping: ${what} failed`)
          }
        }
        await step('closing the stream tasks', () => Promise.all(tasks.map((t) => t.stop())))
        await step('uploading closed files', async () => {
          for (const u of uploaders) await u.scan(2)
          const settle = Promise.all(uploaders.map((u) => u.idle()))
          await withTimeout(settle, options.shutdownUploadMs ?? 10_000, 'uploads at shutdown').catch((e) =>
            log.warn({ err: e }, 'uploads still pending at shutdown; they resume on the next start'))
          await Promise.all(uploaders.map((u) => u.close()))
        })
        await step('closing the NATS connection', () => conn.drain().catch(() => conn.close()))
        let syncReady = false
        await step(`writing ${SYNC_READY}`, () => {
          writeFileSync(join(options.root, SYNC_READY), new Date().toISOString() + '\n')
          syncReady = true
        })
        await step('stopping the ops server', () => ops?.stop())
        const errors = (await Promise.allSettled(tasks.map((t) => t.done))).filter((r) => r.status === 'rejected')
        if (errors.length === 0 && syncReady) log.info({ ...stats().uploads }, 'archiver stopped; files closed, .sync-ready written')
        else log.warn({ ...stats().uploads, failedTasks: errors.length, syncReady }, 'archiver stopped after a failure; a file left as .tmp is recovered at the next start, and messages not acked are delivered again')
      })()
      return stopping
    },
  }
}
