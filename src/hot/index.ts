/** src/hot: the connector's latency-critical path. No I/O, no imports from other src folders. */
export { HotError } from './errors.ts'
export { monoNs, nowMs, nowUs, WallClock } from './clock.ts'
export { FRAME_TYPES, FrameScanner, SCAN_FALLBACK, SCAN_INVALID, SCAN_OK, ScanResult, scanByJsonParse } from './scan.ts'
export type { FrameScannerOptions } from './scan.ts'
export {
  CONTROL_KINDS,
  DATA_KINDS,
  decodeTickerToken,
  encodeTickerToken,
  KIND_EVENT_LIFECYCLE,
  KIND_LIFECYCLE,
  KIND_NONE,
  KIND_ORDERBOOK,
  KIND_TICKER,
  KIND_TRADE,
  kindOfType,
  plainToken,
  plainTokenFrom,
  SubjectCache,
  TOKEN_BYTE,
} from './subject.ts'
export type { DataKind, SubjectCacheOptions } from './subject.ts'
export { hashString, ShardedMap } from './sharded-map.ts'
export type { ShardedMapOptions } from './sharded-map.ts'
export { SEQ_FIRST, SEQ_GAP, SEQ_OK, SEQ_STALE, SeqTracker } from './seq-tracker.ts'
export type { SeqTrackerOptions } from './seq-tracker.ts'
export { RING_HEADER_BYTES, RING_MAGIC, RING_RECORD_HEADER_BYTES, Ring, RingRecord } from './ring.ts'
export { drainLoop } from './drain-loop.ts'
export type { DrainLoopOptions } from './drain-loop.ts'
export { isSafeUint, uintLength, writeUint, writeUintDigits } from './digits.ts'
