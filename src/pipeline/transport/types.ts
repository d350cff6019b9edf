/**
 * The seam between the connector's flusher Worker and a transport (DESIGN.md §6): the Worker
 * writes batches of records; a sink makes them durable (JetStream PubAck, local journal, file,
 * memory). Implementations: NatsSink, MemorySink (here), the file sink (archive writer).
 */

/** One record leaving the connector. `payload` already carries `_shard_id`/`_received_at`. */
export interface OutRecord {
  subject: string
  payload: Uint8Array
  /** Deduplication id (`Nats-Msg-Id`): the same id twice is stored once. */
  msgId: string
  /** Local receive time in µs since the epoch, for the receive → durable latency metric. */
  receivedAtUs?: number
  /** The connector's own monotonic sequence (the file transport writes it as `_seq`). */
  seq?: number
}

export interface SinkStats {
  /** Records handed to `write()`. */
  written: number
  /** Records durably accepted (acked, journaled, stored). */
  accepted: number
  /** Records written but not yet accepted. */
  pending: number
}

export interface Sink {
  /**
   * Takes a batch; the sink owns the records from here. Returns a promise only to apply
   * back-pressure: the caller should await it before writing more.
   */
  write(records: OutRecord[]): void | Promise<void>
  /** Resolves once every record written before the call is durably accepted. */
  flush(): Promise<void>
  /** Flushes, then releases the sink's resources. Writing after close throws SINK_CLOSED. */
  close(): Promise<void>
  stats(): SinkStats
}
