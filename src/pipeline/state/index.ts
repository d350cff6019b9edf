export { OrderbookBuilder, type OrderbookConfig, type OrderbookState } from './orderbook.ts'
export { PriceHistoryBuilder, type PriceHistoryConfig, type PriceHistoryState } from './price-history.ts'
export {
  BUILDER_CONFIG_SCHEMAS, BUILDER_NAMES, createBuilder, isBuilderName,
  type BuilderConfigs, type BuilderName,
} from './registry.ts'
export { SequenceTracker, newBuilderContext, type BuilderContext, type StateBuilder } from './types.ts'
export { VolumeProfileBuilder, type VolumeProfileConfig, type VolumeProfileState } from './volume-profile.ts'
