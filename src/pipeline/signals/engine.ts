/**
 * The evaluation core shared by live, replay and backtest (reference §8.3, without its bugs):
 * for every record with a ticker, update that ticker's builders (the union of what the signals
 * require; one instance per builder name and config, so two signals configuring `volumeProfile`
 * differently each get their own), then call each signal's `evaluate` with its state. A throwing
 * signal is counted (the first few logged with file:line) and never stops the loop.
 */
import type { Logger } from '../core/log.ts'
import { silentLogger } from '../core/log.ts'
import type { MarketRecord } from '../records/types.ts'
import { createBuilder, type BuilderConfigs, type BuilderName } from '../state/registry.ts'
import { newBuilderContext, type BuilderContext, type StateBuilder } from '../state/types.ts'
import { stackPosition } from './loader.ts'
import type { EmittedFire, LoadedSignal, SignalState } from './types.ts'

export interface EngineOptions {
  /** Builder config per signal id; default each signal's backtest.yaml `state`. */
  configs?: Record<string, BuilderConfigs>
  /** Only these tickers (default all). */
  tickers?: readonly string[]
  log?: Logger
  /** Errors logged per signal before going quiet (all are counted). @default 10 */
  maxErrorLogs?: number
}

export interface SignalCounters {
  evaluations: number
  fires: number
  errors: number
  /** The first errors as `file:line: message`. */
  firstErrors: string[]
}

interface Slot {
  key: string
  name: BuilderName
  config: object
}

interface Bound {
  signal: LoadedSignal
  /** (builder name, slot index) per required builder. */
  slots: [BuilderName, number][]
  counters: SignalCounters
}

interface TickerState {
  builders: StateBuilder[]
  memory: Record<string, unknown>[]
}

/** `state[name] = value` with a constant key per builder, so every state object gets one shape. */
function setState(state: SignalState, name: BuilderName, value: unknown): void {
  switch (name) {
    case 'orderbook':
      state.orderbook = value
      break
    case 'priceHistory':
      state.priceHistory = value
      break
    case 'volumeProfile':
      state.volumeProfile = value
      break
    default:
      state[name] = value
  }
}

/** The state of a signal requiring one builder, made in one literal (the usual case). */
function stateOf(ticker: string, memory: Record<string, unknown>, name: BuilderName, value: unknown): SignalState {
  switch (name) {
    case 'orderbook':
      return { ticker, memory, orderbook: value }
    case 'priceHistory':
      return { ticker, memory, priceHistory: value }
    case 'volumeProfile':
      return { ticker, memory, volumeProfile: value }
    default: {
      const state: SignalState = { ticker, memory }
      state[name] = value
      return state
    }
  }
}

export class SignalEngine {
  readonly signals: readonly LoadedSignal[]
  /** Builders configured differently by two signals (kept as separate instances). */
  readonly conflicts: string[] = []
  readonly counters: Record<string, SignalCounters> = {}
  records = 0
  /** Records without a ticker (control frames, event lifecycle) or filtered out. */
  skipped = 0
  private readonly slots: Slot[] = []
  private readonly bound: Bound[] = []
  private readonly tickers = new Map<string, TickerState>()
  /** Builder states of the record being processed (per slot). */
  private readonly states: unknown[]
  /** The signal, when it is the only one and requires one builder (process's short path). */
  private readonly lone: Bound | null
  private readonly only: Set<string> | null
  private readonly ctx: BuilderContext = newBuilderContext()
  private readonly log: Logger
  private readonly maxErrorLogs: number

  constructor(signals: readonly LoadedSignal[], options: EngineOptions = {}) {
    this.signals = signals
    this.log = options.log ?? silentLogger()
    this.maxErrorLogs = options.maxErrorLogs ?? 10
    this.only = options.tickers && options.tickers.length > 0 ? new Set(options.tickers) : null
    const firstBy = new Map<string, { id: string; key: string }>()
    for (const s of signals) {
      const configs = options.configs?.[s.id] ?? s.manifest?.state ?? {}
      const slots: [BuilderName, number][] = []
      for (const name of s.requires as BuilderName[]) {
        const config = (configs[name] ?? {}) as object
        const key = `${name}:${JSON.stringify(config, Object.keys(config).sort())}`
        let i = this.slots.findIndex((x) => x.key === key)
        if (i < 0) i = this.slots.push({ key, name, config }) - 1
        const first = firstBy.get(name)
        if (!first) firstBy.set(name, { id: s.id, key })
        else if (first.key !== key) {
          this.conflicts.push(`${name}: ${s.id} uses ${JSON.stringify(config)}, ${first.id} uses ${first.key.slice(name.length + 1)} (separate instances)`)
        }
        slots.push([name, i])
      }
      this.counters[s.id] = { evaluations: 0, fires: 0, errors: 0, firstErrors: [] }
      this.bound.push({ signal: s, slots, counters: this.counters[s.id] })
    }
    this.states = this.slots.map(() => undefined)
    this.lone = this.bound.length === 1 && this.slots.length === 1 && this.bound[0].slots.length === 1 ? this.bound[0] : null
    for (const c of this.conflicts) this.log.warn({ conflict: c }, 'builder configured differently by two signals')
  }

  get tickerCount(): number {
    return this.tickers.size
  }

  /** Feeds one record; appends the fires it causes to `out`. */
  process(r: MarketRecord, sourceSeq: number, out: EmittedFire[]): void {
    this.records++
    const ticker = r.ticker
    if (ticker === '' || (this.only !== null && !this.only.has(ticker))) {
      this.skipped++
      return
    }
    let t = this.tickers.get(ticker)
    if (t === undefined) {
      t = {
        builders: this.slots.map((s) => createBuilder(s.name, { [s.name]: s.config } as BuilderConfigs, this.ctx)),
        memory: this.bound.map(() => ({})),
      }
      this.tickers.set(ticker, t)
    }
    const builders = t.builders
    if (this.lone !== null) {
      // one signal requiring one builder (the usual backtest): no scratch states, no loops
      const builder = builders[0]
      builder.update(r)
      this.evaluate(this.lone, stateOf(ticker, t.memory[0], this.lone.slots[0][0], builder.getState()), r, sourceSeq, out)
      return
    }
    for (let i = 0; i < builders.length; i++) builders[i].update(r)
    // each builder's state is taken once per record (lazily), into a reused scratch array
    const states = this.states
    for (let i = 0; i < states.length; i++) states[i] = undefined
    for (let k = 0; k < this.bound.length; k++) {
      const slots = this.bound[k].slots
      let state: SignalState
      if (slots.length === 1) {
        const i = slots[0][1]
        state = stateOf(ticker, t.memory[k], slots[0][0], (states[i] ??= builders[i].getState()))
      } else {
        state = { ticker, memory: t.memory[k] }
        for (let j = 0; j < slots.length; j++) {
          const i = slots[j][1]
          setState(state, slots[j][0], (states[i] ??= builders[i].getState()))
        }
      }
      this.evaluate(this.bound[k], state, r, sourceSeq, out)
    }
  }

  /** Calls the signal's `evaluate` (and `payload` when it fires), counting; a throw is counted and logged. */
  private evaluate(b: Bound, state: SignalState, r: MarketRecord, sourceSeq: number, out: EmittedFire[]): void {
    const { signal, counters } = b
    counters.evaluations++
    let payload: unknown
    try {
      if (signal.evaluate(state) !== true) return
      payload = signal.payload ? (signal.payload(state) ?? {}) : {}
    } catch (e) {
      this.failed(signal, counters, e, r)
      return
    }
    counters.fires++
    out.push({ signalId: signal.id, ts: r.ts, ticker: r.ticker, payload, sourceSeq })
  }

  private failed(signal: LoadedSignal, c: SignalCounters, e: unknown, r: MarketRecord): void {
    c.errors++
    if (c.firstErrors.length >= this.maxErrorLogs) return
    const pos = stackPosition(e, signal.file)
    const where = pos ? `${signal.file}:${pos.line}:${pos.column}` : signal.file
    const text = `${where}: ${(e as Error)?.message ?? String(e)} (ticker ${r.ticker})`
    c.firstErrors.push(text)
    this.log.warn({ signal: signal.id, error: text }, 'signal threw')
  }

  /** Forgets every ticker's state (e.g. between independent backtests). */
  reset(): void {
    this.tickers.clear()
  }
}
