/**
 * The CDC loop: peek pgoutput changes from a PERMANENT slot, publish one JetStream message per
 * row change (awaiting every PubAck), then advance the slot to the last published commit.
 * A crash anywhere before the advance re-peeks the same changes on restart and re-publishes them
 * with the same `Nats-Msg-Id`, which JetStream drops as duplicates within its window: nothing is
 * lost, nothing is stored twice. See docs/CDC.md.
 */
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Sql } from 'postgres'
import { backoffMs, delay } from '../../pipeline/core/wait.ts'
import { ConnectionError } from '../../pipeline/core/errors.ts'
import { silentLogger, type Logger } from '../../pipeline/core/log.ts'
import { createRegistry, type Registry } from '../../pipeline/core/metrics.ts'
import { ensureStream } from '../../pipeline/transport/stream.ts'
import { validateStreamSubjects } from '../../pipeline/transport/subjects.ts'
import { cdcMsgId, cdcPk, cdcSubject, type CdcEvent } from './event.ts'
import { compareLsn, parseLsn } from './lsn.ts'
import { cdcMetrics, zeroEventCounters } from './metrics.ts'
import { PgoutputDecoder } from './pgoutput.ts'
import { checkLogicalWal, ensurePublication, ensureSlot, lockSlot, slotPosition } from './setup.ts'
import { requireMigrated } from '../db/migrator.ts'

export const CDC_DEFAULTS = {
  slot: 'ssmd_cdc',
  publication: 'ssmd_cdc_pub',
  tables: ['events', 'markets', 'series', 'series_fees'],
  stream: 'SECMASTER_CDC',
  subjectPrefix: 'cdc',
  /** Changes per peek (whole transactions are always returned, so a batch may be larger). */
  batchChanges: 1000,
  /** PubAcks in flight at once. */
  publishWindow: 128,
  idleMs: 100,
  maxConsecutiveFailures: 5,
  streamMaxAgeMs: 7 * 86_400_000,
  streamMaxBytes: 1 << 30,
  /** Must outlast a crash + restart: re-published events inside it are dropped as duplicates. */
  duplicateWindowMs: 15 * 60_000,
} as const

export interface CdcOptions {
  /** A pool whose sessions run with TimeZone=UTC, DateStyle=ISO (openCdcSql makes one). */
  sql: Sql
  nc: NatsConnection
  slot?: string
  publication?: string
  tables?: string[]
  stream?: string
  subjectPrefix?: string
  batchChanges?: number
  publishWindow?: number
  idleMs?: number
  maxConsecutiveFailures?: number
  duplicateWindowMs?: number
  log?: Logger
  registry?: Registry
}

export interface CdcStats {
  published: number
  duplicates: number
  batches: number
  lastLsn: string | null
  lagBytes: number
  failures: number
  lastProgressAt: number
}

export interface Cdc {
  stats(): CdcStats
  registry: Registry
  /** Resolves when the loop ends: after stop(), or rejects after too many consecutive failures. */
  done: Promise<void>
  stop(): Promise<void>
}

/** Ensures stream, publication and slot, then runs the loop until stop(). */
export async function startCdc(options: CdcOptions): Promise<Cdc> {
  const o = { ...CDC_DEFAULTS, ...stripUndefined(options) }
  const log = options.log ?? silentLogger()
  const registry = options.registry ?? createRegistry()
  const m = cdcMetrics(registry)
  zeroEventCounters(m.events, o.tables)
  const { sql, nc } = options
  const tables = new Set(o.tables)
  // before anything is created: a server without logical WAL would fail at the slot
  await checkLogicalWal(sql)
  if (o.tables.join() === CDC_DEFAULTS.tables.join()) await requireMigrated(sql, 'cdc') // its tables are ssmd's
  // one CDC per slot: a second one would fight over it ("slot … is active for PID …")
  const slotLock = await lockSlot(sql, o.slot)
  const streamSpec = {
    name: o.stream,
    subjects: [`${o.subjectPrefix}.>`],
    maxAgeMs: CDC_DEFAULTS.streamMaxAgeMs,
    maxBytes: CDC_DEFAULTS.streamMaxBytes,
    duplicateWindowMs: o.duplicateWindowMs,
  }
  let jsm: Awaited<ReturnType<typeof jetstreamManager>> | undefined
  /** Creates or validates the stream: at start, and again when a publish finds it gone (inside the try below: a failure releases the slot's lock). */
  const ensureOurStream = async () => {
    jsm ??= await jetstreamManager(nc)
    const info = await ensureStream(jsm, streamSpec, log)
    // an existing stream that does not take the prefix would refuse every publish ("no responders")
    validateStreamSubjects(info, o.subjectPrefix)
  }
  try {
    await ensureOurStream()
    await ensurePublication(sql, o.publication, [...o.tables], log)
    await ensureSlot(sql, o.slot, log)
  } catch (e) {
    await slotLock.release()
    throw e
  }
  const js = jetstream(nc)
  const decoder = new PgoutputDecoder()
  const stats: CdcStats = { published: 0, duplicates: 0, batches: 0, lastLsn: null, lagBytes: 0, failures: 0, lastProgressAt: Date.now() }
  const abort = new AbortController()

  /** One round: returns true when it found changes (so the next round runs without idling). */
  async function round(): Promise<boolean> {
    const [{ flushed }] = (await sql`select pg_current_wal_flush_lsn()::text as flushed`) as unknown as [{ flushed: string }]
    const rows = await sql<{ lsn: string; data: Buffer }[]>`
      select lsn::text, data from pg_logical_slot_peek_binary_changes(
        ${o.slot}, null, ${o.batchChanges}, 'proto_version', '1', 'publication_names', ${o.publication})`
    if (rows.length === 0) {
      // Nothing of ours committed up to `flushed` (the peek decoded at least that far), so the slot
      // may move there: otherwise other databases' WAL would pile up behind an idle slot.
      if (stats.lastLsn && compareLsn(flushed, stats.lastLsn) > 0) {
        await sql`select pg_replication_slot_advance(${o.slot}, ${flushed}::pg_lsn)`
      }
      return false
    }
    const ready: { event: CdcEvent; keys: string[] }[] = []
    let pending: { event: CdcEvent; keys: string[] }[] = []
    let tx = { commitLsn: '0/0', commitTime: '', xid: 0 }
    let advanceTo: string | null = null
    for (const { lsn, data } of rows) {
      const msg = decoder.decode(data)
      if (msg.tag === 'begin') {
        tx = { commitLsn: msg.finalLsn, commitTime: msg.commitTime, xid: msg.xid }
        pending = []
      } else if (msg.tag === 'change') {
        const table = msg.relation.table
        if (!tables.has(table) && !tables.has(`${msg.relation.schema}.${table}`)) {
          m.skipped.inc({ table })
          continue
        }
        const event: CdcEvent = {
          lsn, commit_lsn: tx.commitLsn, table, op: msg.op, row: msg.row,
          old_keys: msg.op === 'insert' ? null : (msg.old ?? pick(msg.row, msg.relation.keyColumns)),
          commit_time: tx.commitTime, xid: tx.xid,
        }
        if (msg.unchanged.length) event.unchanged_columns = msg.unchanged
        pending.push({ event, keys: msg.relation.keyColumns })
      } else if (msg.tag === 'commit') {
        ready.push(...pending)
        pending = []
        advanceTo = msg.endLsn
      }
    }
    await publishAll(js, ready, o, m, stats, async (subject) => {
      log.warn({ stream: o.stream, subject }, `cdc: stream ${o.stream} is missing (publish to ${subject} found no stream); creating it again`)
      await ensureOurStream().catch((e: unknown) => {
        throw new ConnectionError(`cdc: stream ${o.stream} is missing (no stream takes ${subject}) and cannot be created again: ${(e as Error).message}`, 'CDC_NO_STREAM', { cause: e })
      })
    })
    if (advanceTo) {
      await sql`select pg_replication_slot_advance(${o.slot}, ${advanceTo}::pg_lsn)`
      stats.batches++
      m.batches.inc()
    }
    await refreshPosition()
    return true
  }

  async function refreshPosition(): Promise<void> {
    const p = await slotPosition(sql, o.slot)
    stats.lastLsn = p.confirmed
    stats.lagBytes = p.lagBytes
    stats.lastProgressAt = Date.now()
    m.lagBytes.set(p.lagBytes)
    if (p.confirmed) m.lastLsn.set(Number(parseLsn(p.confirmed)))
  }

  const done = (async () => {
    let failures = 0
    await refreshPosition()
    while (!abort.signal.aborted) {
      try {
        const busy = await round()
        failures = 0
        if (!busy) {
          await delay(o.idleMs, abort.signal)
          await refreshPosition()
        }
      } catch (e) {
        if (abort.signal.aborted) break
        failures++
        stats.failures++
        m.errors.inc()
        log.error({ err: e, failures }, 'cdc round failed; the slot was not advanced past unpublished changes')
        if (failures >= o.maxConsecutiveFailures) {
          throw new ConnectionError(`cdc: ${failures} consecutive failures, last: ${(e as Error).message}`, 'CDC_FAILING', { cause: e })
        }
        await delay(backoffMs(failures, 200, 5_000), abort.signal)
      }
    }
  })().finally(() => slotLock.release())
  done.catch(() => {})

  return {
    registry,
    done,
    stats: () => ({ ...stats }),
    async stop() {
      abort.abort()
      await done.catch(() => {})
    },
  }
}

/** A publish answered 503 "no responders": no stream takes the subject (nats.js words it "jetstream is not enabled"). */
function isNoStream(e: unknown): boolean {
  const text = `${(e as Error)?.message ?? ''} ${String((e as { cause?: unknown })?.cause ?? '')}`
  return /no responders|503/i.test(text)
}

async function publishAll(
  js: JetStreamClient,
  ready: { event: CdcEvent; keys: string[] }[],
  o: { stream: string; subjectPrefix: string; publishWindow: number },
  m: ReturnType<typeof cdcMetrics>,
  stats: CdcStats,
  recreateStream: (subject: string) => Promise<void>,
): Promise<void> {
  const encoder = new TextEncoder()
  const send = (window: typeof ready) => Promise.all(window.map(({ event, keys }) =>
    js.publish(cdcSubject(o.subjectPrefix, event.table, event.op), encoder.encode(JSON.stringify(event)), {
      msgID: cdcMsgId(event, cdcPk(event, keys)),
    })))
  for (let i = 0; i < ready.length; i += o.publishWindow) {
    const window = ready.slice(i, i + o.publishWindow)
    const subject = cdcSubject(o.subjectPrefix, window[0]!.event.table, window[0]!.event.op)
    // sent in order on one connection, so stored in order; all acks awaited before the next window.
    // A window that found no stream is sent again whole after the stream is back: the Nats-Msg-Id
    // drops whatever of it was stored.
    const acks = await send(window).catch(async (e: unknown) => {
      if (!isNoStream(e)) throw e
      await recreateStream(subject)
      return send(window).catch((again: unknown) => {
        if (!isNoStream(again)) throw again
        throw new ConnectionError(`cdc: stream ${o.stream} is missing: publish to ${subject} found no stream even after creating it again`, 'CDC_NO_STREAM', { cause: again })
      })
    })
    for (let j = 0; j < acks.length; j++) {
      const { event } = window[j]!
      m.events.inc({ table: event.table, op: event.op })
      stats.published++
      if (acks[j]!.duplicate) {
        stats.duplicates++
        m.duplicates.inc()
      }
    }
  }
}

function pick(row: Record<string, unknown>, keys: string[]): CdcEvent['row'] {
  const out: CdcEvent['row'] = {}
  for (const k of keys) out[k] = (row[k] ?? null) as CdcEvent['row'][string]
  return out
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
