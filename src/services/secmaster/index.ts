export { ANCHOR_DEFAULT_AGE_MS, ANCHOR_KEYS, readAnchors, writeAnchors } from './anchors.ts'
export type { Anchors } from './anchors.ts'
export {
  EVENT_COLUMNS, MARKET_COLUMNS, MARKET_STATUSES, SERIES_COLUMNS, count, eventRow, isGame, mapEventStatus,
  mapMarketStatus, marketRow, price, seriesRow,
} from './mapping.ts'
export type { DbMarketStatus, EventRow, MarketRow, SeriesRow } from './mapping.ts'
export { listMarkets, showMarket } from './query.ts'
export type { ListFilter, MarketListing } from './query.ts'
export { fetchSeries, syncSeries } from './series-sync.ts'
export type { SeriesSyncResult } from './series-sync.ts'
export { SOFT_DELETE_CHUNK, softDeleteUnseen } from './soft-delete.ts'
export type { SoftDeleteResult } from './soft-delete.ts'
export { SYNC_DEFAULTS, syncSecmaster } from './sync.ts'
export type { SyncMode, SyncOptions, SyncProgress, SyncResult } from './sync.ts'
export { MAX_BIND_PARAMS, batchSize, changedEvents, changedMarkets, missingEvents, upsertEvents, upsertMarkets, upsertSeries } from './upsert.ts'
export { ORPHANS_LISTED, SyncWriter } from './writer.ts'
export type { WriterTotals } from './writer.ts'
