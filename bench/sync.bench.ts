/**
 * Secmaster sync throughput: markets/s upserted from the simulator's REST API (20,000 markets),
 * and the upsert alone against a bare multi-row INSERT of the same rows (no ON CONFLICT, same
 * batch size) into an empty table, measured alternately in the same run; medians of 3 trials.
 * Needs PostgreSQL (DATABASE_URL or postgres://postgres@127.0.0.1:5432/test).
 * Run: `bun bench/sync.bench.ts`.
 */
import { LOCAL_SERVICES } from '../src/pipeline/core/services.ts'
import { createTestDatabase } from '../src/services/db/index.ts'
import { KalshiRest, type RestEvent, type RestMarket } from '../src/pipeline/kalshi-rest/index.ts'
import { MARKET_COLUMNS, batchSize, eventRow, marketRow, syncSecmaster, upsertEvents, upsertMarkets } from '../src/services/secmaster/index.ts'
import { startSim } from '../src/services/sim/index.ts'
import { report } from './runner.ts'

const MARKETS = Number(process.env.SSMD_BENCH_MARKETS ?? 20_000)
const TRIALS = 3
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const sim = startSim({ seed: 1, markets: MARKETS, restRateLimit: 0, lifecycleTickMs: 3_600_000 })
const rest = new KalshiRest({ baseUrl: sim.restUrl, ratePerSecond: 100_000 })
const events: RestEvent[] = []
const markets: RestMarket[] = []
for await (const p of rest.pages<RestEvent>('/events', 'events', { limit: 200 })) events.push(...p.items)
for await (const p of rest.pages<RestMarket>('/markets', 'markets', { limit: 1000 })) markets.push(...p.items)
const eventRows = events.map((e) => eventRow(e))
const marketRows = markets.map((m) => marketRow(m))

async function fresh() {
  const db = await createTestDatabase(LOCAL_SERVICES.postgres, { migrated: true, prefix: 'ssmd_bench_' })
  await upsertEvents(db.sql, eventRows)
  return db
}

const full: number[] = []
const upsert: number[] = []
const bare: number[] = []
const unchanged: number[] = []
for (let t = 0; t < TRIALS; t++) {
  {
    const db = await createTestDatabase(LOCAL_SERVICES.postgres, { migrated: true, prefix: 'ssmd_bench_' })
    const t0 = performance.now()
    const r = await syncSecmaster(db.sql, new KalshiRest({ baseUrl: sim.restUrl, ratePerSecond: 100_000 }), { noDelete: true })
    full.push(r.markets / ((performance.now() - t0) / 1000))
    await db.drop()
  }
  {
    const db = await fresh()
    const size = batchSize(MARKET_COLUMNS.length)
    const t0 = performance.now()
    for (let i = 0; i < marketRows.length; i += size) {
      await db.sql`insert into markets ${db.sql(marketRows.slice(i, i + size) as unknown as Record<string, string>[], MARKET_COLUMNS as unknown as string[])}`
    }
    bare.push(marketRows.length / ((performance.now() - t0) / 1000))
    await db.drop()
  }
  {
    const db = await fresh()
    let t0 = performance.now()
    await upsertMarkets(db.sql, marketRows)
    upsert.push(marketRows.length / ((performance.now() - t0) / 1000))
    t0 = performance.now()
    await upsertMarkets(db.sql, marketRows)
    unchanged.push(marketRows.length / ((performance.now() - t0) / 1000))
    await db.drop()
  }
}
await sim.stop()

const baseline = median(bare)
const name = `bare multi-row INSERT (no ON CONFLICT), ${MARKETS.toLocaleString('en-US')} markets`
report(`full sync from the simulator (REST + map + upsert), ${MARKETS} markets`, median(full), 'markets/s', { baseline, baselineName: name })
report(`upsertMarkets into an empty table, ${MARKETS} markets`, median(upsert), 'markets/s', { baseline, baselineName: name, target: '>=0.7' })
report(`upsertMarkets of unchanged rows (re-sync, nothing written)`, median(unchanged), 'markets/s', { baseline, baselineName: name })
process.exit(0)
