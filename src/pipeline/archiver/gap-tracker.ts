/** A hole found in a sequence: `missing_count` numbers after `after_seq`. */
export interface Gap {
  after_seq: number
  missing_count: number
}

/**
 * Gap detection on a monotonic sequence (reference §5.2): `expected = last + 1`; a higher value
 * reports a gap; redelivered, duplicate or lower values never move `expected` back; 0 (unknown) is
 * ignored. Seeded with the last durably written sequence on restart, so a hole across a restart
 * is reported too.
 */
export class GapTracker {
  private last: number | null

  constructor(last: number | null = null) {
    this.last = last
  }

  /** Feeds one sequence; returns the gap it reveals, if any. */
  see(seq: number): Gap | null {
    if (seq <= 0) return null
    if (this.last === null) {
      this.last = seq
      return null
    }
    if (seq <= this.last) return null
    const gap = seq > this.last + 1 ? { after_seq: this.last, missing_count: seq - this.last - 1 } : null
    this.last = seq
    return gap
  }

  get lastSeq(): number | null {
    return this.last
  }
}
