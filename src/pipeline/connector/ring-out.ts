/**
 * The socket thread's side of the ring: pushes without waking the flusher per record, and wakes
 * it once per event-loop turn instead (setImmediate), so a flusher that keeps up and sleeps
 * between frames costs one futex wake per burst, not per frame. Off switch: SSMD_RING_WAKE=each.
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
    if (!this.scheduled && this.ring.deferWake) {
      this.scheduled = true
      setImmediate(this.wake)
    }
    return ok
  }
}
