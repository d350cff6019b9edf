import { describe, expect, test } from 'bun:test'
import { AckPolicy, DeliverPolicy, jetstream } from '@nats-io/jetstream'
import { nanos } from '@nats-io/nats-core'
import { useJetStream } from '../../../test/jetstream.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor } from '../core/wait.ts'
import { NatsRecordSource } from './nats-source.ts'
import type { SourceBatch } from './types.ts'

const nats = await needService('nats')
const frame = (i: number) => `{"type":"ticker","sid":1,"seq":${i},"msg":{"market_ticker":"KX-${i % 3}","yes_bid_dollars":"0.40","yes_ask_dollars":"0.45","ts":${1_770_480_000 + i}}}`

describe.skipIf(!nats.ok)(`NatsRecordSource (${nats.reason})`, () => {
  const js$ = useJetStream(nats)

  test('messages the server delivers again after they were handed out (their ack lost, ack_wait passed) are skipped, never evaluated twice', async () => {
    const { nc, jsm, streams } = js$
    const id = uniqueId('src')
    const stream = id.toUpperCase()
    streams.push(stream)
    await jsm.streams.add({ name: stream, subjects: [`${id}.>`] })
    // the runner's consumer, with a 1 s ack_wait so the server redelivers soon (the source keeps an existing consumer)
    await jsm.consumers.add(stream, { durable_name: 'sig', ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All, ack_wait: nanos(1000) })
    const js = jetstream(nc)
    for (let i = 1; i <= 10; i++) await js.publish(`${id}.json.ticker.x`, frame(i))
    const source = new NatsRecordSource(nc, jsm, { stream, consumer: 'sig', batchSize: 100 })
    const got: SourceBatch[] = []
    const reading = (async () => {
      for await (const b of source.batches()) got.push(b)
    })()
    await waitFor(() => got.reduce((n, b) => n + b.records.length, 0) === 10, 'the 10 records handed out')
    // not acked: after ack_wait the server delivers 1..10 again
    await waitFor(async () => (await jsm.consumers.info(stream, 'sig')).num_redelivered > 0, 'a redelivery', 10_000)
    await js.publish(`${id}.json.ticker.x`, frame(11))
    await waitFor(() => got.some((b) => b.seqs.includes(11)), 'the new message handed out')
    expect(got.flatMap((b) => b.seqs)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    await got.at(-1)!.ack!() // acks everything up to 11 (AckPolicy.All)
    await source.close()
    await reading
    expect((await jsm.consumers.info(stream, 'sig')).ack_floor.stream_seq).toBe(11)
  }, 30_000)
})
