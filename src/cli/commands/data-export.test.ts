import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAY1, DAY2, archiveRecords, openDuck, writeExportArchive, type Duck } from '../../pipeline/export/export.fixture.ts'
import type { MarketRecord } from '../../pipeline/records/index.ts'
import { runInProcess as cli } from '../../../test/console.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const MAIN = join(import.meta.dir, '..', 'main.ts')
const root = mkdtempSync(join(tmpdir(), 'ssmd-export-cli-'))
const data = join(root, 'data')
let duck: Duck
let day1: MarketRecord[]

beforeAll(async () => {
  await writeExportArchive(data)
  day1 = await archiveRecords(data, DAY1)
  duck = await openDuck()
})
afterAll(() => {
  duck?.close()
  rmSync(root, { recursive: true, force: true })
})


function spawn(args: string[]): { code: number; out: string; err: string } {
  const p = Bun.spawnSync(['bun', MAIN, 'data', 'export', ...args], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, SSMD_LOG_PRETTY: '0' } })
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() }
}

const trades = (rs: readonly MarketRecord[]) => rs.filter((r) => r.type === 'trade').length

describe('ssmd data export', () => {
  test('a subprocess exports a date as parquet that DuckDB reads, and prints a summary', async () => {
    const out = join(root, 'sub')
    const r = spawn(['--data', data, '--date', DAY1, '--out', out])
    expect([r.code, r.err]).toEqual([0, ''])
    expect(r.out).toContain(`exported ${day1.length} rows of kalshi ${DAY1} as parquet into 6 files under ${join(out, 'kalshi')}`)
    expect(r.out).toContain(`${join(out, 'kalshi', `date=${DAY1}`, 'type=trade', 'part-0000.parquet')}\t${trades(day1)} rows`)
    expect(r.out).toMatch(/^ {2}trade +\d+ rows$/m)
    expect(r.out).toContain('1 malformed skipped')
    const n = await duck.rows(`SELECT count(*) AS n FROM read_parquet('${out}/kalshi/*/type=trade/*.parquet', hive_partitioning = true) WHERE date = DATE '${DAY1}'`)
    expect(n).toEqual([{ n: trades(day1) }])
  }, 30_000)

  test('csv, a date range with comma-separated types, a ticker, --json and the global --data-dir', async () => {
    const out = join(root, 'csv')
    const ticker = day1.find((r) => r.type === 'orderbook_delta')!.ticker
    const r = await cli(['--data-dir', data, 'data', 'export', '--from', DAY1, '--to', DAY2, '--format', 'csv', '--type', 'trade,orderbook_delta',
      '--ticker', ticker, '--out', out, '--json'])
    expect(r.code).toBe(0)
    const s = JSON.parse(r.out)
    const day2 = await archiveRecords(data, DAY2)
    const want = [...day1, ...day2].filter((x) => (x.type === 'trade' || x.type === 'orderbook_delta') && x.ticker === ticker)
    expect([s.dates, s.rows, s.format]).toEqual([[DAY1, DAY2], want.length, 'csv'])
    const rows = await duck.rows(`SELECT type, count(*) AS n FROM read_csv('${out}/kalshi/**/*.csv', hive_partitioning = true, union_by_name = true, types = {'side': 'VARCHAR', 'taker_side': 'VARCHAR'}) GROUP BY ALL ORDER BY type`)
    expect(rows).toEqual(['orderbook_delta', 'trade'].map((type) => ({ type, n: want.filter((x) => x.type === type).length })).filter((x) => x.n > 0))
    const again = await cli(['--data-dir', data, 'data', 'export', '--date', DAY1, '--format', 'csv', '--type', 'trade', '--out', out])
    expect([again.code, again.err]).toEqual([2, expect.stringContaining('pass --overwrite to replace them')])
    expect((await cli(['--data-dir', data, 'data', 'export', '--date', DAY1, '--format', 'csv', '--type', 'trade', '--out', out, '--overwrite'])).code).toBe(0)
  })

  test('--overwrite with --ticker warns on stderr which partitions now hold only that ticker; no rows replace nothing', async () => {
    const out = join(root, 'filtered')
    expect((await cli(['data', 'export', '--data', data, '--date', DAY1, '--type', 'trade,market_lifecycle_v2', '--out', out])).code).toBe(0)
    const part = (t: string) => join(out, 'kalshi', `date=${DAY1}`, `type=${t}`, 'part-0000.parquet')
    const none = await cli(['data', 'export', '--data', data, '--date', DAY1, '--ticker', 'NOPE', '--overwrite', '--out', out])
    expect([none.code, none.err, existsSync(part('trade')), existsSync(part('market_lifecycle_v2'))]).toEqual([2, expect.stringContaining('--ticker NOPE is not a ticker of kalshi'), true, true])
    // a market with trades but no lifecycle frames: its trades replace the trade partition, the lifecycle one stays
    const lifecycle = new Set(day1.filter((r) => r.type === 'market_lifecycle_v2').map((r) => r.ticker))
    const ticker = day1.find((r) => r.type === 'trade' && !lifecycle.has(r.ticker))!.ticker
    const r = await cli(['data', 'export', '--data', data, '--date', DAY1, '--type', 'trade,market_lifecycle_v2', '--ticker', ticker, '--overwrite', '--out', out])
    expect(r.code).toBe(0)
    expect(r.err).toBe(`warning: --overwrite with --ticker ${ticker} replaced 1 partition with that ticker's rows only (the other tickers' rows there are gone): ${join(out, 'kalshi', `date=${DAY1}`, 'type=trade')}`)
    expect(existsSync(part('market_lifecycle_v2'))).toBe(true)
  })

  test('a --ticker or --type that matches nothing for the date is a usage error (exit 2), and writes nothing (finding 10: was "exported 0 rows", exit 0)', async () => {
    const out = join(root, 'nothing')
    const ticker = await cli(['data', 'export', '--data', data, '--date', DAY1, '--ticker', 'NOPE', '--out', out])
    expect([ticker.code, ticker.out, ticker.err]).toEqual([2, '', expect.stringMatching(new RegExp(`^error: --ticker NOPE is not a ticker of kalshi ${DAY1} \\(its manifests list \\d+(:|, e\\.g\\.) `))])
    // a ticker and a type the date each has, never together: found out by reading
    const tickers = [...new Set(day1.map((r) => r.ticker).filter((t) => t !== ''))]
    const types = [...new Set(day1.map((r) => r.type))].filter((t) => t !== 'other')
    const [t, ty] = tickers.flatMap((t) => types.map((ty) => [t, ty])).find(([t, ty]) => !day1.some((r) => r.ticker === t && r.type === ty))!
    const both = await cli(['data', 'export', '--data', data, '--date', DAY1, '--ticker', t, '--type', ty, '--out', out])
    expect([both.code, both.err]).toEqual([2, `error: no record of kalshi ${DAY1} matches --ticker ${t} --type ${ty}; nothing exported`])
    expect(existsSync(out)).toBe(false)
  })

  test('bad input exits 2 with a message and writes nothing (subprocess: no date, unknown format)', () => {
    const out = join(root, 'bad')
    const noDate = spawn(['--data', data, '--out', out])
    expect([noDate.code, noDate.err.trim()]).toEqual([2, 'error: give --date YYYY-MM-DD (repeatable) or --from and --to'])
    const badFormat = spawn(['--data', data, '--date', DAY1, '--format', 'xlsx', '--out', out])
    expect([badFormat.code, badFormat.err.trim()]).toEqual([2, 'error: --format must be parquet or csv (got "xlsx")'])
    expect(existsSync(out)).toBe(false)
  }, 30_000)

  test('other bad options and a date without files exit 2 with a message', async () => {
    const out = join(root, 'bad-too')
    const cases: [string[], string][] = [
      [['--date', '2026-13-01'], '--date must be a date YYYY-MM-DD'],
      [['--date', '2026-03-01'], `no kalshi archive files for 2026-03-01 under ${data}`],
      [['--date', DAY1, '--type', 'trades'], '--type must be one of ticker, trade,'],
      [['--from', DAY1], '--from and --to go together'],
      [['--from', DAY2, '--to', DAY1], `--from ${DAY2} is after --to ${DAY1}`],
      [['--date', DAY1, '--row-group', '0'], '--row-group must be a positive integer'],
    ]
    for (const [args, message] of cases) {
      const r = await cli(['data', 'export', '--data', data, '--out', out, ...args])
      expect([args.join(' '), r.code, r.err]).toEqual([args.join(' '), 2, expect.stringContaining(message)])
    }
    expect(existsSync(out)).toBe(false)
  })
})
