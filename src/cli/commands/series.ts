import type { Command } from 'commander'
import { logger } from '../../pipeline/core/log.ts'
import { syncSeries } from '../../services/secmaster/index.ts'
import { openSource, withSourceOptions, type SourceFlags } from './secmaster.ts'

export function registerSeries(program: Command): void {
  const series = program.command('series').description('Kalshi series in PostgreSQL')
  withSourceOptions(series.command('sync'))
    .description('GET /series (per --category, or all) → series table; is_game from GAME/MATCH in the ticker')
    .option('--category <name...>', 'only these categories')
    .option('--dry-run', 'fetch and count, write nothing')
    .option('--json', 'print the result as JSON')
    .action(async (f: SourceFlags & { category?: string[]; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const { rest, sql } = await openSource(f, cmd)
      try {
        const r = await syncSeries(sql, rest, { categories: f.category, dryRun: f.dryRun })
        logger().child({ role: 'series' }).debug(r, 'series sync done')
        if (f.json) console.log(JSON.stringify(r))
        else console.log(`${f.dryRun ? '[dry run] ' : ''}series sync: ${r.series} series (${r.games} games, ${r.changed} changed): ${Object.entries(r.byCategory).map(([c, n]) => `${c || '(none)'} ${n}`).join(', ')}`)
      } finally {
        await sql.end()
      }
    })
}
