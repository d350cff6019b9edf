import { describe, expect, test } from 'bun:test'
import { AckPolicy, jetstream } from '@nats-io/jetstream'
import { useJetStream } from '../../../test/jetstream.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor, withTimeout } from '../core/wait.ts'
import { consumeLasting, ResumePoint } from './lasting-consume.ts'

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`consumeLasting (${nats.reason})`, () => {
  const js$ = useJetStream(nats)

  async function setup() {
    const id = uniqueId('lc')
    const stream = id.toUpperCase()
    js$.streams.push(stream)
    await js$.jsm.streams.add({ name: stream, subjects: [`${id}.>`] })
    const seen: { data: string; seq: number; stream: string }[] = []
    const ensures: (boolean | undefined)[] = []
    const ensure = async (again?: { streamCreatedAgain: boolean }) => {
      ensures.push(again?.streamCreatedAgain)
      await js$.jsm.consumers.add(stream, { durable_name: 'c', ack_policy: AckPolicy.Explicit }).catch((e) => {
        if (!/already in use|exists/i.test(String((e as Error).message))) throw e
      })
    }
    const c = await consumeLasting({
      nc: js$.nc, stream, consumer: 'c', batch: 10, ensure,
      onMessage: async (m, s) => {
        seen.push({ data: m.string(), seq: m.seq, stream: s })
        m.ack()
      },
    })
    const publish = (data: string) => jetstream(js$.nc).publish(`${id}.x`, data)
    return { stream, seen, ensures, c, publish }
  }

  test('a consumer deleted alone is created again and consuming goes on, on the same stream identity', async () => {
    const { stream, seen, ensures, c, publish } = await setup()
    try {
      await publish('a')
      await waitFor(() => seen.length === 1, 'a')
      await js$.jsm.consumers.delete(stream, 'c')
      await waitFor(() => c.stats().reattached === 1, 'attached again', 15_000)
      await publish('b')
      await waitFor(() => seen.some((x) => x.data === 'b'), 'b')
      expect(ensures).toEqual([undefined, false])
      expect(new Set(seen.map((x) => x.stream)).size).toBe(1)
    } finally {
      await c.stop()
    }
  })

  test('a stream deleted and created again: attached again with the new identity, its messages from seq 1', async () => {
    const { stream, seen, ensures, c, publish } = await setup()
    try {
      await publish('a')
      await waitFor(() => seen.length === 1, 'a')
      await js$.jsm.streams.delete(stream)
      await js$.jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] })
      await waitFor(() => c.stats().reattached === 1, 'attached again', 15_000)
      await publish('b')
      await waitFor(() => seen.length === 2, 'b')
      expect(ensures).toEqual([undefined, true])
      expect([seen[1].data, seen[1].seq, seen[0].stream !== seen[1].stream]).toEqual(['b', 1, true])
    } finally {
      await c.stop()
    }
  })

  test('stop() ends the wait for a stream that is gone', async () => {
    const { stream, seen, c, publish } = await setup()
    await publish('a')
    await waitFor(() => seen.length === 1, 'a')
    await js$.jsm.streams.delete(stream)
    await waitFor(() => c.stats().lost, 'the consumer seen gone', 15_000)
    await withTimeout(c.stop(), 5_000, 'stop() while waiting for the stream')
  })
})

test('ResumePoint: the first message not acked, else the one after the last received; null before any', () => {
  const r = new ResumePoint()
  expect(r.next()).toBeNull()
  for (const s of [5, 6, 7, 8]) r.received(s)
  r.acked(5)
  r.acked(7)
  expect(r.next()).toBe(6) // 6 was NAKed or is in a batch: it must come again
  r.acked(6)
  r.acked(8)
  expect(r.next()).toBe(9)
  r.reset()
  expect(r.next()).toBeNull()
})
