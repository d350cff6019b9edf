/** `ssmd data list|sample|replay|export`: look at, replay and export the archive. */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { listArchiveFiles, readArchive, readManifest, upstreamTotals, type ManifestFile } from '../../pipeline/archive/index.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import { parseRecord, stripRaw } from '../../pipeline/records/index.ts'
import {
  checkDate,
  DEFAULT_ROW_GROUP_ROWS, checkFormat, checkType, dateRange, exportArchive, type ExportSummary,
} from '../../pipeline/export/index.ts'
import { stripInjected } from '../../pipeline/archive/index.ts'
import { FileRecordSource } from '../../pipeline/signals/index.ts'
import { connectNats, isLiteralSubject } from '../../pipeline/transport/index.ts'
import { headers } from '@nats-io/transport-node'
import { warnTruncated } from './archive-input.ts'
import { checkFilters, checkListed, manifestContents, streamFiles } from './data-input.ts'
import { ReplayPublisher, replayInstanceId } from './data-publish.ts'
import { DEFAULT_NATS_URL, dataDirOf } from './signal.ts'
import { isStdoutClosed, watchStdout } from '../stdout.ts'
import { logToStderr } from '../../pipeline/core/log.ts'

function feedsIn(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && !/^\d{4}-/.test(d.name)).map((d) => d.name).sort()
  } catch {
    return []
  }
}

export function registerData(program: Command): void {
  const data = program.command('data').description('the archive: list, sample, replay, export')

  data
    .command('list')
    .description('feeds, streams, dates, files, records and sizes: on disk (gzip) and uncompressed (from manifests)')
    .option('--data <dir>', 'archive root')
    .option('--feed <name>', 'only this feed')
    .option('--json', 'print JSON (bytes_on_disk, bytes_uncompressed; null where no manifest lists the files)')
    .action(async (o: { data?: string; feed?: string; json?: boolean }, cmd: Command) => {
      const root = dataDirOf(cmd, o.data)
      if (!existsSync(root)) throw new UsageError(`no data directory at ${root} (pass --data, --data-dir or SSMD_DATA_DIR)`)
      const rows: ListRow[] = []
      for (const feed of o.feed ? [o.feed] : feedsIn(root)) {
        // `.tmp` files too: the slot being written, or a crashed writer's (readable only once a
        // writer's next start recovers it): a date holding only those said "no archives"
        const all = await listArchiveFiles(root, { feed, includeOpen: true })
        const groups = new Map<string, typeof all>()
        for (const f of all) {
          const k = `${f.stream ?? ''}\t${f.date}`
          groups.set(k, [...(groups.get(k) ?? []), f])
        }
        for (const [k, both] of groups) {
          const [stream, date] = k.split('\t')
          const fs = both.filter((f) => !f.open)
          const open = both.length - fs.length
          if (fs.length === 0) {
            rows.push({ feed, stream: stream || null, date, files: 0, records: null, bytes_on_disk: 0, bytes_uncompressed: null, open_files: open })
            continue
          }
          const m = await readManifest(join(fs[0].path, '..')).catch(() => null)
          // the manifest's entries of the files on disk: records and uncompressed bytes as written
          const byName = new Map((m?.files ?? []).map((f) => [f.name, f]))
          const entries = fs.map((f) => byName.get(f.name))
          const known = entries.every((e) => e !== undefined)
          rows.push({
            feed, stream: stream || null, date, files: fs.length,
            records: known ? entries.reduce((s, e) => s + (e?.records ?? 0), 0) : null,
            bytes_on_disk: fs.reduce((s, f) => s + Bun.file(f.path).size, 0),
            bytes_uncompressed: known ? entries.reduce((s, e) => s + (e?.bytes ?? 0), 0) : null,
            ...upstreamOf(entries),
            ...(open > 0 ? { open_files: open } : {}),
          })
        }
      }
      if (o.json) return void console.log(JSON.stringify(rows, null, 2))
      if (rows.length === 0) console.error(`no ${o.feed ?? ''}${o.feed ? ' ' : ''}archives under ${root}`)
      for (const r of rows) {
        const size = `${formatBytes(r.bytes_on_disk)} on disk (${r.bytes_uncompressed === null ? '?' : formatBytes(r.bytes_uncompressed)} uncompressed)`
        const upstream = r.upstream_gaps === undefined ? '' : `\tnot continuous: upstream gaps ${r.upstream_gaps} (${r.upstream_missing} missing), reconnects ${r.reconnects}`
        const open = r.open_files ? `\t+ ${r.open_files} unfinished (.tmp: being written, or left by a crash until the writer's next start recovers it; not read by sample/replay/export)` : ''
        console.log(`${r.feed}\t${r.stream ?? '-'}\t${r.date}\t${r.files} files\t${r.records ?? '?'} records\t${size}${upstream}${open}`)
      }
    })

  data
    .command('sample')
    .description('the first records of a date, parsed')
    .requiredOption('--date <date>', 'YYYY-MM-DD')
    .option('--data <dir>', 'archive root')
    .option('--feed <name>', 'feed', 'kalshi')
    .option('--stream <name>', STREAM_HELP)
    .option('--type <type>', 'only this record type (ticker, trade, orderbook_delta, …)')
    .option('--ticker <ticker>', 'only this ticker')
    .option('--limit <n>', 'records to print', '10')
    .option('--raw', 'print the raw lines instead')
    .action(async (o: { date: string; data?: string; feed: string; stream?: string; type?: string; ticker?: string; limit: string; raw?: boolean }, cmd: Command) => {
      logToStderr() // stdout is the records
      checkDate(o.date)
      const limit = Number(o.limit)
      if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`--limit must be a positive integer (got ${o.limit})`)
      const root = dataDirOf(cmd, o.data)
      const { files } = await streamFiles({ root, feed: o.feed, stream: o.stream, dates: [o.date] })
      if (files.length === 0) throw new UsageError(`no ${o.feed} archive files for ${o.date} under ${root}`)
      const where = `${o.feed}${o.stream ? `/${o.stream}` : ''} ${o.date}`
      // a filter the date cannot match prints nothing: said before anything is read
      await checkFilters(files, { ticker: o.ticker, types: o.type === undefined ? [] : [o.type] }, where)
      let n = 0
      const lines = readArchive(files)
      for await (const line of lines) {
        const r = parseRecord(line)
        if (!r || (o.type && r.type !== o.type && !(r.type === 'other' && r.frameType === o.type)) || (o.ticker && r.ticker !== o.ticker)) continue
        console.log(o.raw ? line : JSON.stringify(stripRaw(r)))
        if (++n >= limit) break
      }
      await lines.return?.()
      // no manifest to check against beforehand (older layouts), or filters that each match but not together
      if (n === 0 && (o.ticker !== undefined || o.type !== undefined)) throw new UsageError(`no record of ${where} matches ${filterText(o)}`)
    })

  data
    .command('replay')
    .description('replay a date of the archive to stdout or NATS, at recorded speed or as fast as possible')
    .requiredOption('--date <date>', 'YYYY-MM-DD')
    .option('--data <dir>', 'archive root')
    .option('--feed <name>', 'feed', 'kalshi')
    .option('--stream <name>', STREAM_HELP)
    .option('--symbol <ticker>', 'only this ticker')
    .option('--speed <n|max>', 'replay speed multiple, or max', 'max')
    .option('--to <sink>', 'stdout or nats', 'stdout')
    .option('--nats-url <url>', 'NATS url; env NATS_URL')
    .option('--prefix <subject>', 'subject prefix for --to nats', 'replay.kalshi')
    .action(async (o: { date: string; data?: string; feed: string; stream?: string; symbol?: string; speed: string; to: string; natsUrl?: string; prefix: string }, cmd: Command) => {
      if (o.to === 'stdout') logToStderr() // stdout is the records
      checkDate(o.date)
      const speed = o.speed === 'max' ? Infinity : Number(o.speed)
      if (!(speed > 0)) throw new UsageError(`--speed must be a positive number or max (got ${o.speed})`)
      if (o.to !== 'stdout' && o.to !== 'nats') throw new UsageError(`--to must be stdout or nats (got ${o.to})`)
      if (o.to === 'nats' && !isLiteralSubject(o.prefix)) throw new UsageError(`--prefix must be a NATS subject without wildcards, spaces or empty tokens, e.g. replay.kalshi (got "${o.prefix}")`)
      const root = dataDirOf(cmd, o.data)
      const onTruncated = warnTruncated('replayed its complete lines')
      const chosen = await streamFiles({ root, feed: o.feed, stream: o.stream, dates: [o.date] })
      // records as a backtest reads them (the gunzip worker walks the lines); each keeps its line as `raw`
      const source = new FileRecordSource({ root, feed: o.feed, stream: o.stream, dates: [o.date], onTruncated })
      const files = await source.listFiles()
      if (files.length === 0) throw new UsageError(`no ${o.feed} archive files for ${o.date} under ${root}`)
      if (o.symbol !== undefined) {
        // a ticker the date does not have replays nothing: said before anything is replayed
        checkListed('--symbol', o.symbol, 'a ticker', (await manifestContents(files)).tickers, `${o.feed} ${o.date}`)
      }
      const nc = o.to === 'nats' ? await connectNats(o.natsUrl ?? process.env.NATS_URL ?? DEFAULT_NATS_URL) : null
      const publisher = nc ? new ReplayPublisher(o.prefix, replayInstanceId(root, o.feed, chosen.stream, o.date)) : null
      let first: { ts: number; wall: number } | null = null
      let n = 0
      // the record's position in the date (before --symbol): its Nats-Msg-Id
      let position = 0
      let flushedAt = 0
      // a batch of records is replayed without an await between them (unless --speed makes it
      // wait): nats.js then sends the batch's publishes in one write, and stdout gets one write
      // per batch, not one per record
      const out = new StdoutLines()
      try {
        replay: for await (const { records } of source.batches()) {
          for (const r of records) {
            position++
            if (o.symbol && r.ticker !== o.symbol) continue
            const at = r.receivedAt || r.ts
            if (speed !== Infinity && at > 0) {
              first ??= { ts: at, wall: performance.now() }
              const wait = first.wall + (at - first.ts) / speed - performance.now()
              if (wait > 1) {
                if (!(await out.flush())) break replay
                await Bun.sleep(wait)
              }
            }
            if (nc && publisher) {
              const rec = publisher.record(r.raw, position, r.receivedAt * 1000)
              const h = headers()
              h.set('Nats-Msg-Id', rec.msgId)
              nc.publish(rec.subject, rec.payload, { headers: h })
            } else out.push(stripInjected(r.raw))
            n++
          }
          if (!(await out.flush())) break
          // the server has everything so far: what waits in this process stays bounded
          if (nc && n - flushedAt >= REPLAY_FLUSH_EVERY) {
            await nc.flush()
            flushedAt = n
          }
        }
        if (nc) await nc.drain()
      } finally {
        if (nc && !nc.isClosed()) await nc.close().catch(() => {})
      }
      const malformed = source.parse.malformed
      console.error(`replayed ${n} records from ${files.length} files${malformed > 0 ? ` (${malformed} lines that are not JSON objects skipped)` : ''}`)
      // no manifest to check --symbol against beforehand (older layouts): said afterwards
      if (o.symbol !== undefined && n === 0) console.error(`warning: no record of ${o.feed} ${o.date} has the ticker ${o.symbol} (--symbol)`)
    })

  data
    .command('export')
    .description('export archive dates to typed parquet or CSV, hive-partitioned: {out}/{feed}/date=D/type=T/part-0000.{ext}')
    .option('--date <date>', 'YYYY-MM-DD (repeatable, or comma-separated)', collect)
    .option('--from <date>', 'first date of a range (with --to)')
    .option('--to <date>', 'last date of a range, inclusive')
    .option('--format <format>', 'parquet or csv', 'parquet')
    .option('--data <dir>', 'archive root')
    .option('--feed <name>', 'feed', 'kalshi')
    .option('--stream <name>', STREAM_HELP)
    .option('--out <dir>', 'output root', 'export')
    .option('--type <type>', 'only these record types (repeatable, or comma-separated)', collect)
    .option('--ticker <ticker>', 'only this ticker')
    .option('--row-group <rows>', 'rows per parquet row group (and per CSV write)', String(DEFAULT_ROW_GROUP_ROWS))
    .option('--overwrite', 'replace the part files of the same format in the partitions that get rows (with --ticker: by that ticker\'s rows only)')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', `
Record types: ticker, trade, orderbook_snapshot, orderbook_delta, market_lifecycle_v2, other.
Prices in dollars, sizes in contracts, ts/received_at as UTC timestamps (ms); see docs/ARCHIVER.md.

  duckdb -c "SELECT ticker, count(*) FROM read_parquet('export/kalshi/*/type=trade/*.parquet', hive_partitioning = true) GROUP BY ALL"`)
    .action(async (o: {
      date?: string[]; from?: string; to?: string; format: string; data?: string; feed: string; stream?: string; out: string
      type?: string[]; ticker?: string; rowGroup: string; overwrite?: boolean; json?: boolean
    }, cmd: Command) => {
      const format = checkFormat(o.format)
      if ((o.from === undefined) !== (o.to === undefined)) throw new UsageError('--from and --to go together')
      const dates = [...(o.date ?? []), ...(o.from !== undefined && o.to !== undefined ? dateRange(o.from, o.to) : [])]
      if (dates.length === 0) throw new UsageError('give --date YYYY-MM-DD (repeatable) or --from and --to')
      const rowGroupRows = Number(o.rowGroup)
      if (!Number.isInteger(rowGroupRows) || rowGroupRows <= 0) throw new UsageError(`--row-group must be a positive integer (got ${o.rowGroup})`)
      const types = (o.type ?? []).map(checkType)
      const root = dataDirOf(cmd, o.data)
      const { files } = await streamFiles({ root, feed: o.feed, stream: o.stream, dates })
      const where = `${o.feed}${o.stream ? `/${o.stream}` : ''} ${[...new Set(files.map((f) => f.date))].join(', ')}`
      // a filter the dates cannot match exports nothing: said before anything is read
      await checkFilters(files, { ticker: o.ticker, types }, where)
      const s = await exportArchive({
        root, feed: o.feed, stream: o.stream, dates, out: o.out, format, types, ticker: o.ticker,
        rowGroupRows, overwrite: o.overwrite,
        onTruncated: warnTruncated('exported its complete lines'),
      })
      // no manifest to check against beforehand (older layouts), or filters that each match but not together
      if (s.rows === 0 && (o.ticker !== undefined || types.length > 0)) {
        throw new UsageError(`no record of ${where} matches ${filterText({ ticker: o.ticker, type: types.join(',') || undefined })}; nothing exported`)
      }
      // A filtered export could write beside the full parts instead (part-0000-<ticker>), but
      // every reader globs a partition's parts (`type=trade/*.parquet`): the ticker's rows would
      // be counted twice. It replaces the partition, as asked, and says so.
      if (o.ticker !== undefined && s.replaced.length > 0) {
        const n = s.replaced.length
        console.error(`warning: --overwrite with --ticker ${o.ticker} replaced ${n} partition${n === 1 ? '' : 's'} with that ticker's rows only (the other tickers' rows there are gone): ${s.replaced.join(', ')}`)
      }
      if (o.json) return void console.log(JSON.stringify(s, null, 2))
      printExportSummary(s)
    })
}

/** One line of `data list`: a stream's date. Records and uncompressed bytes from the manifest (null: not every file is in it). */
interface ListRow {
  feed: string
  stream: string | null
  date: string
  files: number
  records: number | null
  /** The gzip files' size on disk. */
  bytes_on_disk: number
  /** The lines' size before compression (the manifest's `bytes`). */
  bytes_uncompressed: number | null
  /** Only when the files' manifest entries count connector gap or reconnect control records (the capture was not continuous). */
  upstream_gaps?: number
  upstream_missing?: number
  reconnects?: number
  /** `.tmp` files of the date (not read by sample, replay or export). */
  open_files?: number
}

/** The upstream counts of the files' manifest entries, when they say the capture was not continuous. */
function upstreamOf(entries: readonly (ManifestFile | undefined)[]): Pick<ListRow, 'upstream_gaps' | 'upstream_missing' | 'reconnects'> {
  const u = upstreamTotals(entries.filter((e) => e !== undefined))
  return u.has_upstream_gaps ? { upstream_gaps: u.upstream_gaps, upstream_missing: u.upstream_missing, reconnects: u.reconnects } : {}
}

/** The filters of a command, as given: `--ticker X --type T`. */
function filterText(o: { ticker?: string; type?: string }): string {
  return [o.ticker !== undefined ? `--ticker ${o.ticker}` : '', o.type !== undefined ? `--type ${o.type}` : ''].filter((x) => x !== '').join(' ')
}

/** `n` bytes in decimal units for people: 812 B, 4.1 kB, 1.2 MB, 9.6 GB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB', 'PB']
  let v = n / 1000
  let u = 0
  while (v >= 999.95 && u < units.length - 1) {
    v /= 1000
    u++
  }
  return `${v.toFixed(1)} ${units[u]}`
}

/** Commander collector for repeatable, comma-separable options. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')]
}

function printExportSummary(s: ExportSummary): void {
  for (const f of s.files) console.log(`${f.path}\t${f.rows} rows\t${f.bytes} bytes`)
  console.log(`exported ${s.rows} rows of ${s.feed} ${s.dates.join(', ')} as ${s.format} into ${s.files.length} files under ${s.outDir}`)
  for (const [type, rows] of Object.entries(s.rowsByType)) console.log(`  ${type.padEnd(20)} ${String(rows).padStart(10)} rows`)
  console.log(`read ${s.archiveFiles} archive files, ${s.lines} lines (${s.malformed} malformed skipped, ${s.filtered} filtered out)`)
  for (const d of s.missingDates) console.error(`note: no ${s.feed} archive files for ${d}`)
}

const STREAM_HELP = 'only this stream (as data list shows them); needed when the date holds several'

/** `data replay --to nats`: records published between two round trips to the server. */
const REPLAY_FLUSH_EVERY = 50_000

/**
 * Lines for stdout, written in one write per flush; waits while stdout's buffer is full. A reader
 * that goes away (a closed pipe: `| head`) ends the output: `flush` then answers false.
 */
class StdoutLines {
  private readonly lines: string[] = []

  constructor() {
    watchStdout()
  }

  push(line: string): void {
    this.lines.push(line)
  }

  /** Writes the lines pushed so far; false once stdout is closed. */
  async flush(): Promise<boolean> {
    if (this.lines.length > 0 && !isStdoutClosed()) {
      const chunk = `${this.lines.join('\n')}\n`
      this.lines.length = 0
      if (!process.stdout.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            process.stdout.off('drain', done)
            process.stdout.off('error', done)
            resolve()
          }
          process.stdout.on('drain', done)
          process.stdout.on('error', done)
        })
      }
    }
    return !isStdoutClosed()
  }
}
