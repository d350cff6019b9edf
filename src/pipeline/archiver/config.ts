import { UsageError } from '../core/errors.ts'
import { OPS_PORTS } from '../core/http.ts'
import type { ResolvedConfig } from '../config/index.ts'
import type { ArchiverOptions } from './archiver.ts'
import type { ArchiveStreamEntry } from './options.ts'

/** Flags of `ssmd archiver`; any of stream/consumer/filter/name replaces the YAML list with one entry. */
export interface ArchiverFlags {
  stream?: string
  consumer?: string
  filter?: string
  name?: string
  feed?: string
  rotation?: string
  healthPort?: number
  upload?: boolean
}

/**
 * The archiver's options from a resolved environment (`archiver:` block, DESIGN §3) and flags.
 * Flag > YAML > default. Default entry: the environment's stream (`transport.stream`), all of it
 * (`{subject_prefix}.>`), consumer `{env}-archiver`, directory `{env}`.
 */
export function archiverOptions(config: ResolvedConfig, flags: ArchiverFlags = {}): ArchiverOptions {
  const a = config.env.archiver
  const feed = flags.feed ?? config.feed.name
  const single = flags.stream !== undefined || flags.consumer !== undefined || flags.filter !== undefined || flags.name !== undefined
  const streams: ArchiveStreamEntry[] =
    !single && a?.streams
      ? a.streams.map((s) => ({ name: s.name, stream: s.stream, consumer: s.consumer, filter: s.filter, feed: s.feed ?? feed }))
      : [{
        name: flags.name ?? config.name,
        stream: flags.stream ?? config.transport.stream,
        consumer: flags.consumer ?? `${config.name}-archiver`,
        filter: flags.filter ?? `${config.transport.subjectPrefix}.>`,
        feed,
      }]
  const enabled = flags.upload !== false && (a?.upload?.enabled ?? config.storage.type === 'gcs')
  if (enabled && !config.storage.bucket) {
    throw new UsageError(`archiver upload needs storage.bucket in ${config.envFile} (storage.type ${config.storage.type})`, 'CONFIG_ARCHIVER')
  }
  return {
    natsUrl: config.transport.url,
    root: config.storage.path,
    streams,
    tuning: { rotation: flags.rotation ?? a?.rotation, batchMessages: a?.batch_messages, gzipLevel: a?.gzip_level, validateEvery: a?.validate_every },
    upload: enabled
      ? { bucket: config.storage.bucket as string, prefix: config.storage.prefix, endpoint: config.storage.endpoint, maxAttempts: a?.upload?.max_attempts }
      : null,
    opsPort: flags.healthPort ?? a?.health_port ?? OPS_PORTS.archiver,
  }
}
