/**
 * Fires into JetStream: subject `{prefix}.{signalId}.fires`, stream `SIGNALS` on `{prefix}.>`
 * (created or brought to explicit limits at start), `Nats-Msg-Id` = `fireId(fire)` so a restarted
 * runner re-emitting a fire within the duplicate window is dropped by the server (counted).
 *
 * A publish that fails for want of the server (a timeout, no responders while JetStream restarts,
 * a connection being re-established) is sent again with back-off until it is stored or the sink
 * closes: the same Nats-Msg-Id, so one that was stored after all is not stored twice. No
 * responders because the stream is gone: it is created again. Before, the first such failure
 * ended the runner, and a runner with no next batch to notice it sat on unacked records with
 * their fires missing. Errors the server answers (a PubAck error) still fail.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import { silentLogger, type Logger } from '../core/log.ts'
import { backoffMs, delay } from '../core/wait.ts'
import { ensureStream } from '../transport/stream.ts'
import { fireJson } from './sinks.ts'
import { fireId, type EmittedFire, type FireSink } from './types.ts'

export const SIGNALS_STREAM_DEFAULTS = {
  name: 'SIGNALS',
  prefix: 'signals',
  maxAgeMs: 30 * 86_400_000,
  maxBytes: 1024 ** 3,
  duplicateWindowMs: 3_600_000,
}

export interface JetStreamSinkOptions extends Partial<typeof SIGNALS_STREAM_DEFAULTS> {
  log?: Logger
}

/** Publish errors that mean the server is away, not that it refused the fire. */
const AWAY = new Set(['TimeoutError', 'NoRespondersError', 'JetStreamNotEnabled', 'RequestError', 'ConnectionError'])

export class JetStreamFireSink implements FireSink {
  published = 0
  duplicates = 0
  /** Publishes sent again after a failure. */
  retries = 0
  private readonly o: typeof SIGNALS_STREAM_DEFAULTS
  private ready: Promise<unknown> | null = null
  private readonly log: Logger
  private readonly closing = new AbortController()

  constructor(private readonly js: JetStreamClient, private readonly jsm: JetStreamManager, private readonly options: JetStreamSinkOptions = {}) {
    this.o = { ...SIGNALS_STREAM_DEFAULTS, ...stripUndefined(options) }
    this.log = options.log ?? silentLogger()
  }

  subject(signalId: string): string {
    return `${this.o.prefix}.${signalId}.fires`
  }

  /** Ensures the stream (also done on the first publish). */
  start(): Promise<unknown> {
    this.ready ??= ensureStream(this.jsm, {
      name: this.o.name, subjects: [`${this.o.prefix}.>`], maxAgeMs: this.o.maxAgeMs,
      maxBytes: this.o.maxBytes, duplicateWindowMs: this.o.duplicateWindowMs,
    }, this.options.log)
    return this.ready
  }

  async publish(fire: EmittedFire): Promise<void> {
    const subject = this.subject(fire.signalId)
    const data = fireJson(fire)
    const msgID = fireId(fire)
    for (let attempt = 0; ; attempt++) {
      try {
        await this.start()
        const ack = await this.js.publish(subject, data, { msgID })
        if (ack.duplicate) this.duplicates++
        else this.published++
        return
      } catch (e) {
        this.ready = null // checked again before the next attempt: the stream may be gone
        const name = (e as Error | null)?.name ?? ''
        if (!AWAY.has(name) || this.closing.signal.aborted) throw e
        this.retries++
        if (attempt % 10 === 0) this.log.warn({ subject, msgId: msgID, attempt, err: (e as Error).message }, 'publishing a fire failed; sending it again')
        await delay(backoffMs(attempt, 100, 5_000), this.closing.signal)
      }
    }
  }

  /** Ends the retries of publishes still failing (they reject with their last error). */
  async close(): Promise<void> {
    this.closing.abort()
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'log')) as Partial<T>
}
