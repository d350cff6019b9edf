/** Signals (DESIGN §8): the module shape authors write, and the runtime's seams. */
import type { MarketRecord } from '../records/types.ts'
import type { BuilderConfigs } from '../state/registry.ts'

/**
 * What `signals/<id>/signal.ts` exports as `signal`. `state` holds one entry per required builder
 * (`state.volumeProfile` …, frozen: shared by the signals of a runner) plus `ticker` and `memory`:
 * a mutable object private to this signal and this ticker (for edge-triggering without
 * module-level state). `evaluate` fires on a truthy return (as the original did) and must be
 * synchronous; `payload` must return JSON-serialisable data.
 */
export interface Signal {
  id: string
  name?: string
  requires: string[]
  evaluate(state: SignalState): unknown
  payload?(state: SignalState): unknown
}

export type SignalState = Record<string, unknown> & { ticker: string; memory: Record<string, unknown> }

/** `backtest.yaml` beside a signal. */
export interface BacktestManifest {
  feed: string
  stream?: string
  dates?: string[]
  date_range?: { from: string; to: string }
  tickers?: string[]
  sample_limit?: number
  state: BuilderConfigs
}

export interface LoadedSignal {
  id: string
  name: string
  requires: string[]
  evaluate: Signal['evaluate']
  payload: NonNullable<Signal['payload']> | null
  dir: string
  /** Absolute path of signal.ts. */
  file: string
  manifest: BacktestManifest | null
}

/**
 * A fire as published (`signals.{id}.fires`): ts is the triggering record's exchange time in ms.
 * From the engine, `payload` is plain JSON data (the signal's payload serialised once and parsed
 * back), so writing it cannot fail.
 */
export interface SignalFire {
  signalId: string
  ts: number
  ticker: string
  payload: unknown
}

/** A fire with the source sequence of its record (NATS stream seq, `_nats_seq`/`_seq`, or line). */
export interface EmittedFire extends SignalFire {
  sourceSeq: number
}

/** `{signalId}:{ticker}:{ts}:{source seq}`: the fire's `Nats-Msg-Id`, identical live and in replay. */
export function fireId(f: EmittedFire): string {
  return `${f.signalId}:${f.ticker}:${f.ts}:${f.sourceSeq}`
}

/** The sequence that identifies a record in its source. */
export function sourceSeqOf(r: MarketRecord, fallback: number): number {
  return r.natsSeq ?? r.fileSeq ?? fallback
}

/** Where records come from: batches, acknowledged after their fires are published. */
export interface RecordSource {
  batches(): AsyncIterable<SourceBatch>
  close(): Promise<void>
}

export interface SourceBatch {
  records: MarketRecord[]
  /** Source sequence per record (parallel to `records`). */
  seqs: number[]
  /** Called once the batch's fires are safely published (durable consumers ack here). */
  ack?(): void | Promise<void>
}

export interface FireSink {
  publish(fire: EmittedFire): Promise<void>
  close(): Promise<void>
}
