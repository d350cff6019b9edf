/**
 * The socket thread's side of the ring: pushes without publishing each record, and publishes
 * once per event-loop turn instead (setImmediate after the turn's first push), which also wakes
 * the flusher if it sleeps. So the frames of one socket read cost one publish barrier and at
 * most one futex wake, not one per frame; the flusher sees them at the end of the read.
 * Off switch: SSMD_RING_WAKE=each (publish and wake per record).
 * It also has the ring wrap early (`Ring.earlyWrapAt`, 4 MiB): while the flusher keeps up, the
 * ring's writes stay in its first 4 MiB, and the rest of it (16 MiB by default) is not made
 * resident until a burst needs it: ~14 MB less RSS. (At 1 MiB, a simulator at full speed found
 * the ring full now and then: until the woken flusher frees the pad, the producer has only the
 * bytes before the wrap.) Off switch: SSMD_RING_EARLY_WRAP=0.
 */
import type { Ring } from '../../hot/ring.ts'
import type { RecordOut } from './ingest.ts'

const EARLY_WRAP_BYTES = 1 << 22

export class RingOut implements RecordOut {
  private scheduled = false
  private readonly publish = () => {
    this.scheduled = false
    this.ring.publish()
  }

  constructor(readonly ring: Ring, perRecord = process.env.SSMD_RING_WAKE === 'each', earlyWrap = process.env.SSMD_RING_EARLY_WRAP !== '0') {
    ring.deferPublish = !perRecord
    if (earlyWrap) ring.earlyWrapAt = Math.min(ring.capacity / 2, EARLY_WRAP_BYTES)
  }

  pushParts(subject: string, frame: string, end: number, suffix: string, receivedAtUs: number, kind: number): boolean {
    const ok = this.ring.pushParts(subject, frame, end, suffix, receivedAtUs, kind)
    if (!this.scheduled && this.ring.deferPublish) this.schedule()
    return ok
  }

  pushFrame(subject: Uint8Array, frame: Uint8Array, start: number, end: number, shardId: number, receivedAtUs: number, kind: number): boolean {
    const ok = this.ring.pushFrame(subject, frame, start, end, shardId, receivedAtUs, kind)
    if (!this.scheduled && this.ring.deferPublish) this.schedule()
    return ok
  }

  pushFrameTicker(head: Uint8Array, frame: Uint8Array, tokenStart: number, tokenEnd: number, map: Uint8Array, start: number, end: number, shardId: number, receivedAtUs: number, kind: number, mapFrom: number): boolean {
    const ok = this.ring.pushFrameTicker(head, frame, tokenStart, tokenEnd, map, start, end, shardId, receivedAtUs, kind, mapFrom)
    if (!this.scheduled && this.ring.deferPublish) this.schedule()
    return ok
  }

  private schedule(): void {
    this.scheduled = true
    setImmediate(this.publish)
  }

  waitWritable(): Promise<void> {
    return this.ring.waitWritable(100)
  }
}
