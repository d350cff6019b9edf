import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import { SignalLoadError } from './errors.ts'
import { listSignalDirs, loadSignal, signalDir as signalDirOf } from './loader.ts'

const root = mkdtempSync(join(tmpdir(), 'ssmd-signal-loader-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let n = 0
/** A fresh directory holding `source`, named after the id it declares (as a signal's must be). */
function signalDir(source: string, manifest?: string): string {
  const dir = join(root, `s${n++}`, /\bid:\s*["'`]([^"'`]+)/.exec(source)?.[1] ?? 'no-id')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'signal.ts'), source)
  if (manifest !== undefined) writeFileSync(join(dir, 'backtest.yaml'), manifest)
  return dir
}

async function loadError(dir: string): Promise<SignalLoadError | ConfigError> {
  try {
    await loadSignal(dir)
  } catch (e) {
    if (e instanceof SignalLoadError || e instanceof ConfigError) return e
    throw e
  }
  throw new SignalLoadError(dir, 0, 0, 'expected a load error')
}

/** Written for the original (Deno) system: double quotes, semicolons, module-level state, a type import. */
const ORIGINAL_STYLE = `import type { } from "./nothing-at-runtime.ts";
const fired = new Set<string>();

export const signal = {
  id: "volume-1m-30min",
  name: "Volume 1M in 30 minutes",
  requires: ["volumeProfile"],

  evaluate(state: { volumeProfile: { ticker: string; dollarVolume: number } }): boolean {
    const t = state.volumeProfile.ticker;
    if (state.volumeProfile.dollarVolume >= 1000000) {
      if (fired.has(t)) return false;
      fired.add(t);
      return true;
    }
    fired.delete(t);
    return false;
  },

  payload(state: { volumeProfile: { ticker: string; dollarVolume: number } }) {
    return { ticker: state.volumeProfile.ticker, dollarVolume: state.volumeProfile.dollarVolume, buyRatio: 0.5 };
  },
};
`

describe('loadSignal', () => {
  test('loads every shipped signal with its backtest manifest', async () => {
    const dirs = listSignalDirs('signals')
    const loaded = await Promise.all(dirs.map(loadSignal))
    expect(loaded.map((s) => [s.id, s.requires, s.manifest?.feed])).toEqual([
      ['price-momentum', ['priceHistory'], 'kalshi'],
      ['spread-widening', ['orderbook'], 'kalshi'],
      ['volume-1m-15min', ['volumeProfile'], 'kalshi'],
      ['volume-1m-1min', ['volumeProfile'], 'kalshi'],
      ['volume-1m-30min', ['volumeProfile'], 'kalshi'],
      ['volume-1m-5min', ['volumeProfile'], 'kalshi'],
    ])
    expect(loaded.map((s) => s.manifest?.state.volumeProfile?.windowMs).filter(Boolean)).toEqual([900_000, 60_000, 1_800_000, 300_000])
  })

  test('loads a signal written for the original system unchanged', async () => {
    const s = await loadSignal(signalDir(ORIGINAL_STYLE, 'feed: kalshi\ndates: [2026-02-07]\nstate:\n  volumeProfile: {windowMs: 1800000}\n'))
    expect([s.id, s.name, s.requires, s.manifest?.dates]).toEqual(['volume-1m-30min', 'Volume 1M in 30 minutes', ['volumeProfile'], ['2026-02-07']])
    expect(s.evaluate({ ticker: 'X', memory: {}, volumeProfile: { ticker: 'X', dollarVolume: 2e6 } })).toBe(true)
    expect(s.evaluate({ ticker: 'X', memory: {}, volumeProfile: { ticker: 'X', dollarVolume: 2e6 } })).toBe(false)
  })

  test('a syntax error names the file, line and column from Bun', async () => {
    const dir = signalDir('export const signal = {\n  id: "x",\n  requires: [],\n  evaluate() { return true }\n  oops here\n}\n')
    const e = await loadError(dir)
    expect([e instanceof SignalLoadError, (e as SignalLoadError).line, e.message.startsWith(`${join(dir, 'signal.ts')}:5:3: syntax error`)]).toEqual([true, 5, true])
  })

  test('a syntax error Bun reports as one message (not a list) names its line and column too', async () => {
    const dir = signalDir("export const signal = {\n  id: 'x',\n  requires: [],\n  evaluate(state) {\n    return 1 +\n  },\n}\n")
    const e = await loadError(dir)
    expect(e.message).toBe(`${join(dir, 'signal.ts')}:6:3: syntax error: Unexpected }`)
  })

  test('a missing export, a missing evaluate and an unknown builder name each name their line', async () => {
    const noExport = await loadError(signalDir('const x = 1\nexport const other = {}\n'))
    expect([noExport.message.includes(':2:1: no export named "signal"'), noExport.code]).toEqual([true, 'SIGNAL_INVALID'])
    const noEval = await loadError(signalDir("export const signal = {\n  id: 'a',\n  requires: [],\n}\n"))
    expect(noEval.message).toContain('signal.evaluate must be a function')
    const unknown = await loadError(signalDir("export const signal = {\n  id: 'a',\n  requires: [\n    'volumeProfile',\n    'orderBook',\n  ],\n  evaluate: () => false,\n}\n"))
    expect(unknown.message).toMatch(/signal\.ts:5:1: unknown state builder "orderBook"/)
  })

  test('a module that throws at load time names the line of the throw', async () => {
    const e = await loadError(signalDir("const a = 1\nthrow new TypeError('boom')\nexport const signal = {}\n"))
    expect(e.message).toMatch(/signal\.ts:2:\d+: failed to load: boom/)
  })

  test('a bad backtest.yaml names its file and line', async () => {
    const ok = "export const signal = { id: 'a', requires: ['volumeProfile'], evaluate: () => false }\n"
    const e = await loadError(signalDir(ok, 'feed: kalshi\ndates: [2026-02-07]\nstate:\n  volumeProfile:\n    windowMs: -5\n'))
    expect([e instanceof ConfigError, /backtest\.yaml:5:\d+: state\.volumeProfile\.windowMs/.test(e.message)]).toEqual([true, true])
    const e2 = await loadError(signalDir(ok, 'feed: kalshi\nstate: {}\n'))
    expect(e2.message).toContain('needs dates or date_range')
    const e3 = await loadError(signalDir(ok, 'feed: kalshi\ndates: [2026-02-07]\nstate:\n  volumeProfiles: {}\n'))
    expect(e3.message).toMatch(/backtest\.yaml:4:\d+: state: unknown key\(s\) volumeProfiles/)
  })
})

describe('a signal whose id differs from its directory name', () => {
  const sigs = join(root, 'mismatch')
  const dir = join(sigs, 'idmismatch')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'signal.ts'), "export const signal = {\n  name: 'x',\n  id: 'other-id',\n  requires: [],\n  evaluate: () => true,\n}\n")

  test('is refused when loaded (signal list, signal run, backtest run, signal-runner all load through loadSignal), naming the id line', async () => {
    const e = await loadError(signalDirOf(sigs, 'idmismatch'))
    expect([e.code, e.message]).toEqual(['SIGNAL_INVALID', `${join(dir, 'signal.ts')}:3:1: signal.id "other-id" differs from its directory "idmismatch": a signal's directory must be named after its id (rename the directory to other-id, or set id: 'idmismatch')`])
  })

  test('looked up by its id, says which directory declares it and why it is not found', () => {
    expect(() => signalDirOf(sigs, 'other-id')).toThrow(`no signal directory "other-id": ${join(dir, 'signal.ts')} declares id "other-id" but its directory is "idmismatch" (a signal's directory must be named after its id: rename the directory to other-id)`)
  })
})

describe('signalDir', () => {
  test('takes an id under the signals directory, or a path to a signal directory or its signal.ts', () => {
    expect(signalDirOf('signals', 'volume-1m-1min')).toBe(join('signals', 'volume-1m-1min'))
    expect(signalDirOf('signals', 'signals/volume-1m-1min')).toBe('signals/volume-1m-1min')
    expect(signalDirOf('signals', './signals/volume-1m-1min/')).toBe('./signals/volume-1m-1min/')
    expect(signalDirOf('elsewhere', 'signals/volume-1m-1min/signal.ts')).toBe('signals/volume-1m-1min')
  })

  test('an unknown id or path names it and lists the signals there', () => {
    for (const id of ['nope', 'signals/nope', 'signals/nope/signal.ts']) {
      expect(() => signalDirOf('signals', id)).toThrow(`no such signal "${id}" (signals in signals: price-momentum,`)
    }
  })
})
