import { closeSync, fsyncSync, openSync } from 'node:fs'
import { open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { DataError } from '../core/errors.ts'

/** Reserved for the GCS uploader: where a closed file went and its checksums. */
export interface UploadState {
  state: 'pending' | 'uploading' | 'uploaded' | 'failed'
  md5?: string
  crc32c?: string
  uri?: string
}

/** One closed archive file. `bytes` is the uncompressed size (lines with injected fields and `\n`).
 * `first_seq`/`last_seq` are the sequence named by the manifest's `seq_field`: the JetStream stream
 * sequence (`_nats_seq`) for the archiver, the connector's own sequence (`_seq`) for the file
 * transport; null when records carried none. */
export interface ManifestFile {
  name: string
  start: string
  end: string
  records: number
  bytes: number
  first_seq: number | null
  last_seq: number | null
  records_by_type: Record<string, number>
  /**
   * Connector control records in the file (DESIGN §5, `{prefix}.json.control.{kind}`) saying the
   * capture from the exchange was not continuous, whatever the stream sequence says: `gap` records
   * (the exchange's sequence jumped), the sequence numbers they say are missing, and `reconnect`
   * records (a socket closed or a connection attempt failed; what the exchange sent meanwhile is
   * not in the archive). Absent in entries written before they were counted.
   */
  upstream_gaps?: number
  upstream_missing?: number
  reconnects?: number
  /**
   * The creation time of the JetStream stream whose sequences `first_seq`/`last_seq` are (the
   * archiver's `.stream.json` identity), once a stream was re-created under this archive: a
   * restart resumes after the current stream's files only, not after an older stream's higher
   * sequences. Absent in entries written before, and by writers of one sequence space.
   */
  stream_created?: string
  /** Rebuilt at start-up from a crashed writer's `.tmp` (start is the slot start, end its mtime). */
  recovered?: boolean
  upload?: UploadState
}

/** A hole in the sequence, as the caller judged it: `missing_count` numbers after `after_seq`. */
export interface ManifestGap {
  after_seq: number
  missing_count: number
  detected_at: string
}

/** The upstream counts of a date: sums over its files' entries (see ManifestFile). */
export interface UpstreamTotals {
  upstream_gaps: number
  upstream_missing: number
  reconnects: number
  /** A file holds a `gap` or `reconnect` control record: the capture was not continuous even
   * where `has_gaps` (stream sequence gaps only, as in the reference) is false. */
  has_upstream_gaps: boolean
}

/** `manifest.json` of one date directory. `gaps` and `has_gaps` are holes in the writer's own
 * sequence (`seq_field`); the `upstream_*` totals are what the connector's control records say. */
export interface Manifest extends UpstreamTotals {
  feed: string
  stream: string
  date: string
  format: 'jsonl'
  rotation_interval: string
  seq_field: string | null
  files: ManifestFile[]
  gaps: ManifestGap[]
  has_gaps: boolean
  tickers: string[]
  message_types: string[]
}

export const MANIFEST_NAME = 'manifest.json'

/** The manifest of a date directory, or null when there is none. */
export async function readManifest(dir: string): Promise<Manifest | null> {
  const path = join(dir, MANIFEST_NAME)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
  try {
    const m = JSON.parse(text) as Manifest
    if (!Array.isArray(m.files)) throw new DataError(`${path}: files is not an array`, 'MANIFEST_INVALID')
    // the upstream totals from the files: manifests written before they were counted have none
    return { ...m, gaps: m.gaps ?? [], ...upstreamTotals(m.files), tickers: m.tickers ?? [], message_types: m.message_types ?? [] }
  } catch (e) {
    if (e instanceof DataError) throw e
    throw new DataError(`${path}: not valid JSON`, 'MANIFEST_INVALID', { cause: e })
  }
}

/** Writes the manifest durably: a `.tmp` file, fsync, rename over `manifest.json`, fsync the dir. */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const path = join(dir, MANIFEST_NAME)
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(JSON.stringify(manifest, null, 2) + '\n')
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  fsyncDir(dir)
}

/** fsync a directory so a rename in it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** A control record's kind and, for a gap, the sequence numbers it says are missing (line.ts readControl). */
export interface ControlRecord {
  kind: string
  missing: number | null
}

/** Counts one control record into a file entry's upstream counts (kinds other than gap and reconnect are not counted). */
export function countControl(entry: ManifestFile, c: ControlRecord): void {
  if (c.kind === 'gap') {
    entry.upstream_gaps = (entry.upstream_gaps ?? 0) + 1
    entry.upstream_missing = (entry.upstream_missing ?? 0) + (c.missing ?? 0)
  } else if (c.kind === 'reconnect') {
    entry.reconnects = (entry.reconnects ?? 0) + 1
  }
}

/** The date's upstream totals: sums over `files` (so a merge after a restart recomputes them). */
export function upstreamTotals(files: readonly ManifestFile[]): UpstreamTotals {
  let gaps = 0
  let missing = 0
  let reconnects = 0
  for (const f of files) {
    gaps += f.upstream_gaps ?? 0
    missing += f.upstream_missing ?? 0
    reconnects += f.reconnects ?? 0
  }
  return { upstream_gaps: gaps, upstream_missing: missing, reconnects, has_upstream_gaps: gaps + reconnects > 0 }
}

function gapKey(g: ManifestGap): string {
  return `${g.after_seq}:${g.missing_count}:${g.detected_at}`
}

/**
 * Merges `next` (this process's view) into `prev` (what is on disk): files are united by name
 * (`next` wins, but keeps an `upload` state only `prev` has), gaps, tickers and types are united,
 * the upstream totals summed again over the united files. Files written before a restart are never lost.
 */
export function mergeManifests(prev: Manifest | null, next: Manifest): Manifest {
  if (!prev) return next
  const files = new Map(prev.files.map((f) => [f.name, f]))
  for (const f of next.files) {
    const old = files.get(f.name)
    files.set(f.name, old?.upload && !f.upload ? { ...f, upload: old.upload } : f)
  }
  const gaps = new Map(prev.gaps.map((g) => [gapKey(g), g]))
  for (const g of next.gaps) gaps.set(gapKey(g), g)
  const gapList = [...gaps.values()].sort((a, b) => a.detected_at.localeCompare(b.detected_at))
  const fileList = [...files.values()].sort((a, b) => a.start.localeCompare(b.start) || a.name.localeCompare(b.name))
  return {
    ...next,
    files: fileList,
    gaps: gapList,
    has_gaps: gapList.length > 0,
    ...upstreamTotals(fileList),
    tickers: [...new Set([...prev.tickers, ...next.tickers])].sort(),
    message_types: [...new Set([...prev.message_types, ...next.message_types])].sort(),
  }
}
