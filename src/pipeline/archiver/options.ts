import { UsageError } from '../core/errors.ts'
import { isGzipMode, parseRotation, type GzipMode } from '../archive/index.ts'

/** One archived stream (reference §5.1: one task per entry). */
export interface ArchiveStreamEntry {
  /** Directory name under `{root}/{feed}/` (the "stream name"). */
  name: string
  /** JetStream stream. */
  stream: string
  /** Durable pull consumer name. */
  consumer: string
  /** Consumer filter subject. */
  filter: string
  /** Feed directory; default the environment's feed. */
  feed: string
}

export const ARCHIVER_DEFAULTS = {
  /** Wall-clock rotation interval of the archive files. */
  rotation: '15m',
  /** Most messages written, flushed and acked as one batch. */
  batchMessages: 1000,
  /** Pull window of `consume()` (messages requested from the server at a time). */
  pullMessages: 1000,
  /** Consumer `max_ack_pending` when the archiver creates the consumer; bounds the buffered
   * messages (memory) with the pull window. */
  maxAckPending: 20_000,
  /** Consumer ack wait: an unacked batch is redelivered after this. */
  ackWaitMs: 30_000,
  /** How often the open file is checked for the end of its slot. */
  rotationCheckMs: 1000,
  /** gzip level of the archive files. */
  gzipLevel: 6,
  /** How the files are compressed (archive/gzip-file.ts): `members` (libdeflate, one gzip
   * member per flushed batch) or `zlib` (one deflate stream); null: SSMD_GZIP, else members. */
  gzipMode: null as GzipMode | null,
  /** Back-off between attempts to (re)attach the consumer after an error. */
  retryBaseMs: 500,
  retryCapMs: 30_000,
  /** `/health` reports stale after this long without a message while the stream has pending ones. */
  stalenessMs: 300_000,
  /** Validate every Nth archived message against the Kalshi field rules (validate.ts); 0 = off. */
  validateEvery: 100,
}

export type ArchiverTuning = typeof ARCHIVER_DEFAULTS

const NAME = /^[A-Za-z0-9_.-]+$/
const STREAM = /^[A-Za-z0-9_-]+$/
const SUBJECT = /^[^\s]+$/

/** Merges and validates tuning options; messages name the option and the value. */
export function resolveTuning(partial: Partial<ArchiverTuning> = {}): ArchiverTuning {
  const o = { ...ARCHIVER_DEFAULTS }
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (o as Record<string, unknown>)[k] = v
  const bad = (k: string, rule: string, v: unknown) =>
    new UsageError(`options.${k} ${rule} (got ${JSON.stringify(v)})`, 'ARCHIVER_OPTIONS')
  try {
    parseRotation(o.rotation)
  } catch (e) {
    throw new UsageError(`options.rotation is not a valid interval (got ${JSON.stringify(o.rotation)})`, 'ARCHIVER_OPTIONS', { cause: e })
  }
  const positive = ['batchMessages', 'pullMessages', 'maxAckPending', 'ackWaitMs', 'rotationCheckMs', 'retryBaseMs', 'retryCapMs', 'stalenessMs'] as const
  for (const k of positive) if (!Number.isSafeInteger(o[k]) || o[k] <= 0) throw bad(k, 'must be a positive integer', o[k])
  if (!Number.isSafeInteger(o.validateEvery) || o.validateEvery < 0) throw bad('validateEvery', 'must be a non-negative integer (0 = off)', o.validateEvery)
  if (!Number.isInteger(o.gzipLevel) || o.gzipLevel < 1 || o.gzipLevel > 9) throw bad('gzipLevel', 'must be 1..9', o.gzipLevel)
  if (o.gzipMode !== null && !isGzipMode(o.gzipMode)) throw bad('gzipMode', 'must be "members" or "zlib"', o.gzipMode)
  if (o.maxAckPending < o.batchMessages) throw bad('maxAckPending', `must be ≥ batchMessages (${o.batchMessages})`, o.maxAckPending)
  return o
}

/** Validates stream entries: plain names, no duplicate directory or consumer. */
export function validateEntries(entries: readonly ArchiveStreamEntry[]): void {
  if (entries.length === 0) throw new UsageError('archiver: no streams configured', 'ARCHIVER_OPTIONS')
  const bad = (i: number, k: string, rule: string, v: unknown) =>
    new UsageError(`archiver.streams[${i}].${k} ${rule} (got ${JSON.stringify(v)})`, 'ARCHIVER_OPTIONS')
  const dirs = new Set<string>()
  const consumers = new Set<string>()
  entries.forEach((e, i) => {
    if (!NAME.test(e.name)) throw bad(i, 'name', 'must be letters, digits, _ . or -', e.name)
    if (!NAME.test(e.feed)) throw bad(i, 'feed', 'must be letters, digits, _ . or -', e.feed)
    if (!STREAM.test(e.stream)) throw bad(i, 'stream', 'must be letters, digits, _ or -', e.stream)
    if (!STREAM.test(e.consumer)) throw bad(i, 'consumer', 'must be letters, digits, _ or -', e.consumer)
    if (!SUBJECT.test(e.filter)) throw bad(i, 'filter', 'must be a subject without spaces', e.filter)
    const dir = `${e.feed}/${e.name}`
    if (dirs.has(dir)) throw bad(i, 'name', `duplicates the directory ${dir}`, e.name)
    const c = `${e.stream}/${e.consumer}`
    if (consumers.has(c)) throw bad(i, 'consumer', `duplicates consumer ${c}`, e.consumer)
    dirs.add(dir)
    consumers.add(c)
  })
}
