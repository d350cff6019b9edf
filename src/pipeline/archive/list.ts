import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** An archive file found on disk, in one of the three layouts readers accept. */
export interface ArchiveFile {
  path: string
  feed: string
  /** The stream directory; null for the older layouts. */
  stream: string | null
  date: string
  name: string
  /** `stream`: `{feed}/{stream}/{date}/HHMM.jsonl.gz` (current); `feed`: `{feed}/{date}/` (Dec–Jan);
   * `seed`: `{date}/{feed}.jsonl` with `{"ts","feed","data"}` lines (seed 001). */
  layout: 'stream' | 'feed' | 'seed'
  /** A `.tmp` file: still being written, or left by a crashed writer. */
  open: boolean
}

export interface ListOptions {
  feed: string
  /** Only this stream (current layout only); default every stream plus the older layouts. */
  stream?: string
  /** `YYYY-MM-DD` dates to include; default all. */
  dates?: readonly string[]
  /** Include `.tmp` files (open or crashed writers). Default false. */
  includeOpen?: boolean
}

const DATE = /^\d{4}-\d{2}-\d{2}$/
const DATA_FILE = /\.jsonl(\.gz)?(\.tmp)?$/

async function entries(dir: string): Promise<{ name: string; dir: boolean }[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).map((d) => ({ name: d.name, dir: d.isDirectory() }))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return []
    throw e
  }
}

async function dataFiles(dir: string, includeOpen: boolean): Promise<{ name: string; open: boolean }[]> {
  return (await entries(dir))
    .filter((e) => !e.dir && DATA_FILE.test(e.name) && (includeOpen || !e.name.endsWith('.tmp')))
    .map((e) => ({ name: e.name, open: e.name.endsWith('.tmp') }))
}

/** Sort key within a date: `HHMM` then the restart suffix (`0015` < `0015-01` < `0030`). */
function timeKey(f: ArchiveFile): [number, number] {
  if (f.layout === 'seed') return [-1, 0]
  const m = /^(\d{4})(?:-(\d+))?\./.exec(f.name)
  return m ? [Number(m[1]), m[2] ? Number(m[2]) : 0] : [10_000, 0]
}

function compareFiles(a: ArchiveFile, b: ArchiveFile): number {
  if (a.date !== b.date) return a.date < b.date ? -1 : 1
  const [ta, sa] = timeKey(a)
  const [tb, sb] = timeKey(b)
  return ta - tb || sa - sb || (a.stream ?? '').localeCompare(b.stream ?? '') || a.name.localeCompare(b.name)
}

/**
 * Archive files of a feed in time order (date, then slot, then restart suffix), from the current
 * layout `{root}/{feed}/{stream}/{date}/`, the older `{root}/{feed}/{date}/` and seed 001's
 * `{root}/{date}/{feed}.jsonl`. With `stream`, only that stream's files.
 */
export async function listArchiveFiles(root: string, options: ListOptions): Promise<ArchiveFile[]> {
  const { feed, stream } = options
  const includeOpen = options.includeOpen ?? false
  const wanted = options.dates ? new Set(options.dates) : null
  const keep = (date: string) => DATE.test(date) && (wanted === null || wanted.has(date))
  const out: ArchiveFile[] = []
  const feedDir = join(root, feed)
  for (const e of await entries(feedDir)) {
    if (!e.dir) continue
    if (DATE.test(e.name)) {
      if (stream !== undefined || !keep(e.name)) continue
      for (const f of await dataFiles(join(feedDir, e.name), includeOpen)) {
        const path = join(feedDir, e.name, f.name)
        out.push({ path, feed, stream: null, date: e.name, name: f.name, layout: 'feed', open: f.open })
      }
      continue
    }
    if (stream !== undefined && e.name !== stream) continue
    for (const d of await entries(join(feedDir, e.name))) {
      if (!d.dir || !keep(d.name)) continue
      for (const f of await dataFiles(join(feedDir, e.name, d.name), includeOpen)) {
        const path = join(feedDir, e.name, d.name, f.name)
        out.push({ path, feed, stream: e.name, date: d.name, name: f.name, layout: 'stream', open: f.open })
      }
    }
  }
  if (stream === undefined) {
    for (const e of await entries(root)) {
      if (!e.dir || !keep(e.name)) continue
      for (const f of await dataFiles(join(root, e.name), includeOpen)) {
        if (f.name.replace(DATA_FILE, '') !== feed) continue
        const path = join(root, e.name, f.name)
        out.push({ path, feed, stream: null, date: e.name, name: f.name, layout: 'seed', open: f.open })
      }
    }
  }
  return out.sort(compareFiles)
}

/** The dates (`YYYY-MM-DD`, sorted) that hold archive files of a feed, in any layout. */
export async function listDates(root: string, feed: string, stream?: string): Promise<string[]> {
  const files = await listArchiveFiles(root, { feed, stream })
  return [...new Set(files.map((f) => f.date))].sort()
}
