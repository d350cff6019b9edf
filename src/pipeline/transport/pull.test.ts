import { describe, expect, test } from 'bun:test'
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream'
import { headers } from '@nats-io/nats-core'
import { useJetStream } from '../../../test/jetstream.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor } from '../core/wait.ts'
import { PullConsumer, type Delivery, type PullStatus } from './pull.ts'

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`PullConsumer (${nats.reason})`, () => {
  const js$ = useJetStream(nats)

  /** A stream with `n` messages (every third with a Nats-Msg-Id header, sizes up to ~40 KB) and an AckPolicy.All consumer. */
  async function fixture(n: number): Promise<{ stream: string; prefix: string; payloads: string[] }> {
    const prefix = uniqueId('pull')
    const stream = prefix.toUpperCase()
    js$.streams.push(stream)
    await js$.jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] })
    const payloads: string[] = []
    for (let i = 1; i <= n; i++) {
      const p = `{"i":${i},"pad":"${'x'.repeat(i % 50 === 0 ? 40_000 : i % 300)}"}`
      payloads.push(p)
      const h = headers()
      h.set('Nats-Msg-Id', `m${i}`)
      js$.nc.publish(`${prefix}.json.ticker.T${i % 7}`, p, i % 3 === 0 ? { headers: h } : undefined)
    }
    await js$.nc.flush()
    await waitFor(async () => (await js$.jsm.streams.info(stream)).state.messages === n, `${n} messages stored`)
    // room for every delivery unacked (the test acks at the end)
    await js$.jsm.consumers.add(stream, { durable_name: 'c', ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All, max_ack_pending: 10_000 })
    return { stream, prefix, payloads }
  }

  for (const fast of [true, false]) {
    test(`delivers every message in order with its stream and delivery sequence, subject, store time, pending count and exact bytes; acks advance the floor (${fast ? 'fast path' : 'SSMD_NATS_PULL_FAST_PATH=0'})`, async () => {
      const n = 3000
      const t0 = Date.now()
      const { stream, prefix, payloads } = await fixture(n)
      const t1 = Date.now()
      const got: Delivery[] = []
      const pull = new PullConsumer(js$.nc, {
        stream, consumer: 'c', batch: 500, onMessage: (d) => void got.push(d),
        env: fast ? {} : { SSMD_NATS_PULL_FAST_PATH: '0' },
      })
      try {
        expect(pull.fastPath).toBe(fast)
        await waitFor(() => got.length >= n, `${n} deliveries`)
        const td = new TextDecoder()
        expect(got.map((d) => d.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
        expect(got.map((d) => d.delivery)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
        expect(got.every((d) => !d.redelivered)).toBe(true)
        expect(got.map((d) => td.decode(d.data))).toEqual(payloads)
        expect(got.map((d) => d.subject)).toEqual(payloads.map((_, i) => `${prefix}.json.ticker.T${(i + 1) % 7}`))
        expect(new Set(got.map((d) => d.kind))).toEqual(new Set(['ticker']))
        expect(pull.tapped).toBe(fast ? n : 0)
        expect(got.every((d) => d.timestampMs >= t0 - 1 && d.timestampMs <= t1 + 1)).toBe(true)
        expect([got[0].pending, got[n - 1].pending]).toEqual([n - 1, 0])
        got[1999].ack()
        await waitFor(async () => (await js$.jsm.consumers.info(stream, 'c')).ack_floor.stream_seq === 2000, 'ack floor at 2000')
        await got[n - 1].ackSync()
        expect((await js$.jsm.consumers.info(stream, 'c')).ack_floor.stream_seq).toBe(n)
      } finally {
        await pull.close()
      }
    })
  }

  test('pulls again after its requests expire, so messages published later still arrive', async () => {
    const { stream, prefix } = await fixture(10)
    const got: Delivery[] = []
    const events: PullStatus[] = []
    const pull = new PullConsumer(js$.nc, {
      stream, consumer: 'c', batch: 100, expiresMs: 300, heartbeatMs: 100,
      onMessage: (d) => void got.push(d), onStatus: (s) => void events.push(s),
    })
    try {
      await waitFor(() => got.length === 10, 'the first 10')
      await waitFor(() => events.filter((e) => e.type === 'request_timeout').length >= 2, 'two expired pulls')
      for (let i = 0; i < 5; i++) js$.nc.publish(`${prefix}.json.trade.X`, `{"late":${i}}`)
      await waitFor(() => got.length === 15, 'the 5 published after the pulls expired')
      expect(got.slice(10).map((d) => d.seq)).toEqual([11, 12, 13, 14, 15])
      expect(events.some((e) => e.type === 'heartbeats_missed')).toBe(false)
    } finally {
      await pull.close()
    }
  })

  test('reports a consumer deleted under it, and keeps pulling (a re-created consumer delivers again)', async () => {
    const { stream } = await fixture(5)
    const got: Delivery[] = []
    const events: PullStatus[] = []
    const pull = new PullConsumer(js$.nc, {
      stream, consumer: 'c', batch: 50, retryMs: 50, heartbeatMs: 200,
      onMessage: (d) => void got.push(d), onStatus: (s) => void events.push(s),
    })
    try {
      await waitFor(() => got.length === 5, 'the 5 messages')
      await js$.jsm.consumers.delete(stream, 'c')
      await waitFor(() => events.some((e) => e.type === 'consumer_deleted' && e.code === 409), 'a 409 consumer deleted')
      await js$.jsm.consumers.add(stream, { durable_name: 'c', ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All })
      await waitFor(() => got.length === 10, 'the 5 messages again from the new consumer')
      expect(got.slice(5).map((d) => [d.seq, d.delivery])).toEqual([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]])
    } finally {
      await pull.close()
    }
  })

  test('close stops deliveries and removes its tap', async () => {
    const { stream, prefix } = await fixture(3)
    const got: Delivery[] = []
    const pull = new PullConsumer(js$.nc, { stream, consumer: 'c', batch: 10, onMessage: (d) => void got.push(d) })
    await waitFor(() => got.length === 3, 'three')
    await pull.close()
    const handlers = (js$.nc as unknown as { protocol: Record<symbol, Map<number, unknown>> }).protocol[Symbol.for('ssmd.protocolTapHandlers')]
    expect(handlers.size).toBe(0)
    js$.nc.publish(`${prefix}.json.trade.X`, '{}')
    await js$.nc.flush()
    expect(got.length).toBe(3)
  })
})
