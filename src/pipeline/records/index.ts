export { fromObject, newParseStats, parseRecord, toMs, type ParseOptions, type ParseStats } from './parse.ts'
export {
  RECORD_TYPES, priceTicks, stripRaw, ticksToDollars,
  type Level, type LifecycleRecord, type MarketRecord, type OrderbookDeltaRecord,
  type OrderbookSnapshotRecord, type OtherRecord, type RecordType, type Side, type TickerRecord,
  type TradeRecord,
} from './types.ts'
