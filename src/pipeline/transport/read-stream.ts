import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import { TimeoutError } from '../core/errors.ts'

export interface StreamRecord {
  seq: number
  subject: string
  payload: Uint8Array
  msgId: string
}

/**
 * Every message a stream holds, in stream order, through an ordered consumer (for tests, the
 * bench and checks). Rejects with a TimeoutError if they do not all arrive within `timeoutMs`.
 */
export async function readStream(nc: NatsConnection, stream: string, timeoutMs = 10_000): Promise<StreamRecord[]> {
  const jsm = await jetstreamManager(nc)
  const { state } = await jsm.streams.info(stream)
  const out: StreamRecord[] = []
  if (state.messages === 0) return out
  const consumer = await jetstream(nc).consumers.get(stream)
  const messages = await consumer.consume({ max_messages: 1000 })
  const timer = setTimeout(() => messages.stop(), timeoutMs)
  try {
    for await (const m of messages) {
      out.push({ seq: m.seq, subject: m.subject, payload: m.data, msgId: m.headers?.get('Nats-Msg-Id') ?? '' })
      if (m.seq >= state.last_seq) break
    }
  } finally {
    clearTimeout(timer)
    messages.stop()
  }
  if (out.length < state.messages) {
    throw new TimeoutError(`read ${out.length} of ${state.messages} messages of stream ${stream} within ${timeoutMs} ms`)
  }
  return out
}
