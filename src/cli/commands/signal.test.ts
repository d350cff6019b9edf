import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simLines } from '../../pipeline/records/fixture-sim.test.ts'
import { archiveLines } from '../../pipeline/signals/fixture-signals.test.ts'
import { runInProcess as cli } from '../../../test/console.ts'

const root = mkdtempSync(join(tmpdir(), 'ssmd-signal-cli-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))


describe('ssmd signal / backtest / data', () => {
  test('signal new scaffolds a signal that loads, lists and backtests; data list and sample read the archive', async () => {
    const data = join(root, 'data')
    const lines = simLines({ seed: 3, count: 3000, format: 'dollars', markets: 4, sizeScale: 50 })
    await archiveLines(data, 'crypto', lines, lines.map((_, i) => i + 1))
    const sigs = join(root, 'signals')
    expect((await cli(['signal', 'new', 'my-sig', '--signals-dir', sigs])).code).toBe(0)
    const list = await cli(['signal', 'list', '--signals-dir', sigs, '--json'])
    expect(JSON.parse(list.out)).toEqual([{ id: 'my-sig', name: 'my-sig', requires: ['volumeProfile'] }])
    const out = join(root, 'out')
    const bt = await cli(['backtest', 'run', 'my-sig', '--signals-dir', sigs, '--data', data, '--dates', '2026-02-07', '--out', out, '--allow-dirty'])
    expect([bt.code, bt.out.includes('records  3000')]).toEqual([0, true])
    const [runDir] = readdirSync(out)
    expect(JSON.parse(readFileSync(join(out, runDir, 'result.json'), 'utf8')).data.records_processed).toBe(3000)
    const dl = await cli(['data', 'list', '--data', data, '--json'])
    expect(JSON.parse(dl.out)).toMatchObject([{ feed: 'kalshi', stream: 'crypto', date: '2026-02-07', files: 1, records: 3000 }])
    const sample = await cli(['data', 'sample', '--data', data, '--date', '2026-02-07', '--type', 'trade', '--limit', '3'])
    expect(sample.out.split('\n').map((l) => JSON.parse(l).type)).toEqual(['trade', 'trade', 'trade'])

    // no data where it was asked for is an error, not an empty result (it wrote a result.json of 0 records)
    const nowhere = join(root, 'nowhere')
    const none = await cli(['backtest', 'run', 'my-sig', '--signals-dir', sigs, '--data', nowhere, '--dates', '2026-02-07', '--out', out, '--allow-dirty'])
    expect([none.code, none.err.trim()]).toEqual([2, `error: no kalshi archive files for 2026-02-07 under ${nowhere}`])
    const some = await cli(['backtest', 'run', 'my-sig', '--signals-dir', sigs, '--data', data, '--dates', '2026-02-07,2026-02-08', '--out', out, '--allow-dirty'])
    expect([some.code, some.err.includes(`warning: no kalshi archive files for 2026-02-08 under ${data}`)]).toEqual([0, true])
    expect(readdirSync(out).length).toBe(2)
    const noDir = await cli(['data', 'list', '--data', nowhere])
    expect([noDir.code, noDir.err.trim()]).toEqual([2, `error: no data directory at ${nowhere} (pass --data, --data-dir or SSMD_DATA_DIR)`])
  })

  test('a broken signal is a usage error naming the file and line; unknown signals list the known ones', async () => {
    const missing = await cli(['backtest', 'run', 'nope', '--signals-dir', 'signals', '--dates', '2026-02-07'])
    expect([missing.code, missing.err.includes('volume-1m-30min')]).toEqual([2, true])
  })
})
