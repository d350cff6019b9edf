import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simLines } from '../records/fixture-sim.test.ts'
import { parseRecord } from '../records/parse.ts'
import type { MarketRecord } from '../records/types.ts'
import { runBacktest, writeBacktest } from './backtest.ts'
import { SignalEngine } from './engine.ts'
import { archiveLines } from './fixture-signals.test.ts'
import { loadSignal } from './loader.ts'
import { runSignals } from './runner.ts'
import { ConsoleFireSink, MemoryFireSink, TeeFireSink } from './sinks.ts'
import type { EmittedFire, LoadedSignal, RecordSource } from './types.ts'

const root = mkdtempSync(join(tmpdir(), 'ssmd-engine-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const lines = simLines({ seed: 7, count: 4000, format: 'dollars', markets: 6, sizeScale: 20, orderbook: true })
const records = lines.map((l) => parseRecord(l.line)).filter((r): r is MarketRecord => r !== null)
const tickers = [...new Set(records.map((r) => r.ticker).filter((t) => t !== ''))]

/** `signals/<id>/signal.ts` with `body` as the object's members, and a backtest.yaml with `state`. */
async function signalOf(id: string, requires: string, body: string, state = '{}'): Promise<LoadedSignal> {
  const dir = join(root, 'signals', id)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'signal.ts'), `export const signal = {\n  id: '${id}',\n  requires: ['${requires}'],\n${body}\n}\n`)
  writeFileSync(join(dir, 'backtest.yaml'), `feed: kalshi\ndates: [2026-02-07]\nstate: ${state}\n`)
  return loadSignal(dir)
}

function run(engine: SignalEngine): EmittedFire[] {
  const out: EmittedFire[] = []
  records.forEach((r, i) => engine.process(r, i + 1, out))
  return out
}

const fireTickers = (fires: EmittedFire[], id: string) => fires.filter((f) => f.signalId === id).map((f) => `${f.ticker}@${f.sourceSeq}`)

describe('SignalEngine: what evaluate returns', () => {
  test('a truthy return fires, as the original runtime did (if (signal.evaluate(state))); a falsy one does not', async () => {
    // the first record of each ticker returns the ticker (a string), the second 1, the third an object; then '', 0, null, undefined, NaN
    const truthy = await signalOf('truthy', 'volumeProfile', `  evaluate(state) {
    const n = (state.memory.n = ((state.memory.n as number) ?? 0) + 1)
    return [state.ticker, 1, { yes: true }, '', 0, null, undefined, NaN][n - 1]
  },`)
    const engine = new SignalEngine([truthy])
    const fires = run(engine)
    expect([engine.counters.truthy.fires, engine.counters.truthy.errors]).toEqual([3 * tickers.length, 0])
    expect(fires.length).toBe(3 * tickers.length)
  })

  test('an async evaluate is an error naming the signal file (logged, first N), never a fire; the other signals go on', async () => {
    const asyncev = await signalOf('asyncev', 'volumeProfile', `  async evaluate(state) {
    if (state.ticker.length % 2 === 0) throw new Error('rejected, not unhandled')
    return true
  },`)
    const good = await signalOf('always', 'volumeProfile', `  evaluate(state) {
    return state.memory.done ? false : (state.memory.done = true)
  },`)
    const warned: string[] = []
    const log = { warn: (o: { error: string }) => void warned.push(o.error) } as never
    const engine = new SignalEngine([asyncev, good], { maxErrorLogs: 2, log })
    const fires = run(engine)
    const c = engine.counters.asyncev
    expect([c.fires, c.errors, c.evaluations]).toEqual([0, c.evaluations, records.filter((r) => r.ticker !== '').length])
    expect(c.firstErrors).toEqual([
      `${asyncev.file}: evaluate returned a Promise: evaluate must be synchronous (ticker ${records.find((r) => r.ticker !== '')!.ticker})`,
      expect.stringContaining(`${asyncev.file}: evaluate returned a Promise: evaluate must be synchronous (ticker `),
    ])
    expect(warned).toEqual(c.firstErrors)
    expect(fires.map((f) => f.signalId)).toEqual(tickers.map(() => 'always'))
    await Bun.sleep(0) // a rejected Promise the signal returned must not surface as an unhandled rejection
  })
})

describe('SignalEngine: payloads', () => {
  const cases: [string, string, RegExp][] = [
    ['cycle', 'const o = { a: 1 }\n    o.self = o\n    return o', /: payload is not JSON-serialisable: .*cycl.* \(ticker /i],
    ['bigint', 'return { n: 1n }', /: payload is not JSON-serialisable: .*BigInt.* \(ticker /],
    ['tojson', "return { toJSON() { throw new RangeError('no json') } }", /signal\.ts:\d+:\d+: payload is not JSON-serialisable: no json \(ticker /],
    ['fn', 'return () => 1', /: payload is not JSON-serialisable: it returned a function \(ticker /],
    ['async-payload', 'return Promise.resolve({})', /: payload returned a Promise: payload must be synchronous \(ticker /],
  ]
  for (const [id, body, message] of cases) {
    test(`a payload JSON cannot encode (${id}) is an error of its signal naming the file and ticker; the fire is skipped`, async () => {
      // fires on the first record of each ticker (JSC takes ~1 ms to find a cycle)
      const s = await signalOf(`bad-${id}`, 'volumeProfile', `  evaluate: (state) => (state.memory.done ? false : (state.memory.done = true)),\n  payload(state) {\n    ${body}\n  },`)
      const engine = new SignalEngine([s])
      expect(run(engine)).toEqual([])
      const c = engine.counters[s.id]
      expect([c.fires, c.errors, c.firstErrors[0].startsWith(s.file), message.test(c.firstErrors[0])]).toEqual([0, tickers.length, true, true])
    })
  }

  test('the fire carries a plain JSON copy of the payload: a payload object the signal changes later does not change the fire', async () => {
    const s = await signalOf('shared-payload', 'volumeProfile', `  evaluate: (state) => true,
  payload(state) {
    state.memory.n = ((state.memory.n as number) ?? 0) + 1
    return state.memory
  },`)
    const fires = run(new SignalEngine([s]))
    const first = fires.filter((f) => f.ticker === fires[0].ticker).slice(0, 3).map((f) => f.payload)
    expect(first).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
  })

  test('backtest and signal run --source file: an unserialisable payload no longer ends the run; result.json is written, the error counted', async () => {
    const data = join(root, 'data')
    await archiveLines(data, 'eng', lines, lines.map((_, i) => i + 1))
    // fires on the first record of each ticker: a BigInt payload for half of them
    const bad = tickers.slice(0, tickers.length >> 1)
    const s = await signalOf('some-bigint', 'volumeProfile', `  evaluate(state) {
    return state.memory.done ? false : (state.memory.done = true)
  },
  payload(state) {
    return ${JSON.stringify(bad)}.includes(state.ticker) ? { n: 1n } : { ticker: state.ticker }
  },`)
    expect(bad.length).toBeGreaterThan(0)
    const r = await runBacktest({ signal: s, root: data, feed: 'kalshi', dates: ['2026-02-07'], git: { sha: 'abc1234', dirty: false } })
    const written = JSON.parse(readFileSync(join(writeBacktest(join(root, 'out'), r), 'result.json'), 'utf8'))
    expect([written.results.fire_count, written.results.errors]).toEqual([tickers.length - bad.length, bad.length])
    expect(written.results.first_errors[0]).toMatch(/some-bigint\/signal\.ts: payload is not JSON-serialisable: .*BigInt.* \(ticker /)
    // `signal run --source file` prints each fire on the console as it goes
    const printed: string[] = []
    const source: RecordSource = { async *batches() { yield { records, seqs: records.map((_, i) => i + 1) } }, close: async () => {} }
    const engine = new SignalEngine([s])
    const mem = new MemoryFireSink()
    await runSignals({ engine, source, sink: new TeeFireSink([new ConsoleFireSink((l) => printed.push(l)), mem]) })
    expect([printed.length, mem.fires.length, engine.counters[s.id].errors]).toEqual([tickers.length - bad.length, tickers.length - bad.length, bad.length])
  })
})

describe('SignalEngine: shared builder states', () => {
  const momentum = `  evaluate(state) {
    const p = state.priceHistory
    if (p.tradeCount < 5) return false
    const dir = p.returns > 0.02 ? 1 : p.returns < -0.02 ? -1 : 0
    const fire = dir !== 0 && state.memory.dir !== dir
    state.memory.dir = dir
    return fire
  },`

  test('a signal writing to a builder state fails (counted against it, with its line and a hint) and does not change what another signal sees', async () => {
    const victim = await signalOf('momentum', 'priceHistory', momentum, '{priceHistory: {windowSize: 20}}')
    const mutator = await signalOf('mutator', 'priceHistory', `  evaluate(state) {
    state.priceHistory.returns = 0
    return false
  },`, '{priceHistory: {windowSize: 20}}')
    const alone = run(new SignalEngine([victim]))
    expect(alone.length).toBeGreaterThan(0)
    for (const order of [[mutator, victim], [victim, mutator]]) {
      const engine = new SignalEngine(order)
      expect(fireTickers(run(engine), 'momentum')).toEqual(fireTickers(alone, 'momentum'))
      const c = engine.counters.mutator
      expect([c.errors, c.evaluations]).toEqual([c.evaluations, engine.counters.momentum.evaluations])
      expect(c.firstErrors[0]).toMatch(/mutator\/signal\.ts:5:\d+: .* \[builder states are read-only .*state\.memory\] \(ticker /)
    }
  })

  test('the order book depth is read-only too: sorting it in place fails in the signal that does it', async () => {
    const reader = await signalOf('depth-reader', 'orderbook', `  evaluate(state) {
    const d = state.orderbook.depth.yes
    const key = d.map((l) => l[0]).join(',')
    const fire = key !== state.memory.key && d.length > 1
    state.memory.key = key
    return fire
  },`)
    const sorter = await signalOf('depth-sorter', 'orderbook', `  evaluate(state) {
    state.orderbook.depth.yes.sort((a, b) => a[0] - b[0])
    return false
  },`)
    const alone = run(new SignalEngine([reader]))
    expect(alone.length).toBeGreaterThan(0)
    const engine = new SignalEngine([sorter, reader])
    expect(fireTickers(run(engine), 'depth-reader')).toEqual(fireTickers(alone, 'depth-reader'))
    expect(engine.counters['depth-sorter'].errors).toBeGreaterThan(0)
  })
})
