/** Test helpers: a unique stream with N ~300-byte frames, and reading back what was archived. */
import { jetstream, type JetStreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import { listArchiveFiles, readArchive } from '../archive/index.ts'

export function frame(i: number, ticker = `KXT-${i % 50}`): string {
  const msg = `{"market_ticker":"${ticker}","trade_id":"t${i}","yes_price":${i % 100},"count":${i % 7},"taker_side":"yes","ts":${1_700_000_000 + i}}`
  return `{"type":"trade","sid":1,"seq":${i},"msg":${msg},"_shard_id":0,"_received_at":${1_700_000_000_000_000 + i}}`
}

export async function createStream(jsm: JetStreamManager, name: string, subject: string): Promise<void> {
  await jsm.streams.add({ name, subjects: [subject] })
}

/** Publishes `count` frames starting at frame `from`, in windows of 1000 (awaited acks). */
export async function publishFrames(nc: NatsConnection, subjectOf: (i: number) => string, from: number, count: number): Promise<void> {
  const js = jetstream(nc)
  for (let i = from; i < from + count; i += 1000) {
    const n = Math.min(1000, from + count - i)
    await Promise.all(Array.from({ length: n }, (_, k) => js.publish(subjectOf(i + k), frame(i + k))))
  }
}

/** `_nats_seq` → how many lines carry it, over every closed file of the stream directory. */
export async function archivedSeqs(root: string, feed: string, stream: string): Promise<Map<number, number>> {
  const files = await listArchiveFiles(root, { feed, stream })
  const counts = new Map<number, number>()
  for await (const line of readArchive(files, { unwrapSeed: false })) {
    const m = /"_nats_seq":(\d+)\}$/.exec(line)
    const seq = m ? Number(m[1]) : -1
    counts.set(seq, (counts.get(seq) ?? 0) + 1)
  }
  return counts
}

/** Sequences in 1..last that are not there exactly once. */
export function notExactlyOnce(counts: Map<number, number>, last: number): string[] {
  const bad: string[] = []
  for (let s = 1; s <= last; s++) if (counts.get(s) !== 1) bad.push(`${s}×${counts.get(s) ?? 0}`)
  for (const s of counts.keys()) if (s < 1 || s > last) bad.push(`extra ${s}`)
  return bad
}

export async function deleteStream(jsm: JetStreamManager | undefined, name: string): Promise<void> {
  await jsm?.streams.delete(name).catch(() => {})
}
