/**
 * The socket thread's side of the ring: pushes without publishing each record, and publishes
 * once per event-loop turn instead (setImmediate after the turn's first push), which also wakes
 * the flusher if it sleeps. So the frames of one socket read cost one publish barrier and at
 * most one futex wake, not one per frame; the flusher sees them at the end of the read.
 * Off switch: SSMD_RING_WAKE=each (publish and wake per record).
 */
import type { Ring } from '../../hot/ring.ts'
import type { RecordOut } from './ingest.ts'

export class RingOut implements RecordOut {
  private scheduled = false
  private readonly publish = () => {
    this.scheduled = false
    this.ring.publish()
  }

  constructor(readonly ring: Ring, perRecord = process.env.SSMD_RING_WAKE === 'each') {
    ring.deferPublish = !perRecord
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

  private schedule(): void {
    this.scheduled = true
    setImmediate(this.publish)
  }

  waitWritable(): Promise<void> {
    return this.ring.waitWritable(100)
  }
}
