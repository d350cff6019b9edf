/**
 * Upload of closed archive files to GCS, with its state kept in the date directory's manifest
 * (`files[].upload`). The upload itself is an injected function (`UploadFn`); `gcsUpload` is the
 * real one over @google-cloud/storage.
 */
import { existsSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CRC32C, Storage } from '@google-cloud/storage'
import { DataError, UsageError } from '../core/errors.ts'
import { silentLogger, type Logger } from '../core/log.ts'
import { backoffMs, delay } from '../core/wait.ts'
import { readManifest, writeManifest, type UploadState } from '../archive/index.ts'
import { zeroUploadCounters, type ArchiverMetrics } from './metrics.ts'

export interface UploadTarget {
  /** Local file. */
  path: string
  bucket: string
  /** Object name: `{prefix}/{feed}/{stream}/{date}/{file}`. */
  object: string
}

export interface UploadResult {
  uri: string
  /** base64 CRC32C of the stored object, verified against the local file. */
  crc32c: string
  md5?: string
}

export type UploadFn = (target: UploadTarget) => Promise<UploadResult>

/** The manifest's upload state plus the attempts so far and the last error. */
export type ArchiverUploadState = UploadState & { attempts: number; error?: string; uploaded_at?: string }

export const UPLOAD_DEFAULTS = {
  /** Attempts in one run before the file is marked `failed` (retried again on the next start). */
  maxAttempts: 6,
  retryBaseMs: 1000,
  retryCapMs: 120_000,
}

export interface GcsUploadOptions {
  /** A GCS-compatible endpoint (emulator); no authentication is used with one. */
  endpoint?: string
  projectId?: string
}

/**
 * Uploads with one multipart request (`resumable: false`, archive files are tens of MB) and the
 * library's `validation: 'crc32c'` (it compares the stored object's CRC32C with the bytes it sent
 * and deletes the object on mismatch); then compares the returned CRC32C with the local file's.
 * The library's own retries are off: the Uploader retries with back-off.
 */
export function gcsUpload(options: GcsUploadOptions = {}): UploadFn {
  const storage = new Storage({
    ...(options.endpoint ? { apiEndpoint: options.endpoint } : {}),
    ...(options.projectId ? { projectId: options.projectId } : {}),
    retryOptions: { autoRetry: false },
  })
  return async (t) => {
    const local = (await CRC32C.fromFile(t.path)).toString()
    const [file] = await storage.bucket(t.bucket).upload(t.path, {
      destination: t.object, resumable: false, validation: 'crc32c', metadata: { contentType: 'application/gzip' },
    })
    const meta = file.metadata as { crc32c?: string; md5Hash?: string }
    if (meta.crc32c !== local) {
      throw new DataError(`gs://${t.bucket}/${t.object}: stored crc32c ${meta.crc32c} ≠ local ${local}`, 'UPLOAD_CHECKSUM')
    }
    return { uri: `gs://${t.bucket}/${t.object}`, crc32c: local, md5: meta.md5Hash }
  }
}

export interface UploaderOptions extends Partial<typeof UPLOAD_DEFAULTS> {
  /** `{root}/{feed}/{stream name}`. */
  dir: string
  feed: string
  stream: string
  bucket: string
  prefix?: string
  upload: UploadFn
  /** Runs manifest edits in the same queue as the archive writer, so saves never interleave. */
  serial?: <T>(step: () => Promise<T>) => Promise<T>
  metrics?: ArchiverMetrics
  log?: Logger
}

interface Job {
  date: string
  name: string
  attempts: number
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

/**
 * Uploads every manifest file entry whose upload is not `uploaded`, one at a time, in order.
 * `scan()` finds them (at start: pending uploads of earlier runs resume; after a rotation: the new
 * file). A failed attempt is recorded (`pending`, attempts, error) and retried after a jittered
 * exponential back-off; after `maxAttempts` the entry is `failed` until the next start.
 */
export class Uploader {
  private readonly o: typeof UPLOAD_DEFAULTS
  private readonly queue: Job[] = []
  private readonly known = new Set<string>()
  private readonly serial: <T>(step: () => Promise<T>) => Promise<T>
  private readonly log: Logger
  private readonly abort = new AbortController()
  private running: Promise<void> | null = null
  private closed = false
  private readonly counts = { uploaded: 0, failed: 0, attempts: 0 }

  constructor(private readonly opts: UploaderOptions) {
    this.o = { ...UPLOAD_DEFAULTS }
    for (const k of Object.keys(UPLOAD_DEFAULTS) as (keyof typeof UPLOAD_DEFAULTS)[]) {
      const v = opts[k]
      if (v === undefined) continue
      if (!Number.isSafeInteger(v) || v <= 0) {
        throw new UsageError(`options.${k} must be a positive integer (got ${JSON.stringify(v)})`, 'UPLOAD_OPTIONS')
      }
      this.o[k] = v
    }
    if (!opts.bucket) throw new UsageError('options.bucket is required for uploads (storage.bucket)', 'UPLOAD_OPTIONS')
    this.serial = opts.serial ?? ((step) => step())
    this.log = opts.log ?? silentLogger()
    if (opts.metrics) zeroUploadCounters(opts.metrics, { feed: opts.feed, stream: opts.stream })
  }

  /** Queues every not-yet-uploaded file of the newest `dates` date directories (default all). */
  async scan(dates?: number): Promise<void> {
    let names: string[]
    try {
      names = (await readdir(this.opts.dir)).filter((d) => DATE.test(d)).sort()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
      throw e
    }
    for (const date of dates === undefined ? names : names.slice(-dates)) {
      const m = await readManifest(join(this.opts.dir, date))
      for (const f of m?.files ?? []) {
        const key = `${date}/${f.name}`
        if (f.upload?.state === 'uploaded' || this.known.has(key)) continue
        if (!existsSync(join(this.opts.dir, date, f.name))) continue
        this.known.add(key)
        this.queue.push({ date, name: f.name, attempts: (f.upload as ArchiverUploadState | undefined)?.attempts ?? 0 })
      }
    }
    this.gauge()
    this.kick()
  }

  /** Resolves when the queue is empty (or the uploader is closed). */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  /** Stops: no new attempt starts, a back-off wait ends, the attempt in flight finishes. */
  async close(): Promise<void> {
    this.closed = true
    this.abort.abort()
    await this.running
  }

  stats(): { pending: number; uploaded: number; failed: number; attempts: number } {
    return { pending: this.queue.length, ...this.counts }
  }

  private kick(): void {
    if (this.running || this.closed || this.queue.length === 0) return
    this.running = this.loop()
      .catch((e) => this.log.error({ err: e }, 'upload loop failed'))
      .finally(() => {
        this.running = null
        if (!this.closed && this.queue.length > 0) this.kick()
      })
  }

  private async loop(): Promise<void> {
    while (!this.closed && this.queue.length > 0) {
      const job = this.queue[0] as Job
      const ok = await this.attempt(job)
      if (ok || job.attempts >= this.o.maxAttempts) {
        this.queue.shift()
        this.gauge()
        continue
      }
      await delay(backoffMs(job.attempts - 1, this.o.retryBaseMs, this.o.retryCapMs), this.abort.signal)
    }
  }

  private async attempt(job: Job): Promise<boolean> {
    const { dir, feed, stream, bucket } = this.opts
    const path = join(dir, job.date, job.name)
    const prefix = (this.opts.prefix ?? '').replace(/^\/+|\/+$/g, '')
    const object = [prefix, feed, stream, job.date, job.name].filter(Boolean).join('/')
    const labels = { feed, stream }
    job.attempts++
    this.counts.attempts++
    try {
      const r = await this.opts.upload({ path, bucket, object })
      const bytes = (await stat(path)).size
      await this.setState(job, {
        state: 'uploaded', uri: r.uri, crc32c: r.crc32c, ...(r.md5 ? { md5: r.md5 } : {}),
        attempts: job.attempts, uploaded_at: new Date().toISOString(),
      })
      this.counts.uploaded++
      this.opts.metrics?.uploads.inc({ ...labels, result: 'uploaded' })
      this.opts.metrics?.uploadBytes.inc(labels, bytes)
      this.log.info({ file: path, uri: r.uri, attempts: job.attempts }, 'archive file uploaded')
      return true
    } catch (e) {
      const failed = job.attempts >= this.o.maxAttempts
      const error = e instanceof Error ? e.message : String(e)
      await this.setState(job, { state: failed ? 'failed' : 'pending', attempts: job.attempts, error }).catch((err) =>
        this.log.error({ err, file: path }, 'could not record the upload state'),
      )
      if (failed) this.counts.failed++
      this.opts.metrics?.uploads.inc({ ...labels, result: failed ? 'failed' : 'retry' })
      this.log.warn({ file: path, attempts: job.attempts, err: e }, failed ? 'upload failed; retried on next start' : 'upload failed; retrying')
      return false
    }
  }

  private setState(job: Job, upload: ArchiverUploadState): Promise<void> {
    const dateDir = join(this.opts.dir, job.date)
    return this.serial(async () => {
      const m = await readManifest(dateDir)
      const entry = m?.files.find((f) => f.name === job.name)
      if (!m || !entry) throw new DataError(`${dateDir}: manifest has no entry ${job.name}`, 'MANIFEST_ENTRY')
      entry.upload = upload
      await writeManifest(dateDir, m)
    })
  }

  private gauge(): void {
    this.opts.metrics?.uploadPending.set({ feed: this.opts.feed, stream: this.opts.stream }, this.queue.length)
  }
}
