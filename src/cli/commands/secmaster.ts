import { type Command, Option } from 'commander'
import cliProgress from 'cli-progress'
import { resolveConfig } from '../../pipeline/config/index.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import { logger } from '../../pipeline/core/log.ts'
import { openDb, requireMigrated, type Sql } from '../../services/db/index.ts'
import { KalshiRest } from '../../pipeline/kalshi-rest/index.ts'
import { MARKET_STATUSES, listMarkets, showMarket, syncSecmaster, type SyncProgress } from '../../services/secmaster/index.ts'
import { globals } from '../program.ts'

/** Flags every REST + database command shares (secmaster, series, fees sync). */
export interface SourceFlags {
  env: string
  restUrl?: string
  databaseUrl?: string
  rate?: string
}

export function withSourceOptions(cmd: Command): Command {
  return cmd
    .option('-e, --env <name|file>', 'environment (exchanges/environments/<name>.yaml)', 'dev')
    .option('--rest-url <url>', 'Kalshi REST base URL (…/trade-api/v2); env KALSHI_REST_URL')
    .option('--database-url <url>', 'PostgreSQL URL; env DATABASE_URL')
    .option('--rate <n>', "REST requests per second (default: the feed's rate_limit_per_second)")
}

/** The REST client and database of an environment; the caller ends the pool. */
export async function openSource(f: SourceFlags, cmd: Command): Promise<{ rest: KalshiRest; sql: Sql }> {
  const g = globals(cmd)
  const config = resolveConfig(f.env, { configDir: g.configDir, dataDir: g.dataDir, restUrl: f.restUrl, databaseUrl: f.databaseUrl })
  const rate = f.rate === undefined ? config.feedVersion.rate_limit_per_second : Number(f.rate)
  if (!(rate > 0)) throw new UsageError(`--rate must be a positive number (got ${f.rate})`)
  if (!config.exchange.restUrl) throw new UsageError(`environment ${config.name} has no REST URL: pass --rest-url or set KALSHI_REST_URL`)
  const rest = new KalshiRest({ baseUrl: config.exchange.restUrl, ratePerSecond: rate, logger: logger().child({ role: 'kalshi-rest' }) })
  const sql = await openDb(config.databaseUrl)
  return { rest, sql }
}

interface SyncFlags extends SourceFlags {
  activeOnly?: boolean
  bySeries?: boolean
  category?: string[]
  minCloseDaysAgo?: string
  delete: boolean
  dryRun?: boolean
  json?: boolean
}

interface ListFlags extends Omit<SourceFlags, 'restUrl' | 'rate'> {
  category?: string
  status?: string
  series?: string
  limit: string
  json?: boolean
}

export function registerSecmaster(program: Command): void {
  const sm = program.command('secmaster').description('the security master: Kalshi events and markets in PostgreSQL')

  withSourceOptions(sm.command('sync'))
    .description('sync events and markets from Kalshi REST: full (default, then soft-delete unseen), --active-only, or --by-series')
    .option('--active-only', 'incremental: open events and four market passes from the stored anchors; no soft delete')
    .option('--by-series', 'per local series (ssmd series sync first) and status: events with nested markets')
    .option('--category <name...>', 'by series: only these categories')
    .option('--min-close-days-ago <n>', 'by series: only events closing at most N days ago')
    .option('--no-delete', 'full sync: do not soft-delete rows Kalshi no longer returns')
    .option('--dry-run', 'fetch and count, write nothing')
    .option('--json', 'print the result as JSON')
    .action(async (f: SyncFlags, cmd: Command) => {
      if (f.activeOnly && f.bySeries) throw new UsageError('--active-only and --by-series are different modes: pick one')
      if ((f.category || f.minCloseDaysAgo) && !f.bySeries) throw new UsageError('--category and --min-close-days-ago go with --by-series')
      const minCloseDaysAgo = f.minCloseDaysAgo === undefined ? undefined : Number(f.minCloseDaysAgo)
      if (minCloseDaysAgo !== undefined && !(minCloseDaysAgo >= 0)) throw new UsageError(`--min-close-days-ago must be a number ≥ 0 (got ${f.minCloseDaysAgo})`)
      const { rest, sql } = await openSource(f, cmd)
      // with --json, stdout holds the JSON object only (`| jq`): PROGRESS lines and logs go to stderr
      const reporter = progressReporter(process.stderr.isTTY === true, f.json ? console.error : console.log)
      const log = logger() // on stderr with --json (program.ts)
      try {
        const r = await syncSecmaster(sql, rest, {
          mode: f.activeOnly ? 'incremental' : f.bySeries ? 'by-series' : 'full',
          dryRun: f.dryRun, noDelete: !f.delete, categories: f.category, minCloseDaysAgo,
          onProgress: reporter.update, logger: log.child({ role: 'secmaster' }),
        })
        reporter.stop()
        if (f.json) console.log(JSON.stringify(r))
        else {
          const deleted = r.deleted ? `, soft-deleted ${r.deleted.events} events / ${r.deleted.markets} markets` : ''
          console.log(`${r.dryRun ? '[dry run] ' : ''}${r.mode} sync: ${r.events} events, ${r.markets} markets (${r.changedMarkets} markets changed) in ${r.pages} pages${deleted}`)
          if (r.orphans) console.log(`${r.orphans} market(s) skipped, their event is missing: ${r.orphanTickers.join(', ')}`)
        }
        if (r.errors) process.exitCode = 1
      } finally {
        reporter.stop()
        await sql.end()
      }
    })

  sm.command('list')
    .description('live markets (not deleted), soonest close first')
    .option('-e, --env <name|file>', 'environment', 'dev')
    .option('--database-url <url>', 'PostgreSQL URL; env DATABASE_URL')
    .option('--category <name>', 'event category')
    .addOption(new Option('--status <status>', 'market status').choices(MARKET_STATUSES))
    .option('--series <ticker>', 'series ticker')
    .option('--limit <n>', 'rows', '50')
    .option('--json', 'print JSON')
    .action(async (f: ListFlags, cmd: Command) => {
      const limit = Number(f.limit)
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be an integer ≥ 1 (got ${f.limit})`)
      await withDb(f, cmd, 'secmaster list', async (sql) => {
        const rows = await listMarkets(sql, { category: f.category, status: f.status, series: f.series, limit })
        if (f.json) return console.log(JSON.stringify(rows))
        console.log(table(rows.map((r) => ({
          ticker: r.ticker, status: r.status, close: r.close_time?.toISOString().slice(0, 16) ?? '', bid: r.yes_bid ?? '', ask: r.yes_ask ?? '', volume: r.volume, category: r.category,
        }))))
      })
    })

  sm.command('show')
    .description('every field of one market and its event')
    .argument('<ticker>', 'market ticker')
    .option('-e, --env <name|file>', 'environment', 'dev')
    .option('--database-url <url>', 'PostgreSQL URL; env DATABASE_URL')
    .option('--json', 'print JSON')
    .action(async (ticker: string, f: ListFlags, cmd: Command) => {
      await withDb(f, cmd, 'secmaster show', async (sql) => {
        const m = await showMarket(sql, ticker)
        if (!m) {
          console.error(`error: no market ${ticker} in the security master`)
          process.exitCode = 1
          return
        }
        if (f.json) return console.log(JSON.stringify(m))
        const w = Math.max(...Object.keys(m).map((k) => k.length))
        for (const [k, v] of Object.entries(m)) console.log(`${k.padEnd(w)}  ${v instanceof Date ? v.toISOString() : v ?? ''}`)
      })
    })
}

/** Runs `fn` on the environment's database, once it is migrated (DB_NOT_MIGRATED naming `ssmd db migrate` otherwise). */
async function withDb(f: { env: string; databaseUrl?: string }, cmd: Command, what: string, fn: (sql: Sql) => Promise<void>): Promise<void> {
  const g = globals(cmd)
  const config = resolveConfig(f.env, { configDir: g.configDir, dataDir: g.dataDir, databaseUrl: f.databaseUrl })
  const sql = await openDb(config.databaseUrl)
  try {
    await requireMigrated(sql, what)
    await fn(sql)
  } finally {
    await sql.end()
  }
}

/** A plain text table: a header, then one line per row, columns padded. */
export function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)'
  const cols = Object.keys(rows[0])
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '')))
  const w = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)))
  const line = (v: string[]) => v.map((x, i) => x.padEnd(w[i])).join('  ').trimEnd()
  return [line(cols.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')
}

/** A progress bar on a TTY (stderr); `PROGRESS:…` lines through `print` otherwise (stdout by default, parsed by schedulers). */
export function progressReporter(tty = process.stderr.isTTY === true, print: (line: string) => void = console.log): { update: (p: SyncProgress) => void; stop: () => void } {
  if (!tty) {
    return {
      update(p) {
        if (p.phase === 'series') print(`PROGRESS:series:${p.page}/${p.total}:${p.label}`)
        else if (p.phase === 'error') print(`PROGRESS:error:${p.label}`)
        else if (p.phase === 'complete') print(`PROGRESS:complete:events=${p.events},markets=${p.markets},errors=${p.errors}`)
        else print(`PROGRESS:${p.phase}:${p.label}:page=${p.page},events=${p.events},markets=${p.markets}`)
      },
      stop() {},
    }
  }
  const bar = new cliProgress.SingleBar({ format: '{label} [{bar}] {value}/{total} | events {events} | markets {markets}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
  let started = false
  return {
    update(p) {
      const total = p.total || Math.max(p.page, 1)
      const payload = { label: p.label.padEnd(16).slice(0, 24), events: p.events, markets: p.markets }
      if (!started) {
        bar.start(total, p.page, payload)
        started = true
      } else {
        bar.setTotal(total)
        bar.update(p.page, payload)
      }
    },
    stop() {
      if (started) bar.stop()
      started = false
    },
  }
}
