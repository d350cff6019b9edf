import { type Command, Option } from 'commander'
import { UsageError } from '../../pipeline/core/errors.ts'
import { resolveConfig } from '../../pipeline/config/index.ts'
import { openDb, requireMigrated } from '../../services/db/index.ts'
import { FEE_TYPES, kalshiFee, type FeeType } from '../../services/fees/index.ts'
import { feeScheduleAt, syncFees } from '../../services/fees/sync.ts'
import { globals } from '../program.ts'
import { openSource, withSourceOptions, type SourceFlags } from './secmaster.ts'

interface CalcOptions {
  price: string
  contracts: string
  maker?: boolean
  feeType: FeeType
  multiplier: string
  rounding: 'cent' | 'centicent'
  json?: boolean
}

export function registerFees(program: Command): void {
  const fees = program
    .command('fees')
    .description("Kalshi trading fees: the exchange's formula, per series fee type and multiplier")

  fees
    .command('calc')
    .description('fee of one fill: ceil(rate × C × P × (1 − P) × multiplier), rate 0.07 taker / 0.0175 maker')
    .requiredOption('--price <dollars>', 'contract price in dollars, e.g. 0.50')
    .requiredOption('--contracts <n>', 'number of contracts')
    .option('--maker', 'the fill rested on the book (maker); the default is taker')
    .addOption(new Option('--fee-type <type>', "the series' fee type").choices(FEE_TYPES).default('quadratic'))
    .option('--multiplier <m>', "the series' fee multiplier", '1')
    .addOption(
      new Option('--rounding <unit>', 'round up to the cent or the centicent').choices(['cent', 'centicent']).default('cent'),
    )
    .option('--json', 'print JSON')
    .action((o: CalcOptions) => {
      const side = o.maker ? 'maker' : 'taker'
      const { price, contracts, feeType, multiplier, rounding } = o
      const fee = kalshiFee({ price, contracts, side, feeType, multiplier, rounding })
      if (o.json) {
        const input = { price: Number(price), contracts: Number(contracts), side, feeType, multiplier: Number(multiplier) }
        console.log(JSON.stringify({ ...input, rounding, fee }))
      } else {
        const amount = fee.toFixed(rounding === 'centicent' ? 4 : 2)
        console.log(`$${amount} (${side}, ${feeType}, ${contracts} contracts @ $${price}, multiplier ${multiplier})`)
      }
    })

  withSourceOptions(fees.command('sync'))
    .description('GET /series/fee_changes?show_historical=true → non-overlapping periods; seed series without changes from 2020-01-01')
    .option('--json', 'print the result as JSON')
    .action(async (f: SourceFlags & { json?: boolean }, cmd: Command) => {
      const { rest, sql } = await openSource(f, cmd)
      try {
        const r = await syncFees(sql, rest)
        if (f.json) console.log(JSON.stringify(r))
        else console.log(`fees sync: ${r.fetched} changes fetched, ${r.inserted} new periods, ${r.skipped} already stored, ${r.seeded} series seeded, ${r.invalid} invalid`)
      } finally {
        await sql.end()
      }
    })

  fees
    .command('show')
    .description('the fee period of a series in force now (or at --at)')
    .argument('<series>', 'series ticker')
    .option('--at <iso>', 'a time, e.g. 2026-01-15T12:00:00Z (default: now)')
    .option('-e, --env <name|file>', 'environment', 'dev')
    .option('--database-url <url>', 'PostgreSQL URL; env DATABASE_URL')
    .option('--json', 'print JSON')
    .action(async (series: string, f: { at?: string; env: string; databaseUrl?: string; json?: boolean }, cmd: Command) => {
      const at = f.at === undefined ? new Date() : new Date(f.at)
      if (Number.isNaN(at.getTime())) throw new UsageError(`--at must be an ISO time (got ${f.at})`)
      const g = globals(cmd)
      const sql = await openDb(resolveConfig(f.env, { configDir: g.configDir, databaseUrl: f.databaseUrl }).databaseUrl)
      try {
        await requireMigrated(sql, 'fees show')
        const p = await feeScheduleAt(sql, series, at)
        if (!p) {
          console.error(`error: no fee period of series ${series} at ${at.toISOString()} (run ssmd fees sync)`)
          process.exitCode = 1
          return
        }
        const taker = kalshiFee({ price: 0.5, contracts: 100, side: 'taker', feeType: p.feeType, multiplier: p.feeMultiplier })
        if (f.json) return console.log(JSON.stringify({ ...p, at: at.toISOString(), takerFee100At050: taker }))
        const to = p.effectiveTo ? p.effectiveTo.toISOString() : 'open'
        console.log(`${p.seriesTicker}: ${p.feeType} × ${p.feeMultiplier} from ${p.effectiveFrom.toISOString()} to ${to} (source ${p.sourceId ?? '-'}); taker fee of 100 @ $0.50 = $${taker.toFixed(2)}`)
      } finally {
        await sql.end()
      }
    })
}
