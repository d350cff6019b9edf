/** `ssmd backtest run <signal>`: a signal over archive files, summary + persisted result JSON. */
import type { Command } from 'commander'
import { SingleBar, Presets } from 'cli-progress'
import { UsageError } from '../../pipeline/core/errors.ts'
import { formatFire, gitInfo, loadSignal, runBacktest, signalDir, writeBacktest } from '../../pipeline/signals/index.ts'
import { archiveFilesFor, rangeDates, signalDates, warnMalformed, warnTruncated } from './archive-input.ts'
import { dataDirOf, signalsDirOf } from './signal.ts'

interface RunFlags {
  from?: string
  to?: string
  dates?: string
  data?: string
  feed?: string
  stream?: string
  out: string
  signalsDir?: string
  allowDirty?: boolean
  json?: boolean
}

export function registerBacktest(program: Command): void {
  const backtest = program.command('backtest').description('signal backtests over archive files')
  backtest
    .command('run <signal>')
    .description('replay archive dates through a signal; prints a summary and writes <out>/<run id>/result.json')
    .option('--from <date>', 'first date (YYYY-MM-DD)')
    .option('--to <date>', 'last date (inclusive; default --from)')
    .option('--dates <list>', 'comma-separated dates')
    .option('--data <dir>', 'archive root (default --data-dir, SSMD_DATA_DIR or ./data)')
    .option('--feed <name>', 'feed (default backtest.yaml feed, then kalshi)')
    .option('--stream <name>', 'only this stream directory')
    .option('--out <dir>', 'where results are written', 'backtests')
    .option('--signals-dir <dir>', 'signals directory')
    .option('--allow-dirty', 'run even if the signal has uncommitted changes')
    .option('--json', 'print the result JSON instead of the summary')
    .action(async (id: string, o: RunFlags, cmd: Command) => {
      const s = await loadSignal(signalDir(signalsDirOf(o.signalsDir), id))
      const git = gitInfo(s.dir)
      if (git.dirty && !o.allowDirty) throw new UsageError(`${s.dir} has uncommitted changes: commit them or pass --allow-dirty`)
      const range = rangeDates(o.from, o.to)
      const given = o.dates !== undefined ? o.dates.split(',').map((d) => d.trim()).filter(Boolean) : range
      const dates = signalDates(s, given, o.dates !== undefined ? '--dates' : '--from', 'pass --dates, --from/--to, or set dates in backtest.yaml')
      const feed = o.feed ?? s.manifest?.feed ?? 'kalshi'
      const root = o.data ?? dataDirOf(cmd)
      const stream = o.stream ?? s.manifest?.stream
      await archiveFilesFor({ root, feed, stream, dates })
      const tty = process.stderr.isTTY === true && !o.json
      const bar = tty ? new SingleBar({ format: 'backtest {bar} {value}/{total} files | {records} records', stream: process.stderr }, Presets.shades_classic) : null
      let started = false
      let lineAt = 0
      let lastFiles = -1
      const r = await runBacktest({
        signal: s, root, feed, stream, dates, git,
        tickers: s.manifest?.tickers, sampleLimit: s.manifest?.sample_limit,
        onTruncated: warnTruncated('backtested its complete lines'),
        onProgress: (p) => {
          if (bar) {
            if (!started) bar.start(p.totalFiles, 0, { records: 0 })
            started = true
            bar.update(p.files, { records: p.records })
          } else if (!o.json && (p.files !== lastFiles || performance.now() - lineAt >= 5_000)) {
            // a line per file, and every 5 s within one (a log, not a terminal)
            lastFiles = p.files
            lineAt = performance.now()
            console.error(`progress: ${p.files}/${p.totalFiles} files, ${p.records} records`)
          }
        },
      })
      bar?.stop()
      warnMalformed(r.result.data.malformed_lines)
      const dir = writeBacktest(o.out, r)
      if (o.json) {
        console.log(JSON.stringify(r.result, null, 2))
        return
      }
      const { result, timings } = r
      console.log(`signal   ${s.id} @ ${git.sha}${git.dirty ? ' (dirty)' : ''}  requires ${s.requires.join(', ')}`)
      console.log(`data     ${feed} ${dates.join(',')}  ${result.data.files.length} files  fingerprint ${result.data.data_fingerprint.slice(0, 12)}`)
      console.log(`records  ${result.data.records_processed}  tickers ${result.data.tickers_seen}  (${timings.duration_ms} ms, ${timings.records_per_s} records/s)`)
      console.log(`fires    ${result.results.fire_count}  errors ${result.results.errors}`)
      for (const e of result.results.first_errors.slice(0, 5)) console.log(`  error  ${e}`)
      for (const f of result.results.fires.slice(0, 10)) console.log(`  ${formatFire({ ...f, signalId: s.id })}`)
      if (result.results.fire_count > 10) console.log(`  ... and ${result.results.fire_count - 10} more`)
      console.log(`result   ${dir}/result.json`)
    })
}
