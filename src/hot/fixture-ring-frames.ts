/**
 * Fixture for tests and benches only (not exported from index.ts): the records the
 * Ring.pushFrame Worker test pushes, rebuilt identically by the producer and the Worker from a
 * seed — realistic frames plus non-ASCII ones, packed into one chunk as a socket delivers them.
 */
import { makeCorpus } from './fixture-frames.ts'
import { Prng } from './fixture-prng.ts'

export interface FrameRecordCorpus {
  frames: string[]
  /** Every frame's bytes, one after another with 2 bytes of noise before each. */
  chunk: Uint8Array
  start: number[]
  /** Byte index of each frame's final `}`. */
  lastBrace: number[]
}

export function frameRecordCorpus(seed: number, n = 1000): FrameRecordCorpus {
  const r = new Prng(seed)
  const frames = makeCorpus(r, n).map((f, i) =>
    i % 7 === 3 ? f.replace(/"market_ticker":"/, '"note":"é中😀","market_ticker":"Ω-') : f,
  )
  const enc = new TextEncoder()
  const bytes = frames.map((f) => enc.encode(f))
  const chunk = new Uint8Array(bytes.reduce((k, b) => k + b.length + 2, 0))
  const start: number[] = []
  const lastBrace: number[] = []
  let p = 0
  for (const b of bytes) {
    chunk[p++] = 0x81
    chunk[p++] = 0x7e
    start.push(p)
    chunk.set(b, p)
    lastBrace.push(p + b.lastIndexOf(125))
    p += b.length
  }
  return { frames, chunk, start, lastBrace }
}

export interface FrameRecord {
  subject: string
  payload: string
  shardId: number
  receivedAtUs: number
  kind: number
}

/** Record i: frame i mod n up to its final `}`, then the shard and receive-time suffix. */
export function frameRecord(c: FrameRecordCorpus, i: number): FrameRecord {
  const f = c.frames[i % c.frames.length]
  const shardId = i % 3
  const receivedAtUs = 1_769_000_000_000_000 + i * 7
  return {
    subject: `dev.kalshi.json.orderbook.${i % 13}`,
    payload: `${f.slice(0, f.lastIndexOf('}'))},"_shard_id":${shardId},"_received_at":${receivedAtUs}}`,
    shardId,
    receivedAtUs,
    kind: i % 5,
  }
}
