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

/** `manifest.json` of one date directory. */
export interface Manifest {
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
    return { ...m, gaps: m.gaps ?? [], tickers: m.tickers ?? [], message_types: m.message_types ?? [] }
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

function gapKey(g: ManifestGap): string {
  return `${g.after_seq}:${g.missing_count}:${g.detected_at}`
}

/**
 * Merges `next` (this process's view) into `prev` (what is on disk): files are united by name
 * (`next` wins, but keeps an `upload` state only `prev` has), gaps, tickers and types are united.
 * Files written before a restart are never lost.
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
  return {
    ...next,
    files: [...files.values()].sort((a, b) => a.start.localeCompare(b.start) || a.name.localeCompare(b.name)),
    gaps: gapList,
    has_gaps: gapList.length > 0,
    tickers: [...new Set([...prev.tickers, ...next.tickers])].sort(),
    message_types: [...new Set([...prev.message_types, ...next.message_types])].sort(),
  }
}
