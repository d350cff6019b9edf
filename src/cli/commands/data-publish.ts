/**
 * `data replay --to nats`: each archived record published as the connector published it
 * (DESIGN §5). Subject from the frame's type and ticker through the connector's own SubjectCache
 * and kindOfType (orderbook_snapshot/delta → orderbook, market_lifecycle_v2 → lifecycle,
 * event_lifecycle by its event ticker; connector control records, error frames and any other type
 * → the control subjects the connector uses); payload = the archive line without the
 * archive-assigned `_nats_seq`/`_seq` (`_shard_id` and `_received_at` kept byte for byte); the
 * Nats-Msg-Id from the connector's OutRecordFactory: `trade:{trade_id}` for trades, else
 * `{instance}:{n}`, where the instance names the replayed archive date and `n` is the
 * record's position in it (counted before any filter), so a replay sent twice, whole or by
 * ticker, stores nothing twice (within the stream's duplicate window: JetStream's dedupe).
 */
import { resolve } from 'node:path'
import { FrameScanner, KIND_EVENT_LIFECYCLE, KIND_NONE, kindOfType, SCAN_INVALID, SubjectCache } from '../../hot/index.ts'
import { OutRecordFactory } from '../../pipeline/connector/out-records.ts'
import type { OutRecord } from '../../pipeline/transport/index.ts'

/** The `type` of the connector's own control records (gap, reconnect, invalid…). */
const CONTROL_TYPE = 'ssmd_control'
/** What the archive appends to the NATS payload: the archiver's stream sequence, the file transport's own. */
const ARCHIVE_SEQ_FIELDS = ['"_nats_seq":', '"_seq":'] as const
const utf8 = new TextEncoder()

/**
 * The NATS payload of an archive line: the line without the trailing top-level `_nats_seq` /
 * `_seq` members the archive appended (everything else, `_shard_id` and `_received_at`
 * included, as it is).
 */
export function withoutArchiveSeq(line: string): string {
  let end = line.length
  while (end > 0 && line.charCodeAt(end - 1) <= 0x20) end--
  if (end === 0 || line.charCodeAt(end - 1) !== 0x7d) return line
  const close = end - 1
  let cut = close
  for (;;) {
    const comma = line.lastIndexOf(',', cut - 1)
    if (comma < 0) break
    const field = ARCHIVE_SEQ_FIELDS.find((f) => line.startsWith(f, comma + 1))
    if (field === undefined || !isDigits(line, comma + 1 + field.length, cut)) break
    cut = comma
  }
  return cut === close ? line.slice(0, end) : `${line.slice(0, cut)}}`
}

function isDigits(s: string, a: number, b: number): boolean {
  if (a >= b) return false
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}

/** The kind of a connector control record (`kind`, or the older shape's `msg.kind`); 'unknown' when it has none. */
function controlKind(payload: string): string {
  try {
    const o = JSON.parse(payload) as { kind?: unknown; msg?: { kind?: unknown } }
    const kind = typeof o.kind === 'string' ? o.kind : o.msg?.kind
    return typeof kind === 'string' && kind !== '' ? kind : 'unknown'
  } catch {
    return 'unknown'
  }
}

export class ReplayPublisher {
  private readonly subjects: SubjectCache
  private readonly scanner = new FrameScanner()

  /** `instanceId` names what is replayed (see `replayInstanceId`); `prefix` as the connector's. */
  constructor(prefix: string, private readonly instanceId: string) {
    this.subjects = new SubjectCache(prefix)
  }

  /** The record of archive line `line`, the `n`th record (1-based) of the replay, as the connector sent it. */
  record(line: string, n: number, receivedAtUs: number): OutRecord {
    const payload = withoutArchiveSeq(line)
    const r = this.scanner.scan(payload)
    const kind = r.status === SCAN_INVALID ? KIND_NONE : kindOfType(r.type)
    let subject: string
    if (kind === KIND_NONE) {
      subject = this.subjects.controlSubject(r.type === CONTROL_TYPE ? controlKind(payload) : r.type === 'error' ? 'error' : 'unknown')
    } else {
      const ticker = kind === KIND_EVENT_LIFECYCLE ? r.eventTicker : r.marketTicker
      // a data frame without its ticker: where the connector forwards it
      subject = ticker === null || ticker === '' ? this.subjects.controlSubject('unknown') : this.subjects.data(kind, ticker)
    }
    // the connector's counter at n - 1: make() numbers this record n
    return new OutRecordFactory(this.instanceId, n - 1).make(subject, utf8.encode(payload), receivedAtUs, kind)
  }
}

/**
 * The replay's instance id: feed, stream, date and a hash of the archive root's absolute path, so
 * the same archive date replayed again gives the same ids and another archive's never does.
 */
export function replayInstanceId(root: string, feed: string, stream: string | undefined, date: string): string {
  return `replay-${feed}-${stream ?? 'all'}-${date}-${Bun.hash(resolve(root)).toString(36)}`
}
