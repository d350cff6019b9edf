import {
  DiscardPolicy,
  JetStreamApiCodes,
  type JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream'
import { nanos } from '@nats-io/nats-core'
import { UsageError } from '../core/errors.ts'
import { silentLogger, type Logger } from '../core/log.ts'
import { backoffMs, delay } from '../core/wait.ts'

/** The stream a role needs, with explicit limits (DESIGN.md §5). */
export interface StreamSpec {
  name: string
  subjects: string[]
  maxAgeMs: number
  maxBytes: number
  duplicateWindowMs: number
}

function validateSpec(spec: StreamSpec): void {
  const bad = (field: string, rule: string, got: unknown) => {
    throw new UsageError(`stream.${field} ${rule} (got ${JSON.stringify(got)})`, 'STREAM_SPEC')
  }
  if (!/^[A-Za-z0-9_-]+$/.test(spec.name)) bad('name', 'must be letters, digits, _ or -', spec.name)
  if (!Array.isArray(spec.subjects) || spec.subjects.length === 0) bad('subjects', 'must be a non-empty list', spec.subjects)
  for (const k of ['maxAgeMs', 'maxBytes', 'duplicateWindowMs'] as const) {
    if (!Number.isSafeInteger(spec[k]) || spec[k] <= 0) bad(k, 'must be a positive integer', spec[k])
  }
  if (spec.duplicateWindowMs > spec.maxAgeMs) bad('duplicateWindowMs', `must not exceed maxAgeMs (${spec.maxAgeMs})`, spec.duplicateWindowMs)
}

/**
 * Creates the stream (file storage, limits retention, discard old) or, when it exists, brings
 * its limits (max age, max bytes, duplicate window) to the spec and logs what changed. Subjects
 * of an existing stream are left alone: check them with validateStreamSubjects.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, log: Logger = silentLogger()): Promise<StreamInfo> {
  validateSpec(spec)
  const limits = {
    max_age: nanos(spec.maxAgeMs),
    max_bytes: spec.maxBytes,
    duplicate_window: nanos(spec.duplicateWindowMs),
  }
  let info: StreamInfo
  try {
    info = await jsm.streams.info(spec.name)
  } catch (e) {
    // by code, not instanceof: a second copy of @nats-io/jetstream would defeat instanceof
    if ((e as JetStreamApiError | undefined)?.code !== JetStreamApiCodes.StreamNotFound) throw e
    info = await jsm.streams.add({
      name: spec.name,
      subjects: spec.subjects,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      ...limits,
    })
    log.info({ stream: spec.name, subjects: spec.subjects, maxAgeMs: spec.maxAgeMs, maxBytes: spec.maxBytes, duplicateWindowMs: spec.duplicateWindowMs }, 'created stream')
    return info
  }
  if (info.config.storage !== StorageType.File) {
    log.warn({ stream: spec.name, storage: info.config.storage }, 'stream exists with non-file storage (cannot be changed in place)')
  }
  const changed: Record<string, { from: number; to: number }> = {}
  for (const [k, v] of Object.entries(limits) as [keyof typeof limits, number][]) {
    if (info.config[k] !== v) changed[k] = { from: info.config[k], to: v }
  }
  if (Object.keys(changed).length === 0) return info
  info = await jsm.streams.update(spec.name, { ...limits })
  log.info({ stream: spec.name, changed }, 'updated stream limits')
  return info
}

/**
 * `{name}@{created}`: a stream deleted and created again under the same name is another one (it
 * numbers its messages from 1 again), so a stream sequence identifies a message only with this.
 */
export function streamIdentity(info: StreamInfo): string {
  return `${info.config.name}@${String(info.created)}`
}

/**
 * The stream's info once it exists (a consumer lost with its stream waits here), or null once
 * `signal` aborts. Other errors are logged and retried too; `waiting` is told when the wait
 * starts (only if the stream was missing) and ends.
 */
export async function waitForStream(
  jsm: JetStreamManager,
  stream: string,
  o: { signal: AbortSignal; log: Logger; why: string; waiting?: (waiting: boolean) => void },
): Promise<StreamInfo | null> {
  let info: StreamInfo | null = null
  for (let attempt = 0; !o.signal.aborted; attempt++) {
    info = await jsm.streams.info(stream).catch((e: JetStreamApiError) => {
      if (e?.code !== JetStreamApiCodes.StreamNotFound) o.log.warn({ err: e }, `reading stream ${stream} failed; retrying`)
      return null
    })
    if (info) break
    o.waiting?.(true)
    if (attempt % 20 === 0) o.log.warn({ why: o.why }, `stream ${stream} is gone; resuming when it exists again`)
    await delay(backoffMs(attempt, 250, 10_000), o.signal)
  }
  o.waiting?.(false)
  return o.signal.aborted ? null : info
}

/** After a 503 on a pull (no one answers for the consumer): is the consumer, or its stream, gone? */
export async function consumerGone(jsm: JetStreamManager, stream: string, consumer: string): Promise<boolean> {
  try {
    await jsm.consumers.info(stream, consumer)
    return false
  } catch (e) {
    const code = (e as JetStreamApiError | undefined)?.code
    return code === JetStreamApiCodes.ConsumerNotFound || code === JetStreamApiCodes.StreamNotFound
  }
}

/** A consumer's lag as last read: messages not delivered yet, and delivered but not acked; -1 until read. */
export interface ConsumerLag {
  pending: number
  ackPending: number
}

/** How often watchConsumerLag reads. */
export const LAG_EVERY_MS = 5_000

/**
 * Reads `consumer`'s lag now and every LAG_EVERY_MS (an unref'd timer) into `lag`, and hands each
 * reading to `onRead`; a failed read (NATS away, the consumer being created again) keeps the last.
 */
export function watchConsumerLag(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
  onRead?: (lag: ConsumerLag) => void,
): { lag: ConsumerLag; stop(): void } {
  const lag: ConsumerLag = { pending: -1, ackPending: -1 }
  const read = () => {
    jsm.consumers.info(stream, consumer).then((i) => {
      lag.pending = i.num_pending
      lag.ackPending = i.num_ack_pending
      onRead?.(lag)
    }, () => {})
  }
  read()
  const timer = setInterval(read, LAG_EVERY_MS)
  timer.unref()
  return { lag, stop: () => clearInterval(timer) }
}
