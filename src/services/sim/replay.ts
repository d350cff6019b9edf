/**
 * Replay of a recorded file: raw Kalshi frames one per line, or archive lines (DESIGN §7) with
 * `,"_shard_id":N,"_received_at":N,"_nats_seq":N` / `"_seq":N` appended before the final `}`
 * (stripped to recover the original bytes); `.jsonl` or `.jsonl.gz`.
 *
 * Each subscription replays the file from its start, filtered to its channel and markets, at 1×,
 * N× (by `_received_at` spacing, else the frame's ts) or max speed. sid/seq: `rewrite` (default)
 * puts the subscriber's own sid and seq in the envelope and keeps the `msg` bytes verbatim, so a
 * connector's gap check works; `verbatim` sends every line byte for byte.
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { DataError } from '../../pipeline/core/errors.ts'
import type { KalshiChannel } from '../../pipeline/kalshi/protocol.ts'
import type { Connection, FrameSource, Subscription } from './connection.ts'

export type ReplaySids = 'rewrite' | 'verbatim'

export interface ReplayLine {
  raw: string
  type: string
  channel: KalshiChannel
  ticker: string | null
  hasSeq: boolean
  msgAt: number
  /** ms on the recording's clock (received time, else exchange time), or NaN. */
  t: number
}

const TYPE_CHANNEL: Record<string, KalshiChannel> = {
  ticker: 'ticker',
  trade: 'trade',
  orderbook_snapshot: 'orderbook_delta',
  orderbook_delta: 'orderbook_delta',
  market_lifecycle_v2: 'market_lifecycle_v2',
  event_lifecycle: 'market_lifecycle_v2',
}
const ARCHIVE_SUFFIX = /(,"_(?:shard_id|received_at|nats_seq|seq)":\d+)+}$/

/** Strips the archive's appended fields, returning the original frame bytes and `_received_at` (µs). */
export function stripArchiveFields(line: string): { raw: string; receivedAtUs: number | null } {
  const m = ARCHIVE_SUFFIX.exec(line)
  if (!m) return { raw: line, receivedAtUs: null }
  const r = /"_received_at":(\d+)/.exec(m[0])
  return { raw: `${line.slice(0, m.index)}}`, receivedAtUs: r ? Number(r[1]) : null }
}

export function parseReplayLine(line: string): ReplayLine | null {
  const { raw, receivedAtUs } = stripArchiveFields(line)
  const type = /^\{"type":"([a-z_0-9]+)"/.exec(raw)?.[1] ?? /"type":"([a-z_0-9]+)"/.exec(raw)?.[1]
  const channel = type ? TYPE_CHANNEL[type] : undefined
  if (!type || !channel) return null
  const msgAt = raw.indexOf('"msg":')
  if (msgAt < 0) return null
  const ticker = /"market_ticker":"([^"]+)"/.exec(raw)?.[1] ?? null
  let t = receivedAtUs !== null ? receivedAtUs / 1000 : NaN
  if (Number.isNaN(t)) {
    const tsMs = /"ts_ms":(\d+)/.exec(raw)
    const ts = /"ts":(\d+)/.exec(raw)
    const iso = /"ts":"([^"]+)"/.exec(raw)
    t = tsMs ? Number(tsMs[1]) : ts ? Number(ts[1]) * 1000 : iso ? Date.parse(iso[1]) : NaN
  }
  return { raw, type, channel, ticker, hasSeq: /^\{"type":"[^"]+","sid":\d+,"seq":\d+,/.test(raw) || raw.slice(0, msgAt).includes('"seq":'), msgAt, t }
}

/** Reads a `.jsonl` / `.jsonl.gz` recording (gzip detected by magic bytes). */
export function loadReplay(file: string): ReplayLine[] {
  let buf: Buffer
  try {
    buf = readFileSync(file)
  } catch (e) {
    throw new DataError(`cannot read replay file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, 'SIM_REPLAY_UNREADABLE')
  }
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf)
  const out: ReplayLine[] = []
  for (const line of buf.toString('utf8').split('\n')) {
    if (line.trim() === '') continue
    const l = parseReplayLine(line.replace(/\r$/, ''))
    if (l) out.push(l)
  }
  if (out.length === 0) throw new DataError(`replay file ${file} has no Kalshi data frames`, 'SIM_REPLAY_EMPTY')
  return out
}

export class ReplaySource implements FrameSource {
  private i = 0
  lastType = ''
  private timer: ReturnType<typeof setTimeout> | undefined
  private startedAt = 0
  private t0 = NaN
  readonly dueInMs?: () => number

  constructor(
    private readonly lines: readonly ReplayLine[],
    private readonly sub: Subscription,
    private readonly speed: number | 'max',
    private readonly sids: ReplaySids,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (speed !== 'max') this.dueInMs = () => this.due()
  }

  private peek(): ReplayLine | null {
    while (this.i < this.lines.length) {
      const l = this.lines[this.i]
      if (l.channel === this.sub.channel && (l.ticker === null || this.sub.covers(l.ticker))) return l
      this.i++
    }
    return null
  }

  next(sub: Subscription, conn: Connection): string | null {
    const l = this.peek()
    if (!l) return null
    this.i++
    this.lastType = l.type
    if (this.sids === 'verbatim') return l.raw
    const head = l.hasSeq ? `{"type":"${l.type}","sid":${sub.sid},"seq":${conn.nextSeq(sub)},` : `{"type":"${l.type}","sid":${sub.sid},`
    return head + l.raw.slice(l.msgAt)
  }

  private due(): number {
    const l = this.peek()
    if (!l) return Infinity
    if (Number.isNaN(this.t0)) {
      this.t0 = l.t
      this.startedAt = this.now()
    }
    if (Number.isNaN(l.t)) return 0
    return Math.max(0, (l.t - this.t0) / (this.speed as number) - (this.now() - this.startedAt))
  }

  /** Timed replay: sends each frame when due, until the file or the subscription ends. */
  start(conn: Connection, sub: Subscription): void {
    const step = () => {
      if (conn.closed || !conn.subs.has(sub.sid)) return
      let wait = this.due()
      while (wait === 0 && !sub.done) {
        const frame = this.next(sub, conn)
        if (frame === null) return
        conn.sendData(sub, this.lastType, frame)
        wait = this.due()
      }
      if (wait !== Infinity && !sub.done) this.timer = setTimeout(step, wait)
    }
    step()
  }

  stop(): void {
    clearTimeout(this.timer)
  }
}
