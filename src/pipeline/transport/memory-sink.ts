import { UsageError } from '../core/errors.ts'
import { TransportError } from './errors.ts'
import { subjectCovers } from './subjects.ts'
import type { OutRecord, Sink, SinkStats } from './types.ts'

/** A record as the bus stored it: `seq` counts from 1, like a stream sequence. */
export interface StoredRecord extends OutRecord {
  seq: number
}

export type MemoryListener = (record: StoredRecord) => void

export const MEMORY_SINK_DEFAULTS = {
  /** Records kept in the readable log; older ones are discarded (like a stream's discard old). */
  MAX_RECORDS: 1_000_000,
  /** Distinct msgIds remembered for deduplication (oldest forgotten first). */
  DUPLICATE_WINDOW_RECORDS: 100_000,
}

export interface MemorySinkOptions {
  /** @default MEMORY_SINK_DEFAULTS.MAX_RECORDS */
  maxRecords?: number
  /** @default MEMORY_SINK_DEFAULTS.DUPLICATE_WINDOW_RECORDS */
  duplicateWindowRecords?: number
}

/**
 * The in-process bus: for tests and `ssmd run` with every role in one process. Records are
 * stored (deduplicated by msgId, like JetStream) and delivered synchronously, in write order, to
 * each subscriber whose pattern covers the subject (`*` and `>` wildcards).
 */
export class MemorySink implements Sink {
  readonly #maxRecords: number
  readonly #dupWindow: number
  #log: StoredRecord[] = []
  #ids = new Set<string>()
  #idOrder: string[] = []
  #idHead = 0
  #listeners: { pattern: string; fn: MemoryListener }[] = []
  #seq = 0
  #written = 0
  #duplicates = 0
  #closed = false

  constructor(options: MemorySinkOptions = {}) {
    this.#maxRecords = positiveInt('maxRecords', options.maxRecords ?? MEMORY_SINK_DEFAULTS.MAX_RECORDS)
    this.#dupWindow = positiveInt('duplicateWindowRecords', options.duplicateWindowRecords ?? MEMORY_SINK_DEFAULTS.DUPLICATE_WINDOW_RECORDS)
  }

  write(records: OutRecord[]): void {
    if (this.#closed) throw new TransportError('SINK_CLOSED', 'memory sink is closed')
    for (const r of records) {
      this.#written++
      if (this.#ids.has(r.msgId)) {
        this.#duplicates++
        continue
      }
      this.#remember(r.msgId)
      const stored: StoredRecord = { ...r, seq: ++this.#seq }
      this.#log.push(stored)
      for (const l of this.#listeners) if (subjectCovers(l.pattern, r.subject)) l.fn(stored)
    }
    if (this.#log.length > this.#maxRecords * 1.25) this.#log = this.#log.slice(this.#log.length - this.#maxRecords)
  }

  /** Calls `fn` for every record stored from now on whose subject `pattern` covers. Returns the unsubscribe. */
  subscribe(pattern: string, fn: MemoryListener): () => void {
    const entry = { pattern, fn }
    this.#listeners.push(entry)
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== entry)
    }
  }

  /** The stored records (at most maxRecords, oldest first), optionally those `pattern` covers. */
  records(pattern?: string): readonly StoredRecord[] {
    const start = Math.max(0, this.#log.length - this.#maxRecords)
    const log = start > 0 ? this.#log.slice(start) : this.#log
    return pattern === undefined ? log : log.filter((r) => subjectCovers(pattern, r.subject))
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners = []
  }

  stats(): SinkStats & { stored: number; duplicates: number } {
    return { written: this.#written, accepted: this.#written, pending: 0, stored: this.#seq, duplicates: this.#duplicates }
  }

  #remember(id: string): void {
    this.#ids.add(id)
    this.#idOrder.push(id)
    if (this.#idOrder.length - this.#idHead > this.#dupWindow) this.#ids.delete(this.#idOrder[this.#idHead++])
    if (this.#idHead > 65_536) {
      this.#idOrder = this.#idOrder.slice(this.#idHead)
      this.#idHead = 0
    }
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new UsageError(`options.${name} must be a positive integer (got ${v})`, 'OPTIONS')
  return v
}
