import { existsSync, statSync } from 'node:fs'
import { readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../core/log.ts'
import type { DayState } from './day-state.ts'
import { GzipFile, type GzipMode } from './gzip-file.ts'
import { CONTROL_TYPE, readControl, scanFrame } from './line.ts'
import { countControl, type ManifestFile } from './manifest.ts'
import { newReadStats, readLineBatches } from './reader.ts'
import { rfc3339 } from './rotation.ts'

/** The first free `{base}.jsonl.gz`, `{base}-01.jsonl.gz`, … in a date directory. */
export function freeName(day: DayState, base: string): string {
  let name = `${base}.jsonl.gz`
  for (let k = 1; day.names.has(name) || existsSync(join(day.dir, name)) || existsSync(join(day.dir, `${name}.tmp`)); k++) {
    name = `${base}-${String(k).padStart(2, '0')}.jsonl.gz`
  }
  return name
}

/**
 * Recovers `.tmp` files a crashed writer left in a date directory (one writer per stream, so none
 * is open): re-compresses every readable line into a complete gzip file under the `.tmp`'s final
 * name, adds a `recovered` manifest entry, and removes the `.tmp`. Without this, flushed (and so
 * acked) records would only exist in a file readers skip by default.
 */
export async function recoverOrphans(day: DayState, seqField: string | null, level: number, log: Logger, mode?: GzipMode, streamCreated?: string): Promise<number> {
  const orphans = (await readdir(day.dir)).filter((n) => n.endsWith('.jsonl.gz.tmp')).sort()
  for (const tmp of orphans) {
    const tmpPath = join(day.dir, tmp)
    const wanted = tmp.slice(0, -'.tmp'.length)
    const name = day.names.has(wanted) || existsSync(join(day.dir, wanted)) ? freeName(day, wanted.slice(0, 4)) : wanted
    day.names.add(name)
    const hhmm = /^(\d\d)(\d\d)/.exec(name)
    const entry: ManifestFile = {
      name,
      start: hhmm ? `${day.date}T${hhmm[1]}:${hhmm[2]}:00.000Z` : rfc3339(statSync(tmpPath).mtimeMs),
      end: rfc3339(statSync(tmpPath).mtimeMs),
      records: 0, bytes: 0, first_seq: null, last_seq: null, records_by_type: {}, upstream_gaps: 0, upstream_missing: 0, reconnects: 0, recovered: true,
      ...(streamCreated !== undefined ? { stream_created: streamCreated } : {}),
    }
    const seqAt = seqField === null ? null : new RegExp(`"${seqField}":(\\d+)\\}$`)
    const byType = new Map<string, number>()
    const out = new GzipFile(join(day.dir, name), level, '.recovering', mode)
    const stats = newReadStats()
    for await (const lines of readLineBatches(tmpPath, { stats, unwrapSeed: false })) {
      for (const line of lines) {
        const bytes = Buffer.from(line)
        const f = scanFrame(bytes)
        byType.set(f.type, (byType.get(f.type) ?? 0) + 1)
        if (f.type === CONTROL_TYPE) {
          const c = readControl(bytes, 0, bytes.length)
          if (c !== null) countControl(entry, c)
        }
        day.types.add(f.type)
        if (f.ticker !== null) day.tickers.add(f.ticker)
        const m = seqAt?.exec(line)
        if (m) {
          entry.first_seq ??= Number(m[1])
          entry.last_seq = Number(m[1])
        }
      }
      const text = lines.join('\n') + '\n'
      entry.records += lines.length
      entry.bytes += Buffer.byteLength(text)
      await out.write(Buffer.from(text))
    }
    await out.close()
    entry.records_by_type = Object.fromEntries([...byType].sort(([a], [b]) => a.localeCompare(b)))
    day.files.push(entry)
    await unlink(tmpPath)
    const truncated = stats.truncated.length > 0
    log.warn({ file: tmpPath, as: name, records: entry.records, truncated }, 'recovered a crashed writer\'s file')
  }
  return orphans.length
}
