import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { newReadStats, readLineBatches, readManifest } from '../archive/index.ts'

const DATE = /^\d{4}-\d{2}-\d{2}$/

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
}

/**
 * The highest sequence (`seqField`, e.g. `_nats_seq`) durably written under `{dir}` =
 * `{root}/{feed}/{stream name}`, or null when nothing was. Reads the date directories newest first:
 * the manifests' `last_seq` and every line of a `.tmp` a crashed writer left (flushed lines there
 * may have been written but never acked; the writer recovers that file on its first append).
 * Stops at the newest date that has any sequence. This is what makes a restart skip redelivered
 * messages it already holds: "resume after the last sequence durably written".
 */
export async function lastDurableSeq(dir: string, seqField = '_nats_seq', streamCreated?: string): Promise<number | null> {
  const dates = (await names(dir)).filter((d) => DATE.test(d)).sort().reverse()
  const seqAt = new RegExp(`"${seqField}":(\\d+)\\}$`)
  for (const date of dates) {
    const dateDir = join(dir, date)
    let best: number | null = null
    const bump = (n: number | null | undefined) => {
      if (typeof n === 'number' && (best === null || n > best)) best = n
    }
    // with `streamCreated`, only the files of that stream (an older stream's may hold higher
    // sequences); a `.tmp` is always the current stream's (a mid-run change of stream cuts the
    // open file first)
    for (const f of (await readManifest(dateDir))?.files ?? []) if (streamCreated === undefined || f.stream_created === streamCreated) bump(f.last_seq)
    for (const tmp of (await names(dateDir)).filter((n) => n.endsWith('.jsonl.gz.tmp'))) {
      const stats = newReadStats()
      for await (const lines of readLineBatches(join(dateDir, tmp), { stats, unwrapSeed: false })) {
        for (let i = lines.length - 1; i >= 0; i--) {
          const m = seqAt.exec(lines[i] as string)
          if (m) {
            bump(Number(m[1]))
            break
          }
        }
      }
    }
    if (best !== null) return best
  }
  return null
}
