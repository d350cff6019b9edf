/**
 * A live signal process: NATS durable consumer → engine → JetStream fires (+ console), with
 * Prometheus counters (records, fires, errors per signal). Used by `ssmd signal run` and
 * `ssmd signal-runner`.
 */
import { jetstream, jetstreamManager, JetStreamApiCodes, type JetStreamApiError } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { ConnectionError } from '../core/errors.ts'
import { redactUrl } from '../core/redact.ts'
import { silentLogger, type Logger } from '../core/log.ts'
import { Gauge, type Registry } from '../core/metrics.ts'
import { SignalEngine } from './engine.ts'
import { JetStreamFireSink } from './nats-sink.ts'
import { NatsRecordSource } from './nats-source.ts'
import { runSignals, type RunResult } from './runner.ts'
import { ConsoleFireSink, TeeFireSink } from './sinks.ts'
import type { FireSink, LoadedSignal } from './types.ts'
import { connectRoleNats } from '../transport/connect.ts'
import { watchConsumerLag } from '../transport/stream.ts'
import { validateConsumerFilter } from '../transport/subjects.ts'
import { resumeAtAckFloor, warmUp } from './warm-up.ts'
import { claimConsumer } from '../transport/claim.ts'

export interface LiveOptions {
  signals: LoadedSignal[]
  natsUrl: string
  stream: string
  filter?: string
  /** Where `filter` came from, for the error when the stream does not take it (e.g. `--filter`). */
  filterSource?: string
  /** Durable consumer name; default `signal-{id}` (joined with `+` for several signals). */
  consumer?: string
  /** Fire subject prefix. @default signals */
  outputPrefix?: string
  firesStream?: string
  console?: boolean
  registry?: Registry
  log?: Logger
}

export interface LiveRunner {
  engine: SignalEngine
  nc: NatsConnection
  done: Promise<RunResult>
  /** True once the consumer delivered its first batch or is idle and connected. */
  ready(): boolean
  /**
   * Fire publishes sent again and acks asked for again after a failure (NATS away); the consumer's
   * lag as last read (transport/stream.ts watchConsumerLag): not yet delivered, delivered and not acked.
   */
  stats(): LiveStats
  /** Settled (resolved or rejected): the runner is no longer running. */
  ended(): boolean
  /** What it did so far, for the stopped log line (final once `stop()` resolved). */
  summary(): LiveSummary
  stop(): Promise<void>
}

export interface LiveSummary {
  /** Records evaluated. */
  records: number
  /** Fires emitted, and exceptions thrown by evaluate/payload, over every signal. */
  fires: number
  errors: number
  /** Fires stored in the fires stream, and those it already held (the same Nats-Msg-Id: a restart re-fired them). */
  firesStored: number
  fireDuplicates: number
  /** Acks the server confirmed, and the stream sequence of the last (a restart resumes after it; null: none). */
  acks: number
  ackedSeq: number | null
  fireRetries: number
  ackRetries: number
}

export interface LiveStats {
  fireRetries: number
  ackRetries: number
  /** Messages matching the filter not yet delivered to the runner (-1 until first read). */
  pending: number
  /** Delivered and not yet acked (-1 until first read). */
  ackPending: number
}

export function consumerName(signals: readonly LoadedSignal[]): string {
  return `signal-${signals.map((s) => s.id).join('+')}`.replace(/[^A-Za-z0-9_+-]/g, '_').slice(0, 200)
}

export async function startLiveRunner(o: LiveOptions): Promise<LiveRunner> {
  const log = o.log ?? silentLogger()
  const nc = await connectRoleNats(o.natsUrl, consumerName(o.signals), log)
  const js = jetstream(nc)
  const jsm = await jetstreamManager(nc)
  // the stream to read must exist, and take the filter, before anything is created (the fires stream, a consumer)
  try {
    const info = await jsm.streams.info(o.stream)
    if (o.filter) validateConsumerFilter(info, o.filter, o.filterSource ?? 'the filter')
  } catch (e) {
    await nc.close().catch(() => {})
    if ((e as JetStreamApiError | undefined)?.code !== JetStreamApiCodes.StreamNotFound) throw e
    throw new ConnectionError(`stream ${o.stream} does not exist on ${redactUrl(o.natsUrl)} (start the connector first, or set the stream: NATS_STREAM / stream:)`, 'STREAM_NOT_FOUND', { cause: e })
  }
  const engine = new SignalEngine(o.signals, { log })
  const consumer = o.consumer ?? consumerName(o.signals)
  // one runner per consumer: two split the stream between them, each evaluating half of every
  // ticker's updates (wrong state, fires missed or spurious), without a word
  const claim = await claimConsumer(nc, 'signal-runner', o.stream, consumer, '--consumer', log).catch(async (e: unknown) => {
    await nc.close()
    throw e
  })
  const source = new NatsRecordSource(nc, jsm, { stream: o.stream, filter: o.filter, consumer, log })
  const js$ = new JetStreamFireSink(js, jsm, { prefix: o.outputPrefix, name: o.firesStream, log })
  try {
    await js$.start()
    // after the last message the previous run acked, in order; its state (builders, signal
    // memory) rebuilt before consuming
    const upTo = await resumeAtAckFloor({ jsm, stream: o.stream, consumer, filter: o.filter, log })
    const warmed = await warmUp({ nc, jsm, stream: o.stream, filter: o.filter, consumer, engine, log, upTo })
    if (warmed !== null) log.info(warmed, `state rebuilt from ${warmed.records} messages of the stream (${warmed.from} up to sequence ${warmed.upToSeq}, the last one evaluated; no fires)`)
  } catch (e) {
    // nothing left answering for the consumer, nothing holding the process
    claim.release()
    await nc.close().catch(() => {})
    throw e
  }
  const sink: FireSink = o.console ? new TeeFireSink([new ConsoleFireSink(), js$]) : js$
  const lag = watchConsumerLag(jsm, o.stream, consumer)
  const stats = (): LiveStats => ({ fireRetries: js$.retries, ackRetries: source.ackFailures, ...lag.lag })
  if (o.registry) registerMetrics(o.registry, engine, stats)
  let started = false
  const done = runSignals({ engine, source, sink, onBatch: () => void (started = true) })
  let settled = false
  done.then(() => void (settled = true), (e) => {
    settled = true
    log.error({ err: e }, 'signal runner stopped')
  })
  return {
    engine,
    nc,
    done,
    ready: () => !nc.isClosed() && !source.waitingForStream && (started || engine.records === 0),
    stats,
    ended: () => settled,
    summary: () => {
      let fires = 0
      let errors = 0
      for (const c of Object.values(engine.counters)) {
        fires += c.fires
        errors += c.errors
      }
      const { acks, lastSeq } = source.acked
      return {
        records: engine.records, fires, errors, firesStored: js$.published, fireDuplicates: js$.duplicates,
        acks, ackedSeq: lastSeq, fireRetries: js$.retries, ackRetries: source.ackFailures,
      }
    },
    async stop() {
      lag.stop()
      await source.close()
      await js$.close() // fires still failing to publish give up: their records come again at the next start
      await done.catch(() => undefined)
      claim.release()
      await nc.drain().catch(() => undefined)
    },
  }
}

function registerMetrics(registry: Registry, engine: SignalEngine, stats: () => LiveStats): void {
  const per = (name: string, help: string, pick: (id: string) => number) =>
    new Gauge({
      name, help, labelNames: ['signal'], registers: [registry],
      collect() {
        for (const s of engine.signals) this.set({ signal: s.id }, pick(s.id))
      },
    })
  per('ssmd_signal_evaluations_total', 'records evaluated per signal', (id) => engine.counters[id].evaluations)
  per('ssmd_signal_fires_total', 'fires per signal', (id) => engine.counters[id].fires)
  per('ssmd_signal_errors_total', 'exceptions thrown by evaluate/payload per signal', (id) => engine.counters[id].errors)
  new Gauge({ name: 'ssmd_signal_records_total', help: 'records consumed', registers: [registry], collect() { this.set(engine.records) } })
  new Gauge({ name: 'ssmd_signal_tickers', help: 'tickers with state', registers: [registry], collect() { this.set(engine.tickerCount) } })
  new Gauge({ name: 'ssmd_signal_fire_retries_total', help: 'fire publishes sent again after a failure (NATS away)', registers: [registry], collect() { this.set(stats().fireRetries) } })
  new Gauge({ name: 'ssmd_signal_consumer_pending', help: 'messages not yet delivered to the runner (its lag), as last read', registers: [registry], collect() { this.set(stats().pending) } })
  new Gauge({ name: 'ssmd_signal_consumer_ack_pending', help: 'messages delivered and not yet acked, as last read', registers: [registry], collect() { this.set(stats().ackPending) } })
  new Gauge({ name: 'ssmd_signal_ack_retries_total', help: 'acks asked for again after a failure (NATS away)', registers: [registry], collect() { this.set(stats().ackRetries) } })
}
