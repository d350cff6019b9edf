export {
  dataFingerprint, gitInfo, runBacktest, writeBacktest,
  type BacktestFire, type BacktestOptions, type BacktestResult, type BacktestTimings,
} from './backtest.ts'
export { SignalEngine, type EngineOptions, type SignalCounters } from './engine.ts'
export { SignalLoadError } from './errors.ts'
export { FileRecordSource, type FileSourceOptions } from './file-source.ts'
export { MANIFEST_FILE, SIGNAL_FILE, listSignalDirs, loadSignal, signalDir, stackPosition } from './loader.ts'
export { BacktestManifestSchema, expandDates, manifestDates, parseBacktestManifest } from './manifest.ts'
export { JetStreamFireSink, SIGNALS_STREAM_DEFAULTS, type JetStreamSinkOptions } from './nats-sink.ts'
export { NatsRecordSource, ensureSignalConsumer, type NatsSourceOptions } from './nats-source.ts'
export { runSignals, type RunOptions, type RunResult } from './runner.ts'
export { ConsoleFireSink, MemoryFireSink, TeeFireSink, fireJson, formatFire } from './sinks.ts'
export {
  fireId, sourceSeqOf,
  type BacktestManifest, type EmittedFire, type FireSink, type LoadedSignal, type RecordSource,
  type Signal, type SignalFire, type SignalState, type SourceBatch,
} from './types.ts'
export { consumerName, startLiveRunner, type LiveOptions, type LiveRunner, type LiveSummary } from './live.ts'
