import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { listArchiveFiles, readManifest } from '../../pipeline/archive/index.ts'
import { simLines } from '../../pipeline/records/fixture-sim.test.ts'
import { archiveLines, writeVolumeSignal } from '../../pipeline/signals/fixture-signals.test.ts'
import { runInProcess as cli } from '../../../test/console.ts'
import { runCli } from '../../../test/subprocess.ts'
import { formatBytes } from './data.ts'

const root = mkdtempSync(join(tmpdir(), 'ssmd-signal-cli-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))


describe('ssmd signal / backtest / data', () => {
  test('signal new scaffolds a signal that loads, lists and backtests; data list and sample read the archive', async () => {
    const data = join(root, 'data')
    const lines = simLines({ seed: 3, count: 3000, format: 'dollars', markets: 4, sizeScale: 50 })
    await archiveLines(data, 'crypto', lines, lines.map((_, i) => i + 1))
    const sigs = join(root, 'signals')
    const created = await cli(['signal', 'new', 'my-sig', '--signals-dir', sigs])
    // the hint runs it as created: from that directory (it said `ssmd backtest run my-sig`, which looked in ./signals)
    expect([created.code, created.out]).toEqual([0, `created ${sigs}/my-sig/signal.ts and backtest.yaml (run: ssmd backtest run my-sig --signals-dir ${sigs})`])
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

  test('data list says which size is which: on disk (gzip) and uncompressed (the manifest\'s bytes), in text and in JSON', async () => {
    const data = join(root, 'list-data')
    const lines = simLines({ seed: 5, count: 2000, format: 'dollars', markets: 3, sizeScale: 50 })
    await archiveLines(data, 'crypto', lines, lines.map((_, i) => i + 1))
    const [file] = await listArchiveFiles(data, { feed: 'kalshi' })
    const disk = Bun.file(file.path).size
    const raw = (await readManifest(dirname(file.path)))!.files[0].bytes
    expect(raw).toBeGreaterThan(disk)
    // a date of the older layout without a manifest: its uncompressed size is not known
    mkdirSync(join(data, 'kalshi', '2026-02-08'))
    const old = Bun.gzipSync(Buffer.from(`${lines[0].line}\n`))
    writeFileSync(join(data, 'kalshi', '2026-02-08', '1600.jsonl.gz'), old)
    const json = await cli(['data', 'list', '--data', data, '--json'])
    expect(JSON.parse(json.out)).toEqual([
      { feed: 'kalshi', stream: 'crypto', date: '2026-02-07', files: 1, records: 2000, bytes_on_disk: disk, bytes_uncompressed: raw },
      { feed: 'kalshi', stream: null, date: '2026-02-08', files: 1, records: null, bytes_on_disk: old.length, bytes_uncompressed: null },
    ])
    const text = await cli(['data', 'list', '--data', data])
    expect(text.out.split('\n')).toEqual([
      `kalshi\tcrypto\t2026-02-07\t1 files\t2000 records\t${formatBytes(disk)} on disk (${formatBytes(raw)} uncompressed)`,
      `kalshi\t-\t2026-02-08\t1 files\t? records\t${old.length} B on disk (? uncompressed)`,
    ])
    expect([812, 4_100, 1_237_705, 9_641_463, 999_999, 12_000_000_000].map(formatBytes)).toEqual(['812 B', '4.1 kB', '1.2 MB', '9.6 MB', '1.0 MB', '12.0 GB'])
  })

  test('signal new scaffolds a self-contained signal.ts: it type-checks outside this repository (it imported ../../src/…)', async () => {
    const sigs = join(root, 'outside', 'signals')
    expect((await cli(['signal', 'new', 'alone', '--signals-dir', sigs])).code).toBe(0)
    const tsc = join(import.meta.dir, '..', '..', '..', 'node_modules', '.bin', 'tsc')
    const r = Bun.spawnSync([tsc, '--noEmit', '--strict', '--noUnusedLocals', '--target', 'esnext', '--module', 'preserve', join(sigs, 'alone', 'signal.ts')], {
      cwd: join(root, 'outside'), stdout: 'pipe', stderr: 'pipe',
    })
    expect([r.exitCode, `${r.stdout}${r.stderr}`.trim()]).toEqual([0, ''])
  }, 60_000)

  test('signal new names --allow-dirty in its hint when the new signal is not committed (backtest run refuses it without)', async () => {
    const repo = join(root, 'repo')
    mkdirSync(repo)
    const git = (...args: string[]) => Bun.spawnSync(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, stdout: 'ignore', stderr: 'ignore' }).exitCode
    expect([git('init', '-q'), git('commit', '-q', '--allow-empty', '-m', 'init')]).toEqual([0, 0])
    const sigs = join(repo, 'signals')
    const r = await cli(['signal', 'new', 'fresh', '--signals-dir', sigs])
    expect([r.code, r.out]).toEqual([0, `created ${sigs}/fresh/signal.ts and backtest.yaml (run: ssmd backtest run fresh --signals-dir ${sigs} --allow-dirty)`])
  })

  test('signal list: a signals directory that does not exist is an error naming it and how to choose another, exit 2; an empty one says so, exit 0', async () => {
    const missing = join(root, 'no-signals')
    const error = `error: no signals directory at ${missing} (pass --signals-dir or set SSMD_SIGNALS_PATH)`
    const flag = await cli(['signal', 'list', '--signals-dir', missing])
    expect([flag.code, flag.out, flag.err]).toEqual([2, '', error])
    const env = await runCli(['signal', 'list'], { SSMD_SIGNALS_PATH: missing })
    expect([env.code, env.out, env.err]).toEqual([2, [], [error]])
    const empty = join(root, 'empty-signals')
    mkdirSync(empty)
    const none = await cli(['signal', 'list', '--signals-dir', empty])
    expect([none.code, none.out, none.err]).toEqual([0, '', `no signals in ${empty}`])
    const json = await cli(['signal', 'list', '--signals-dir', empty, '--json'])
    expect([json.code, JSON.parse(json.out), json.err]).toEqual([0, [], `no signals in ${empty}`])
    const run = await cli(['signal', 'run', 'x', '--source', 'file', '--signals-dir', missing])
    expect([run.code, run.err]).toEqual([2, `error: ${join(missing, 'x', 'signal.ts')}:0:0: no such signal "x": the signals directory ${missing} does not exist`])
  })

  test('a broken signal is a usage error naming the file and line; unknown signals list the known ones', async () => {
    const missing = await cli(['backtest', 'run', 'nope', '--signals-dir', 'signals', '--dates', '2026-02-07'])
    expect([missing.code, missing.err.includes('volume-1m-30min')]).toEqual([2, true])
  })
})

describe('ssmd signal run --source file / backtest run: dates, data and damaged archives; signal list', () => {
  const data = join(root, 'run-data')
  const sigs = join(root, 'run-signals')
  const nowhere = join(root, 'nowhere')
  beforeAll(async () => {
    const lines = simLines({ seed: 4, count: 2000, format: 'dollars', markets: 3, sizeScale: 50 })
    await archiveLines(data, 'crypto', lines, lines.map((_, i) => i + 1))
    writeVolumeSignal(sigs, 'vol', 3000, 60_000)
    writeVolumeSignal(sigs, 'later', 3000, 60_000)
    writeFileSync(join(sigs, 'later', 'backtest.yaml'), 'feed: kalshi\ndates: [2030-01-01]\n')
  })
  const run = (...args: string[]) => cli(['signal', 'run', 'vol', '--source', 'file', '--signals-dir', sigs, ...args])
  const summary = (out: string) => out.split('\n').at(-1)

  test('signal run --source file: a date that is not one, a date without files or a wrong --data is a usage error, as for backtest run', async () => {
    const cases: [string[], string][] = [
      [['--data', data, '--date', 'garbage'], 'error: --date must be a date YYYY-MM-DD (got "garbage")'],
      [['--data', data, '--date', '2030-01-01'], `error: no kalshi archive files for 2030-01-01 under ${data}`],
      [['--data', nowhere, '--date', '2026-02-07'], `error: no kalshi archive files for 2026-02-07 under ${nowhere}`],
    ]
    for (const [args, message] of cases) {
      const r = await run(...args)
      expect([args.join(' '), r.code, r.err]).toEqual([args.join(' '), 2, message])
    }
    // no --date: backtest.yaml's dates, which have no files here
    const later = await cli(['signal', 'run', 'later', '--source', 'file', '--signals-dir', sigs, '--data', data])
    expect([later.code, later.err]).toEqual([2, `error: no kalshi archive files for 2030-01-01 under ${data}`])
    const some = await run('--data', data, '--date', '2026-02-07', '2026-02-08')
    expect([some.code, some.err, summary(some.out)])
      .toEqual([0, `warning: no kalshi archive files for 2026-02-08 under ${data}; reading the other dates`, expect.stringMatching(/^records 2000,/)])
  })

  test('signal run --source file --env: --data, then the global --data-dir, win over the environment\'s storage path', async () => {
    const global = await cli(['--data-dir', data, 'signal', 'run', 'vol', '--source', 'file', '--env', 'dev', '--signals-dir', sigs, '--date', '2026-02-07'])
    expect([global.code, global.err, summary(global.out)]).toEqual([0, '', expect.stringMatching(/^records 2000,/)])
    const flag = await cli(['--data-dir', nowhere, 'signal', 'run', 'vol', '--source', 'file', '--env', 'dev', '--signals-dir', sigs, '--date', '2026-02-07', '--data', data])
    expect([flag.code, flag.err, summary(flag.out)]).toEqual([0, '', expect.stringMatching(/^records 2000,/)])
  })

  test('backtest run and signal run --source file warn on stderr of each truncated file and of lines that are not JSON', async () => {
    const bad = join(root, 'damaged')
    const dir = join(bad, 'kalshi', 'crypto', '2026-02-07')
    mkdirSync(dir, { recursive: true })
    const lines = simLines({ seed: 6, count: 200, format: 'dollars', markets: 2 }).map((l) => l.line)
    const gz = Bun.gzipSync(Buffer.from(`${lines.slice(0, 100).join('\n')}\n`))
    writeFileSync(join(dir, '1600.jsonl.gz'), gz.subarray(0, gz.length - 12)) // the gzip trailer and some data cut
    writeFileSync(join(dir, '1615.jsonl.gz'), Bun.gzipSync(Buffer.from(`${lines.slice(100).join('\n')}\nnot json\n{broken\n`)))
    const truncated = new RegExp(`^warning: ${join(dir, '1600.jsonl.gz').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is truncated or corrupt \\(.+\\); `)
    const warnings = (err: string) => err.split('\n').filter((l) => l.startsWith('warning:'))

    const out = join(root, 'bt-damaged')
    const bt = await cli(['backtest', 'run', 'vol', '--signals-dir', sigs, '--data', bad, '--dates', '2026-02-07', '--out', out, '--allow-dirty'])
    expect(bt.code).toBe(0)
    const result = JSON.parse(readFileSync(join(out, readdirSync(out)[0], 'result.json'), 'utf8'))
    expect(result.data.truncated_files).toEqual(['kalshi/crypto/2026-02-07/1600.jsonl.gz'])
    expect(result.data.malformed_lines).toBeGreaterThanOrEqual(2)
    const malformed = `warning: ${result.data.malformed_lines} lines that are not JSON objects were skipped`
    expect(warnings(bt.err)).toEqual([expect.stringMatching(truncated), malformed])

    const sr = await run('--data', bad, '--date', '2026-02-07')
    expect([sr.code, warnings(sr.err)]).toEqual([0, [expect.stringMatching(truncated), malformed]])
  })

  test('backtest run: a bad --from/--to or --dates gives the error data export gives, not "no dates"', async () => {
    const cases: [string[], string][] = [
      [['--from', '2026-13-01'], 'error: --from must be a date YYYY-MM-DD (got "2026-13-01")'],
      [['--from', 'garbage'], 'error: --from must be a date YYYY-MM-DD (got "garbage")'],
      [['--from', '2026-12-07', '--to', '2026-12-01'], 'error: --from 2026-12-07 is after --to 2026-12-01'],
      [['--from', '2026-02-07', '--to', '2026-02-30'], 'error: --to must be a date YYYY-MM-DD (got "2026-02-30")'],
      [['--to', '2026-02-07'], 'error: --to needs --from'],
      [['--dates', '2026-02-07,nope'], 'error: --dates must be a date YYYY-MM-DD (got "nope")'],
    ]
    for (const [args, message] of cases) {
      const r = await cli(['backtest', 'run', 'vol', '--signals-dir', sigs, '--data', data, '--out', join(root, 'bt-bad'), '--allow-dirty', ...args])
      expect([args.join(' '), r.code, r.err]).toEqual([args.join(' '), 2, message])
    }
  })

  test('signal list lists every good signal and reports every broken one (file:line: message) on stderr, exit 1', async () => {
    const dir = join(root, 'list-signals')
    writeVolumeSignal(dir, 'a-good', 3000, 60_000)
    writeVolumeSignal(dir, 'z-good', 3000, 60_000)
    mkdirSync(join(dir, 'b-syntax'))
    writeFileSync(join(dir, 'b-syntax', 'signal.ts'), "export const signal = {\n  id: 'b-syntax',\n  requires: [\n")
    mkdirSync(join(dir, 'c-requires'))
    writeFileSync(join(dir, 'c-requires', 'signal.ts'), "export const signal = {\n  id: 'c-requires',\n  requires: ['nope'],\n  evaluate: () => false,\n}\n")
    const r = await runCli(['signal', 'list', '--signals-dir', dir])
    expect(r.code).toBe(1)
    expect(r.out.map((l) => l.split(' ')[0])).toEqual(['a-good', 'z-good'])
    expect(r.err).toEqual([
      expect.stringMatching(new RegExp(`^error: ${join(dir, 'b-syntax', 'signal.ts')}:\\d+:\\d+: syntax error`)),
      `error: ${join(dir, 'c-requires', 'signal.ts')}:3:1: unknown state builder "nope" in requires (known: orderbook, priceHistory, volumeProfile)`,
    ])
    const json = await runCli(['signal', 'list', '--signals-dir', dir, '--json'])
    expect([json.code, JSON.parse(json.out.join('\n')).map((s: { id: string }) => s.id), json.err.length]).toEqual([1, ['a-good', 'z-good'], 2])
  })

  test('signal run --help says --console is for --source nats (a file run always prints its fires)', async () => {
    const help = await runCli(['signal', 'run', '--help'])
    expect(help.code).toBe(0)
    expect(help.out.join(' ').replace(/\s+/g, ' ')).toContain('--console also print fires (--source nats only: --source file always prints them)')
  })
})
