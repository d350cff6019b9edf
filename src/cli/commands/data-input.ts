/**
 * What `data sample|replay|export` check before they read a date: which stream (`--stream`, or
 * the only one the date has; several without `--stream` is refused, never concatenated), and
 * whether a `--ticker`/`--symbol`/`--type` filter can match anything (from the manifests, before
 * anything is read; a filter that matched nothing is an error either way).
 */
import { dirname } from 'node:path'
import { listArchiveFiles, readManifest, type ArchiveFile } from '../../pipeline/archive/index.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import { RECORD_TYPES } from '../../pipeline/records/index.ts'

/** Frame types the record parser interprets; any other becomes an `other` record. */
const PARSED_TYPES: ReadonlySet<string> = new Set(RECORD_TYPES.filter((t) => t !== 'other'))

export interface StreamFiles {
  /** The files of the dates in the chosen stream, in time order (may be none). */
  files: ArchiveFile[]
  /** The stream read: `--stream`, or the one stream the files are in (undefined: older layouts only). */
  stream: string | undefined
}

/**
 * The archive files of `dates` of one stream: `stream`, else every file, after checking that no
 * date holds more than one stream (a usage error listing them and asking for `--stream`). A
 * `stream` with no files for the dates is a usage error naming the streams there are.
 */
export async function streamFiles(o: { root: string; feed: string; stream?: string; dates: readonly string[] }): Promise<StreamFiles> {
  const all = await listArchiveFiles(o.root, { feed: o.feed, dates: o.dates })
  const streams = [...new Set(all.flatMap((f) => (f.stream === null ? [] : [f.stream])))].sort()
  if (o.stream !== undefined) {
    const files = all.filter((f) => f.stream === o.stream)
    if (files.length === 0 && all.length > 0) {
      throw new UsageError(`no ${o.feed}/${o.stream} archive files for ${o.dates.join(', ')} under ${o.root} (--stream; streams there: ${streams.join(', ') || 'none, older layout only'})`)
    }
    return { files, stream: o.stream }
  }
  const mixed = o.dates.filter((d) => new Set(all.filter((f) => f.date === d && f.stream !== null).map((f) => f.stream)).size > 1)
  if (mixed.length > 0) {
    const found = [...new Set(all.filter((f) => mixed.includes(f.date) && f.stream !== null).map((f) => f.stream))].sort()
    throw new UsageError(`${o.feed} ${mixed.join(', ')} holds ${found.length} streams (${found.join(', ')}); pass --stream NAME to read one of them`)
  }
  return { files: all, stream: streams.length === 1 ? streams[0] : undefined }
}

/**
 * What the manifests of `files`' directories say the files hold: their tickers and their record
 * types (as `data sample --type` names them: the frame types, and `other` for frames the parser
 * does not interpret), each null when they cannot say (a directory without a manifest, a file its
 * manifest does not list, no tickers).
 */
export async function manifestContents(files: readonly ArchiveFile[]): Promise<{ tickers: string[] | null; types: string[] | null }> {
  const tickers = new Set<string>()
  const types = new Set<string>()
  let tickersKnown = true
  let typesKnown = true
  for (const dir of new Set(files.map((f) => dirname(f.path)))) {
    const m = await readManifest(dir).catch(() => null)
    const byName = new Map(m?.files.map((f) => [f.name, f]))
    const entries = files.filter((f) => dirname(f.path) === dir).map((f) => byName.get(f.name))
    if (m === null || entries.some((e) => e === undefined)) return { tickers: null, types: null }
    if (m.tickers.length === 0) tickersKnown = false
    for (const t of m.tickers) tickers.add(t)
    for (const e of entries) {
      if (e === undefined || Object.keys(e.records_by_type ?? {}).length === 0) typesKnown = false
      for (const [t, n] of Object.entries(e?.records_by_type ?? {})) {
        if (n <= 0) continue
        types.add(t)
        if (!PARSED_TYPES.has(t)) types.add('other')
      }
    }
  }
  return { tickers: tickersKnown ? [...tickers].sort() : null, types: typesKnown ? [...types].sort() : null }
}

/**
 * A usage error when `value` (given as `flag`) is not among what the manifests list (`known`),
 * naming up to 5 of them nearest to it; nothing when `known` is null (the manifests cannot say).
 */
export function checkListed(flag: string, value: string, what: string, known: readonly string[] | null, where: string): void {
  if (known === null || known.includes(value)) return
  const some = nearest(value, known, 5).join(', ')
  const listed = known.length <= 5 ? `${known.length}: ${some}` : `${known.length}, e.g. ${some}`
  throw new UsageError(`${flag} ${value} is not ${what} of ${where} (its manifests list ${listed})`)
}

/**
 * `--ticker` and `--type` of `data sample` and `data export` against what the manifests of `files`
 * list: a usage error for a ticker none lists, or when none of `types` is listed (a type some file
 * holds is kept); nothing to check when there are no files or no filters.
 */
export async function checkFilters(files: readonly ArchiveFile[], o: { ticker?: string; types: readonly string[] }, where: string): Promise<void> {
  if (files.length === 0 || (o.ticker === undefined && o.types.length === 0)) return
  const listed = await manifestContents(files)
  if (o.ticker !== undefined) checkListed('--ticker', o.ticker, 'a ticker', listed.tickers, where)
  const missing = listed.types === null ? [] : o.types.filter((t) => !listed.types?.includes(t))
  if (missing.length > 0 && missing.length === o.types.length) checkListed('--type', missing.join(','), 'a record type', listed.types, where)
}

/** Up to `n` of `values` sharing the longest prefix with `value` (a typo's neighbours), in order. */
function nearest(value: string, values: readonly string[], n: number): string[] {
  const common = (t: string) => {
    let i = 0
    while (i < t.length && i < value.length && t[i] === value[i]) i++
    return i
  }
  return values.map((t) => ({ t, c: common(t) })).sort((a, b) => b.c - a.c || (a.t < b.t ? -1 : 1)).slice(0, n).map((x) => x.t)
}
