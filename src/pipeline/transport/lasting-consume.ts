/**
 * nats.js `consume()` on a durable consumer that outlives the consumer: when the consumer is gone
 * (deleted by an operator, or with its stream), nats.js keeps pulling it and delivers nothing,
 * quietly. Here the consumption stops, `ensure()` creates the consumer again once the stream
 * exists (retrying with back-off; stop() ends the wait) and consuming resumes. Each message comes
 * with the stream's identity, `{name}@{created}`: a stream deleted and created again numbers its
 * messages from 1 again, so a stream sequence identifies a message only together with it.
 * Used by the lifecycle consumer and the connector's CDC follower (the archiver and the signal
 * runner pull with transport/pull.ts and handle the same case themselves).
 */
import { jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import { silentLogger, type Logger } from '../core/log.ts'
import { backoffMs, delay } from '../core/wait.ts'
import { streamIdentity, waitForStream } from './stream.ts'

export interface LastingConsumeOptions {
  nc: NatsConnection
  stream: string
  consumer: string
  /** Messages pulled per request. */
  batch: number
  /**
   * Creates the consumer, or brings it up to date; called before the first consume and after the
   * consumer was lost (`again`: the stream's identity changed since, i.e. it was created again).
   */
  ensure(again?: { streamCreatedAgain: boolean }): Promise<void>
  /** One message; awaited before the next. `stream` is the stream's identity when it was read. */
  onMessage(m: JsMsg, stream: string): Promise<void>
  log?: Logger
}

export interface LastingConsumption {
  /** Settles when stop() was called and the last message was handled; rejects if onMessage threw. */
  done: Promise<void>
  /** `lost`: the consumer is gone and a new one not attached yet. */
  stats(): { reattached: number; stream: string; lost: boolean }
  stop(): Promise<void>
}

/** consume() notifications that mean the consumer (or its stream) no longer exists. */
const GONE = new Set(['consumer_deleted', 'consumer_not_found', 'stream_not_found'])

export async function consumeLasting(o: LastingConsumeOptions): Promise<LastingConsumption> {
  const log = o.log ?? silentLogger()
  const jsm = await jetstreamManager(o.nc)
  await o.ensure()
  let identity = streamIdentity(await jsm.streams.info(o.stream))
  const open = async () => (await jetstream(o.nc).consumers.get(o.stream, o.consumer)).consume({ max_messages: o.batch })
  let iter: ConsumerMessages = await open()
  let stopped = false
  let lost = false
  let reattached = 0
  const stopping = new AbortController()

  const watch = async (it: ConsumerMessages) => {
    for await (const st of it.status()) {
      if (!GONE.has(st.type) || stopped) continue
      log.warn({ stream: o.stream, consumer: o.consumer, event: st.type }, 'the consumer is gone; attaching again once the stream exists')
      lost = true
      it.stop()
      return
    }
  }
  const reattach = async () => {
    for (let attempt = 0; !stopped; attempt++) {
      const info = await waitForStream(jsm, o.stream, { signal: stopping.signal, log, why: `consumer ${o.consumer} is gone` })
      if (info === null) return
      try {
        const now = streamIdentity(info)
        await o.ensure({ streamCreatedAgain: now !== identity })
        identity = now
        iter = await open()
        lost = false
        reattached++
        log.info({ stream: identity, consumer: o.consumer }, 'consumer attached again')
        return
      } catch (e) {
        if (attempt % 20 === 0) log.warn({ stream: o.stream, err: (e as Error).message }, 'attaching the consumer failed; retrying')
        await delay(backoffMs(attempt, 250, 10_000), stopping.signal)
      }
    }
  }
  const done = (async () => {
    while (!stopped) {
      void watch(iter).catch(() => {})
      for await (const m of iter) await o.onMessage(m, identity)
      if (!lost) return
      await reattach()
    }
  })()
  done.catch(() => {})
  return {
    done,
    stats: () => ({ reattached, stream: identity, lost }),
    async stop() {
      stopped = true
      stopping.abort()
      await iter.close().catch(() => {})
      await done.catch(() => {})
    },
  }
}

/**
 * Where a consumer created again after a loss should start, for a role that acks each message
 * itself (explicit acks, some NAKed for a retry): the first message received and not acked yet,
 * else the one after the last received; null before any message (the role's own start policy).
 * Call `received` as a message arrives, `acked` when it is acked, `reset` when the stream was
 * created again (its sequences start over).
 */
export class ResumePoint {
  private readonly unacked = new Set<number>()
  private last = 0

  received(seq: number): void {
    this.unacked.add(seq)
    if (seq > this.last) this.last = seq
  }

  acked(seq: number): void {
    this.unacked.delete(seq)
  }

  next(): number | null {
    if (this.last === 0) return null
    if (this.unacked.size === 0) return this.last + 1
    let min = Infinity
    for (const s of this.unacked) if (s < min) min = s
    return min
  }

  reset(): void {
    this.unacked.clear()
    this.last = 0
  }
}
