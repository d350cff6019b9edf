/** Transports: the Sink seam the connector's flusher writes into, and the streams behind it. */
export type { OutRecord, Sink, SinkStats } from './types.ts'
export { TransportError } from './errors.ts'
export { MemorySink, MEMORY_SINK_DEFAULTS, type MemorySinkOptions, type MemoryListener, type StoredRecord } from './memory-sink.ts'
export { NatsSink, NATS_SINK_DEFAULTS, type NatsSinkOptions, type NatsSinkStats } from './nats-sink.ts'
export { Journal, JOURNAL_DEFAULTS, type JournalOptions, type JournalRecord } from './journal.ts'
export { consumerGone, ensureStream, LAG_EVERY_MS, streamIdentity, waitForStream, watchConsumerLag, type ConsumerLag, type StreamSpec } from './stream.ts'
export { subjectCovers, validateStreamSubjects, type StreamSubjectsInfo } from './subjects.ts'
export { readStream, type StreamRecord } from './read-stream.ts'
