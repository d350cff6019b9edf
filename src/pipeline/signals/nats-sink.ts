/**
 * Fires into JetStream: subject `{prefix}.{signalId}.fires`, stream `SIGNALS` on `{prefix}.>`
 * (created or brought to explicit limits at start), `Nats-Msg-Id` = `fireId(fire)` so a restarted
 * runner re-emitting a fire within the duplicate window is dropped by the server (counted).
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { Logger } from '../core/log.ts'
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

export class JetStreamFireSink implements FireSink {
  published = 0
  duplicates = 0
  private readonly o: typeof SIGNALS_STREAM_DEFAULTS
  private ready: Promise<unknown> | null = null

  constructor(private readonly js: JetStreamClient, private readonly jsm: JetStreamManager, private readonly options: JetStreamSinkOptions = {}) {
    this.o = { ...SIGNALS_STREAM_DEFAULTS, ...stripUndefined(options) }
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
    await this.start()
    const ack = await this.js.publish(this.subject(fire.signalId), fireJson(fire), { msgID: fireId(fire) })
    if (ack.duplicate) this.duplicates++
    else this.published++
  }

  async close(): Promise<void> {}
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'log')) as Partial<T>
}
