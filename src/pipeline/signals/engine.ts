/**
 * The evaluation core shared by live, replay and backtest (reference §8.3, without its bugs):
 * for every record with a ticker, update that ticker's builders (the union of what the signals
 * require; one instance per builder name and config, so two signals configuring `volumeProfile`
 * differently each get their own), then call each signal's `evaluate` with its state. A throwing
 * signal is counted (the first few logged with file:line) and never stops the loop.
 *
 * A record fires a signal when `evaluate` returns a truthy value, as in the original runtime
 * (`if (signal.evaluate(state))`); a returned Promise or thenable (an `async evaluate`) is an
 * error of that signal, not a fire. The fire's payload is serialised here, once: one that JSON
 * cannot encode is an error of that signal (the fire is skipped), and what is emitted is plain
 * JSON data that every sink can write. A builder state read by two or more signals (one builder
 * instance serves every signal requiring it with the same config) is frozen, so a signal writing
 * to it throws (counted against it) instead of changing what the next signal sees; a state only
 * one signal reads is not (nothing to protect, and a freeze per record costs about a fifth of
 * this loop).
 */
import type { Logger } from '../core/log.ts'
import { silentLogger } from '../core/log.ts'
import type { MarketRecord } from '../records/types.ts'
import type { OrderbookState } from '../state/orderbook.ts'
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

/**
 * Freezes a shared builder state before signals see it (its depth arrays too, for the order
 * book), so a signal cannot change what another signal sees for the same record: in a signal
 * module (strict mode) a write throws a TypeError, counted against the signal that wrote. The
 * state objects are fresh per record (StateBuilder.getState), so nothing is copied; the
 * [price, size] levels of `depth` are left as they are (a freeze per level would cost more than
 * the rest together).
 */
function readOnly(name: BuilderName, value: unknown): unknown {
  if (name === 'orderbook') {
    const depth = (value as OrderbookState).depth
    Object.freeze(depth.yes)
    Object.freeze(depth.no)
    Object.freeze(depth)
  }
  return Object.freeze(value)
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function'

/** What a TypeError from writing to a frozen state looks like (JSC's and V8's wordings). */
const FROZEN_WRITE = /readonly property|read[- ]only|not extensible|frozen|Unable to delete|Cannot (assign|add|delete|define)/i

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

/** Observes a rejection of a Promise the signal returned (it is an error already counted, not an unhandled one). */
function settle(p: PromiseLike<unknown>): void {
  try {
    p.then(undefined, () => {})
  } catch {
    // a thenable whose then throws: nothing is pending
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
  /** While warming (warm): errors are not logged again. */
  private quiet = false
  private readonly slots: Slot[] = []
  private readonly bound: Bound[] = []
  private readonly tickers = new Map<string, TickerState>()
  /** Builder states of the record being processed (per slot). */
  private readonly states: unknown[]
  /** Per slot: read by two or more signals, so its state is frozen before they see it. */
  private readonly shared: boolean[]
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
    this.shared = this.slots.map((_, i) => this.bound.filter((b) => b.slots.some(([, j]) => j === i)).length >= 2)
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
      // (its state is not frozen: no other signal sees it, and a freeze per record is measurable here)
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
        state = stateOf(ticker, t.memory[k], slots[0][0], (states[i] ??= this.stateAt(i, builders[i])))
      } else {
        state = { ticker, memory: t.memory[k] }
        for (let j = 0; j < slots.length; j++) {
          const i = slots[j][1]
          setState(state, slots[j][0], (states[i] ??= this.stateAt(i, builders[i])))
        }
      }
      this.evaluate(this.bound[k], state, r, sourceSeq, out)
    }
  }

  /** The builder state of slot `i` for this record: frozen when two or more signals read it. */
  private stateAt(i: number, builder: StateBuilder): unknown {
    const value = builder.getState()
    return this.shared[i] ? readOnly(this.slots[i].name, value) : value
  }

  /**
   * Calls the signal's `evaluate` (and `payload` when it fires), counting. A truthy return fires;
   * a throw, a returned Promise, or a payload JSON cannot encode is an error of the signal (counted,
   * the first few logged) and no fire.
   */
  private evaluate(b: Bound, state: SignalState, r: MarketRecord, sourceSeq: number, out: EmittedFire[]): void {
    const { signal, counters } = b
    counters.evaluations++
    let payload: unknown
    try {
      const fired: unknown = signal.evaluate(state)
      if (fired !== true) {
        if (!fired) return
        if (isThenable(fired)) {
          settle(fired)
          this.failed(signal, counters, r, signal.file, 'evaluate returned a Promise: evaluate must be synchronous')
          return
        }
      }
      payload = signal.payload ? (signal.payload(state) ?? {}) : {}
    } catch (e) {
      this.threw(signal, counters, r, e, '')
      return
    }
    const data = this.jsonData(b, payload, r)
    if (data === undefined) return
    counters.fires++
    out.push({ signalId: signal.id, ts: r.ts, ticker: r.ticker, payload: data, sourceSeq })
  }

  /**
   * The payload as plain JSON data (serialised once, here, and parsed back), or undefined after
   * counting the error when JSON cannot encode it (a cycle, a BigInt, a throwing toJSON, a
   * function, a Promise). Every sink (backtest result, JetStream, console) writes the plain copy,
   * so none can fail on it, and a payload object the signal changes later does not change the fire.
   */
  private jsonData(b: Bound, payload: unknown, r: MarketRecord): unknown {
    const { signal, counters } = b
    if (isThenable(payload)) {
      settle(payload)
      this.failed(signal, counters, r, signal.file, 'payload returned a Promise: payload must be synchronous')
      return undefined
    }
    let json: string | undefined
    try {
      json = JSON.stringify(payload)
    } catch (e) {
      this.threw(signal, counters, r, e, 'payload is not JSON-serialisable: ')
      return undefined
    }
    if (json === undefined) {
      this.failed(signal, counters, r, signal.file, `payload is not JSON-serialisable: it returned a ${typeof payload}`)
      return undefined
    }
    return JSON.parse(json)
  }

  /** Counts an exception of the signal, at the line of its first frame in the signal's file. */
  private threw(signal: LoadedSignal, c: SignalCounters, r: MarketRecord, e: unknown, prefix: string): void {
    if (c.firstErrors.length >= this.maxErrorLogs) {
      c.errors++
      return
    }
    const pos = stackPosition(e, signal.file)
    const where = pos ? `${signal.file}:${pos.line}:${pos.column}` : signal.file
    let message = `${prefix}${(e as Error)?.message ?? String(e)}`
    if (e instanceof TypeError && FROZEN_WRITE.test(e.message)) {
      message += ' [builder states are read-only (shared by the signals of a runner): copy what you change, or keep it in state.memory]'
    }
    this.failed(signal, c, r, where, message)
  }

  private failed(signal: LoadedSignal, c: SignalCounters, r: MarketRecord, where: string, message: string): void {
    c.errors++
    if (c.firstErrors.length >= this.maxErrorLogs) return
    const text = `${where}: ${message} (ticker ${r.ticker})`
    c.firstErrors.push(text)
    if (!this.quiet) this.log.warn({ signal: signal.id, error: text }, 'signal error')
  }

  /**
   * Rebuilds state from records evaluated before (a live runner's warm-up after a restart):
   * `records` go through the builders and the signals as in `process` (so builders and each
   * signal's memory end as an uninterrupted run left them), but their fires are dropped and the
   * counters are left as they were. Returns the records fed.
   */
  warm(records: Iterable<{ record: MarketRecord; seq: number }>): number {
    const saved = this.bound.map((b) => ({ ...b.counters, firstErrors: [...b.counters.firstErrors] }))
    const { records: before, skipped } = this
    const out: EmittedFire[] = []
    let n = 0
    // the previous run logged these records' errors already
    this.quiet = true
    try {
      for (const { record, seq } of records) {
        this.process(record, seq, out)
        out.length = 0
        n++
      }
    } finally {
      this.quiet = false
    }
    this.bound.forEach((b, i) => Object.assign(b.counters, saved[i]))
    this.records = before
    this.skipped = skipped
    return n
  }

  /** Forgets every ticker's state (e.g. between independent backtests). */
  reset(): void {
    this.tickers.clear()
  }
}
