/**
 * `ssmd lifecycle-consumer`: a durable JetStream consumer on the lifecycle subjects, one
 * PostgreSQL transaction per message (applyLifecycle), ack after commit, NAK with a delay when
 * the database fails, `term` for messages that can never be read. A periodic sweep promotes
 * initialized markets whose open time has come. /health /ready /metrics via serveOps.
 * Events are keyed by the stream's identity (`{name}@{created}`) and sequence, so a stream
 * deleted and created again (its sequences start over) is not taken for redeliveries; a consumer
 * deleted under it (alone or with its stream) is created again once the stream exists.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, jetstreamManager, type JetStreamApiError, type JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Sql } from 'postgres'
import { DataError, UsageError } from '../../pipeline/core/errors.ts'
import { serveOps, type OpsServer } from '../../pipeline/core/http.ts'
import { silentLogger, type Logger } from '../../pipeline/core/log.ts'
import { natsState } from '../../pipeline/core/nats-link.ts'
import { consumeLasting, ResumePoint } from '../../pipeline/transport/lasting-consume.ts'
import { validateConsumerFilter } from '../../pipeline/transport/subjects.ts'
import { Counter, Gauge, createRegistry, type Registry } from '../../pipeline/core/metrics.ts'
import { applyLifecycle } from './apply.ts'
import { parseLifecycle } from './frame.ts'
import { sweepInitialized } from './sweep.ts'
import { requireMigrated } from '../db/migrator.ts'

export const LIFECYCLE_CONSUMER_DEFAULTS = {
  consumer: 'lifecycle-consumer',
  sweepIntervalMs: 10_000,
  nakDelayMs: 5_000,
  /** Messages pulled per request. */
  batch: 100,
}

export interface LifecycleConsumerOptions {
  sql: Sql
  nc: NatsConnection
  stream: string
  /** e.g. `dev.kalshi.json.lifecycle.>` */
  filter: string
  /** Durable name. @default 'lifecycle-consumer' */
  consumer?: string
  /** @default 10000; 0 disables the sweep */
  sweepIntervalMs?: number
  /** Redelivery delay after a database error. @default 5000 */
  nakDelayMs?: number
  /** @default 100 */
  batch?: number
  /** The clock of the sweep (ms). @default Date.now */
  clock?: () => number
  /** Where `filter` came from, for the error when the stream does not take it. */
  filterSource?: string
  /** Port for /health /ready /metrics; undefined: no server. */
  opsPort?: number
  registry?: Registry
  logger?: Logger
}

export interface LifecycleConsumerStats {
  applied: number
  duplicates: number
  skipped: number
  malformed: number
  dbErrors: number
  promoted: number
  sweeps: number
  lastSeq: number
}

export interface LifecycleConsumer {
  stats: LifecycleConsumerStats
  ops: OpsServer | null
  /** Runs one sweep now (tests; the timer calls the same). */
  sweep(): Promise<number>
  stop(): Promise<void>
}

export async function startLifecycleConsumer(options: LifecycleConsumerOptions): Promise<LifecycleConsumer> {
  const d = LIFECYCLE_CONSUMER_DEFAULTS
  const o = { ...d, clock: Date.now, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<Omit<LifecycleConsumerOptions, 'opsPort' | 'registry' | 'logger' | 'filterSource'>> & LifecycleConsumerOptions
  for (const k of ['sweepIntervalMs', 'nakDelayMs'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new UsageError(`Expected \`${k}\` to be an integer from 0 and up, got ${o[k]}`, 'LIFECYCLE_BAD_OPTION')
  }
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new UsageError(`Expected \`batch\` to be an integer from 1 and up, got ${o.batch}`, 'LIFECYCLE_BAD_OPTION')
  if (!o.filter) throw new UsageError('Expected `filter` to be a subject like dev.kalshi.json.lifecycle.>', 'LIFECYCLE_BAD_OPTION')
  const log = o.logger ?? silentLogger()
  const registry = o.registry ?? createRegistry()
  const messages = new Counter({ name: 'ssmd_lifecycle_messages_total', help: 'lifecycle messages by outcome', labelNames: ['outcome'], registers: [registry] })
  // every outcome at 0 from the start: a series that appears with its first increment makes increase() miss it
  for (const outcome of ['applied', 'duplicate', 'skipped', 'malformed', 'db_error']) messages.inc({ outcome }, 0)
  const promotedC = new Counter({ name: 'ssmd_lifecycle_promoted_total', help: 'initialized markets promoted to active by the sweep', registers: [registry] })
  const lastSeqG = new Gauge({ name: 'ssmd_lifecycle_last_seq', help: 'stream sequence of the last message handled', registers: [registry] })
  const stats: LifecycleConsumerStats = { applied: 0, duplicates: 0, skipped: 0, malformed: 0, dbErrors: 0, promoted: 0, sweeps: 0, lastSeq: 0 }
  let dbOk = true
  // liveness: a NATS or database outage is ridden out (NATS reconnects, the message is redelivered),
  // so only readiness says no meanwhile; a restart would not bring either back sooner
  // (a client closed for good, e.g. after repeated authorization errors, is not: a restart helps)
  const health = () => {
    const nats = natsState(o.nc)
    return { ok: nats !== 'closed', status: nats === 'closed' ? 'nats_closed' : 'ok', nats, database: dbOk, ...stats }
  }
  const ready = () => {
    const nats = natsState(o.nc)
    const ok = nats === 'connected' && dbOk
    return { ok, status: ok ? 'ok' : 'degraded', nats, database: dbOk, ...stats }
  }
  // the ops port first: a port in use fails the start before anything is consumed
  const ops = o.opsPort === undefined ? null : serveOps({ port: o.opsPort, registry, health, ready })
  const resume = new ResumePoint()
  let consumption: Awaited<ReturnType<typeof consumeLasting>>
  try {
    await requireMigrated(o.sql, 'lifecycle consumer')
    const jsm = await jetstreamManager(o.nc)
    // a filter outside the stream: our error naming both, not the server's refusal of the consumer
    const info = await jsm.streams.info(o.stream).catch((e: JetStreamApiError) => {
      if (e?.code === JetStreamApiCodes.StreamNotFound) return null // ensureConsumer says so
      throw e
    })
    if (info) validateConsumerFilter(info, o.filter, o.filterSource ?? 'the filter')
    consumption = await consumeLasting({
      nc: o.nc, stream: o.stream, consumer: o.consumer, batch: o.batch, log,
      // a consumer lost and created again starts at the first message not acked yet (on the same
      // stream; it used to go back to the stream's start), or at the start of a stream created again
      ensure: async (again) => {
        await ensureConsumer(jsm, o.stream, o.consumer, o.filter, log, again && !again.streamCreatedAgain ? resume.next() : null)
        if (again?.streamCreatedAgain) resume.reset()
      },
      onMessage: (m, stream) => handle(m, stream),
    })
  } catch (e) {
    await ops?.stop()
    throw e
  }

  async function handle(m: JsMsg, stream: string): Promise<void> {
    resume.received(m.seq)
    const where = `stream ${o.stream} seq ${m.seq} (${m.subject})`
    let event
    try {
      event = parseLifecycle(m.data, where)
    } catch (e) {
      stats.malformed++
      messages.inc({ outcome: 'malformed' })
      log.error({ err: e, seq: m.seq }, `lifecycle: dropping unreadable message: ${(e as Error).message}`)
      m.term()
      resume.acked(m.seq)
      return
    }
    if (!event) {
      stats.skipped++
      messages.inc({ outcome: 'skipped' })
      m.ack()
      resume.acked(m.seq)
      return
    }
    try {
      const outcome = await applyLifecycle(o.sql, event, m.seq, stream)
      dbOk = true
      if (outcome === 'applied') stats.applied++
      else stats.duplicates++
      messages.inc({ outcome })
      stats.lastSeq = m.seq
      lastSeqG.set(m.seq)
      m.ack()
      resume.acked(m.seq)
    } catch (e) {
      dbOk = false
      stats.dbErrors++
      messages.inc({ outcome: 'db_error' })
      log.error({ err: e, seq: m.seq, ticker: event.ticker }, `lifecycle: database error, redelivering ${where} in ${o.nakDelayMs} ms`)
      m.nak(o.nakDelayMs)
    }
  }

  const sweep = async () => {
    const n = await sweepInitialized(o.sql, new Date(o.clock()))
    stats.sweeps++
    stats.promoted += n
    promotedC.inc(n)
    if (n > 0) log.info({ promoted: n }, `lifecycle: ${n} initialized market(s) now active`)
    return n
  }
  let sweeping = false
  const timer = o.sweepIntervalMs > 0 ? setInterval(() => {
    if (sweeping) return
    sweeping = true
    sweep().catch((e) => log.error({ err: e }, `lifecycle: sweep failed: ${(e as Error).message}`)).finally(() => (sweeping = false))
  }, o.sweepIntervalMs) : undefined

  log.info({ stream: o.stream, filter: o.filter, consumer: o.consumer }, 'lifecycle consumer started')

  return {
    stats,
    ops,
    sweep,
    async stop() {
      clearInterval(timer)
      await consumption.stop()
      await ops?.stop()
    },
  }
}

/** Creates the durable consumer (explicit ack, deliver all, the filter) or brings its filter up to date. */
async function ensureConsumer(jsm: Awaited<ReturnType<typeof jetstreamManager>>, stream: string, name: string, filter: string, log: Logger, fromSeq: number | null = null): Promise<void> {
  try {
    const info = await jsm.consumers.info(stream, name)
    if (info.config.filter_subject !== filter) {
      await jsm.consumers.update(stream, name, { filter_subject: filter })
      log.info({ consumer: name, from: info.config.filter_subject, to: filter }, 'lifecycle: consumer filter updated')
    }
    return
  } catch (e) {
    const code = (e as JetStreamApiError | undefined)?.code
    if (code === JetStreamApiCodes.StreamNotFound) throw new DataError(`JetStream stream ${stream} does not exist (create it, or start the connector first)`, 'LIFECYCLE_NO_STREAM', { cause: e })
    if (code !== JetStreamApiCodes.ConsumerNotFound) throw e
  }
  await jsm.consumers.add(stream, {
    durable_name: name, ack_policy: AckPolicy.Explicit, filter_subject: filter,
    ...(fromSeq === null ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq }),
  })
}
