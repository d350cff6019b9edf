/**
 * The socket thread's side of the ring: pushes without waking the flusher per record, and wakes
 * it once per event-loop turn instead (setImmediate), so a flusher that keeps up and sleeps
 * between frames costs one futex wake per burst, not per frame; a busy flusher (under load) is
 * not sleeping and costs no wake and no setImmediate at all. Off switch: SSMD_RING_WAKE=each.
 */
import type { Ring } from '../../hot/ring.ts'
import type { RecordOut } from './ingest.ts'

export class RingOut implements RecordOut {
  private scheduled = false
  private readonly wake = () => {
    this.scheduled = false
    this.ring.flushWake()
  }

  constructor(readonly ring: Ring, perRecord = process.env.SSMD_RING_WAKE === 'each') {
    ring.deferWake = !perRecord
  }

  pushParts(subject: string, frame: string, end: number, suffix: string, receivedAtUs: number, kind: number): boolean {
    const ok = this.ring.pushParts(subject, frame, end, suffix, receivedAtUs, kind)
    if (!this.scheduled && this.ring.deferWake && this.ring.consumerSleeping()) {
      this.scheduled = true
      setImmediate(this.wake)
    }
    return ok
  }

  pushFrame(subject: Uint8Array, frame: Uint8Array, start: number, end: number, shardId: number, receivedAtUs: number, kind: number): boolean {
    const ok = this.ring.pushFrame(subject, frame, start, end, shardId, receivedAtUs, kind)
    if (!this.scheduled && this.ring.deferWake && this.ring.consumerSleeping()) {
      this.scheduled = true
      setImmediate(this.wake)
    }
    return ok
  }

  waitWritable(): Promise<void> {
    return this.ring.waitWritable(100)
  }
}
