import { afterAll, describe, expect, test } from 'bun:test'
import { needService } from '../../../test/services.ts'
import { createTestDatabase, EMBEDDED_MIGRATIONS } from '../../services/db/index.ts'
import { startSim } from '../../services/sim/index.ts'
import { run } from '../program.ts'
import { captureConsole } from '../../../test/console.ts'
import { runCli } from '../../../test/subprocess.ts'

const pg = await needService('postgres')
const NOW = Date.parse('2026-03-02T12:07:00Z')
const sim = startSim({ seed: 11, markets: 150, restRateLimit: 0, clock: () => NOW, lifecycleTickMs: 3_600_000 })
afterAll(() => sim.stop())

const { out, err } = captureConsole()

async function ssmd(...argv: string[]): Promise<{ code: number; out: string[] }> {
  out.length = 0
  process.exitCode = 0
  const code = await run(argv)
  process.exitCode = 0
  return { code, out }
}

describe.skipIf(!pg.ok)(`ssmd secmaster / series / fees (${pg.reason})`, () => {
  test('series sync, secmaster sync with PROGRESS lines, list and show, fees sync and show', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const src = ['--rest-url', sim.restUrl, '--database-url', db.url, '--rate', '1000']
    const series = await ssmd('series', 'sync', ...src, '--json')
    expect([series.code, JSON.parse(series.out[0]).series]).toEqual([0, sim.universe.series.length])

    const sync = await ssmd('secmaster', 'sync', ...src)
    expect(sync.code).toBe(0)
    expect(sync.out).toContain(`PROGRESS:complete:events=${sim.universe.events.length},markets=150,errors=0`)
    expect(sync.out.some((l) => l.startsWith('PROGRESS:markets:markets:page=1,'))).toBe(true)
    expect(sync.out.at(-1)).toStartWith(`full sync: ${sim.universe.events.length} events, 150 markets`)

    const bySeries = await ssmd('secmaster', 'sync', ...src, '--by-series', '--category', sim.universe.series[0].category)
    expect(bySeries.out.filter((l) => l.startsWith('PROGRESS:series:1/'))).toHaveLength(1)

    const list = await ssmd('secmaster', 'list', '--database-url', db.url, '--status', 'active', '--limit', '5', '--json')
    const rows = JSON.parse(list.out[0])
    expect(rows.length).toBe(Math.min(5, sim.universe.markets.filter((m) => m.status === 'active').length))
    const table = await ssmd('secmaster', 'list', '--database-url', db.url, '--limit', '3')
    expect([table.out[0].split('\n')[0].split(/\s+/), table.out[0].split('\n').length]).toEqual([['TICKER', 'STATUS', 'CLOSE', 'BID', 'ASK', 'VOLUME', 'CATEGORY'], 4])
    const show = await ssmd('secmaster', 'show', rows[0].ticker, '--database-url', db.url, '--json')
    expect(JSON.parse(show.out[0]).ticker).toBe(rows[0].ticker)
    expect((await ssmd('secmaster', 'show', 'NOPE', '--database-url', db.url)).code).toBe(1)

    expect((await ssmd('fees', 'sync', ...src)).out[0]).toMatch(/^fees sync: \d+ changes fetched, \d+ new periods/)
    const s0 = sim.universe.series[1]
    const fee = await ssmd('fees', 'show', s0.ticker, '--database-url', db.url, '--at', new Date(NOW).toISOString(), '--json')
    expect(JSON.parse(fee.out[0])).toMatchObject({ seriesTicker: s0.ticker, feeType: s0.feeType, sourceId: `seed:${s0.ticker}` })
  })

  test('secmaster sync --json: stdout holds the JSON object only (`| jq`), PROGRESS lines and logs go to stderr', async () => {
    await using db = await createTestDatabase(pg.url, { migrated: true })
    const sync = await runCli(['secmaster', 'sync', '--rest-url', sim.restUrl, '--database-url', db.url, '--rate', '1000', '--json'], { SSMD_LOG_LEVEL: 'info' })
    expect(sync.code).toBe(0)
    expect(sync.out).toHaveLength(1)
    expect(JSON.parse(sync.out[0])).toMatchObject({ mode: 'full', markets: 150 })
    expect(sync.err).toContain(`PROGRESS:complete:events=${sim.universe.events.length},markets=150,errors=0`)
    expect(sync.err.some((l) => l.includes('secmaster sync (full) done'))).toBe(true)
  })

  test('on a database not migrated, secmaster list / show and fees show exit 2 naming ssmd db migrate (was PostgresError: relation "markets" does not exist, with a trace)', async () => {
    await using db = await createTestDatabase(pg.url)
    const got: [number, string][] = []
    for (const argv of [['secmaster', 'list'], ['secmaster', 'show', 'KXA'], ['fees', 'show', 'KXBTC']]) {
      err.length = 0
      const r = await ssmd(...argv, '--database-url', db.url)
      got.push([r.code, err.join('\n')])
    }
    const notMigrated = (what: string) => `error: ${what}: database "${db.name}" has no ssmd schema (none of the ${EMBEDDED_MIGRATIONS.length} migrations applied); run \`ssmd db migrate\` with the same --env / --database-url first`
    expect(got).toEqual([[2, notMigrated('secmaster list')], [2, notMigrated('secmaster show')], [2, notMigrated('fees show')]])
  })

  test('an unreachable database fails with DB_UNREACHABLE naming host and port (exit 1); bad flags exit 2', async () => {
    const server = Bun.serve({ port: 0, fetch: () => new Response('') })
    const port = server.port
    await server.stop(true)
    const r = await ssmd('secmaster', 'sync', '--rest-url', sim.restUrl, '--database-url', `postgres://postgres@127.0.0.1:${port}/x`)
    expect(r.code).toBe(1)
    expect(err.join('\n')).toContain(`error [DB_UNREACHABLE]: cannot reach PostgreSQL at 127.0.0.1:${port}`)
    expect((await ssmd('secmaster', 'sync', '--active-only', '--by-series')).code).toBe(2)
    expect((await ssmd('secmaster', 'list', '--limit', '0')).code).toBe(2)
  })
})
