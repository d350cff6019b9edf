/**
 * Which stream an archive directory's sequences (`_nats_seq`) come from: `{root}/{feed}/{name}/
 * .stream.json` = `{"stream": name, "created": the stream's creation time}`. A stream deleted and
 * created again (an operator, a connector that recreated it) numbers its messages from 1 again, so
 * the archive's last sequence says nothing about it: resuming after it would skip the new stream's
 * messages as duplicates until its sequence passed the old one (lost). The archiver compares the
 * stream's `created` with this file at start and whenever its consumer disappears.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export const STREAM_IDENTITY_FILE = '.stream.json'

export interface StreamIdentity {
  stream: string
  created: string
  /**
   * Set when this identity replaced another (the stream was re-created): the archive's files of
   * this stream carry `stream_created` in their manifest entries, and only they say where the
   * archive of this stream ends (older files may hold the old stream's higher sequences).
   */
  tagged?: boolean
}

/** The identity recorded in `dir`, or null (none yet, or unreadable: older archives have none). */
export async function readStreamIdentity(dir: string): Promise<StreamIdentity | null> {
  try {
    const v = JSON.parse(await readFile(join(dir, STREAM_IDENTITY_FILE), 'utf8')) as Partial<StreamIdentity>
    return typeof v.stream === 'string' && typeof v.created === 'string' ? { stream: v.stream, created: v.created, ...(v.tagged === true ? { tagged: true } : {}) } : null
  } catch {
    return null
  }
}

/** Records `id` in `dir` (write then rename: a crash leaves the old file or the new one). */
export async function writeStreamIdentity(dir: string, id: StreamIdentity): Promise<void> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, STREAM_IDENTITY_FILE)
  await writeFile(`${path}.tmp`, JSON.stringify(id) + '\n')
  await rename(`${path}.tmp`, path)
}

/** Whether the sequences of `now` continue those recorded (`recorded` null: nothing to go by, assume so). */
export function sameSequenceSpace(recorded: StreamIdentity | null, now: StreamIdentity): boolean {
  return recorded === null || (recorded.stream === now.stream && recorded.created === now.created)
}
