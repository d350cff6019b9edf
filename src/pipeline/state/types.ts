/**
 * State builders (DESIGN §8): one instance per ticker and builder name, fed every record of that
 * ticker in order; `getState()` returns a fresh plain object (signals may keep it).
 */
import type { MarketRecord } from '../records/types.ts'

export interface StateBuilder<S = unknown> {
  readonly id: string
  update(record: MarketRecord): void
  getState(): S
  reset(): void
}

/**
 * Per-subscription sequence bookkeeping shared by all the books of one runtime: Kalshi's `seq`
 * counts per `sid` across every market of the subscription, so a gap seen on one ticker's frame
 * may have hidden another ticker's delta. Each gap bumps the subscription's epoch; a book built
 * at an older epoch is invalid until its next snapshot.
 */
export class SequenceTracker {
  private readonly last = new Map<string, number>()
  private readonly epochs = new Map<string, number>()
  gaps = 0

  static key(shard: number | undefined, sid: number): string {
    return `${shard ?? ''}:${sid}`
  }

  /** Records `seq` on `key`; true when it is not the successor of the last one seen. */
  observe(key: string, seq: number): boolean {
    const prev = this.last.get(key)
    this.last.set(key, seq)
    if (prev === undefined || seq === prev + 1) return false
    this.gaps++
    this.epochs.set(key, this.epoch(key) + 1)
    return true
  }

  epoch(key: string): number {
    return this.epochs.get(key) ?? 0
  }
}

/** What builders of one runtime share. */
export interface BuilderContext {
  sequences: SequenceTracker
}

export function newBuilderContext(): BuilderContext {
  return { sequences: new SequenceTracker() }
}
