/**
 * What the commands that read archive dates share (`backtest run`, `signal run --source file`,
 * `data replay|export`): dates checked as `data export` checks them, a run over no files refused
 * (a wrong --data or a date not archived is a mistake, not an empty result), and one wording for
 * damaged files, on stderr, so a result is never quietly built from part of the data.
 */
import { join } from 'node:path'
import { listArchiveFiles, type ArchiveFile, type TruncatedFile } from '../../pipeline/archive/index.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import { checkDate, dateRange } from '../../pipeline/export/index.ts'
import { MANIFEST_FILE, manifestDates, type LoadedSignal } from '../../pipeline/signals/index.ts'

/** `--from`..`--to` inclusive (`--to` defaults to `--from`); null when neither is given. */
export function rangeDates(from: string | undefined, to: string | undefined): string[] | null {
  if (from === undefined) {
    if (to !== undefined) throw new UsageError('--to needs --from')
    return null
  }
  return dateRange(from, to ?? from)
}

/**
 * The dates a signal runs over: `given` (each checked, `flag` named in the error), else its
 * backtest.yaml's. None at all is a usage error saying `how` to give some.
 */
export function signalDates(s: LoadedSignal, given: readonly string[] | null, flag: string, how: string): string[] {
  const dates = given ? given.map((d) => checkDate(d, flag)) : yamlDates(s)
  if (dates.length === 0) throw new UsageError(`no dates: ${how}`)
  return dates
}

/** backtest.yaml's dates, checked: a reversed or impossible date_range is an error, not no dates. */
function yamlDates(s: LoadedSignal): string[] {
  const m = s.manifest
  if (!m) return []
  const where = join(s.dir, MANIFEST_FILE)
  if (m.dates) return m.dates.map((d) => checkDate(d, `${where}: dates`))
  if (m.date_range) {
    const { from, to } = m.date_range
    checkDate(from, `${where}: date_range.from`)
    checkDate(to, `${where}: date_range.to`)
    if (from > to) throw new UsageError(`${where}: date_range.from ${from} is after date_range.to ${to}`)
  }
  return manifestDates(m)
}

/**
 * The archive files of `dates`: none is a usage error naming the dates and the root; dates
 * without files are a warning, and the others are read.
 */
export async function archiveFilesFor(o: { root: string; feed: string; stream?: string; dates: readonly string[] }): Promise<ArchiveFile[]> {
  const files = await listArchiveFiles(o.root, { feed: o.feed, stream: o.stream, dates: o.dates })
  if (files.length === 0) {
    throw new UsageError(`no ${o.feed}${o.stream ? `/${o.stream}` : ''} archive files for ${o.dates.join(', ')} under ${o.root}`)
  }
  const missing = o.dates.filter((d) => !files.some((f) => f.date === d))
  if (missing.length > 0) console.error(`warning: no ${o.feed} archive files for ${missing.join(', ')} under ${o.root}; reading the other dates`)
  return files
}

/** A warning printer for files that ended early or are corrupt; `done` says what became of their complete lines. */
export function warnTruncated(done: string): (t: TruncatedFile) => void {
  return (t) => console.error(`warning: ${t.path} ${t.open ? 'is still being written' : 'is truncated or corrupt'} (${t.reason}); ${done}`)
}

/** Lines that are not JSON objects are skipped by every reader; the count is said, not only stored. */
export function warnMalformed(lines: number): void {
  if (lines === 1) console.error('warning: 1 line that is not a JSON object was skipped')
  else if (lines > 1) console.error(`warning: ${lines} lines that are not JSON objects were skipped`)
}
