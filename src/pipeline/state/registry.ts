/** The builder names a signal may `require`, their config schemas, and the factory. */
import { z } from 'zod'
import { OrderbookBuilder } from './orderbook.ts'
import { PriceHistoryBuilder } from './price-history.ts'
import type { BuilderContext, StateBuilder } from './types.ts'
import { VolumeProfileBuilder } from './volume-profile.ts'

export const BUILDER_NAMES = ['orderbook', 'priceHistory', 'volumeProfile'] as const
export type BuilderName = (typeof BUILDER_NAMES)[number]

const positiveInt = z.number().int().positive()

export const BUILDER_CONFIG_SCHEMAS = {
  orderbook: z.strictObject({ depthLevels: positiveInt.optional() }),
  priceHistory: z.strictObject({ windowSize: positiveInt.optional(), windowMs: positiveInt.optional() }),
  volumeProfile: z.strictObject({ windowMs: positiveInt.optional() }),
} as const

export type BuilderConfigs = { [K in BuilderName]?: z.infer<(typeof BUILDER_CONFIG_SCHEMAS)[K]> }

export function isBuilderName(name: string): name is BuilderName {
  return (BUILDER_NAMES as readonly string[]).includes(name)
}

export function createBuilder(name: BuilderName, configs: BuilderConfigs, ctx: BuilderContext): StateBuilder {
  switch (name) {
    case 'orderbook':
      return new OrderbookBuilder(ctx, configs.orderbook)
    case 'priceHistory':
      return new PriceHistoryBuilder(configs.priceHistory)
    case 'volumeProfile':
      return new VolumeProfileBuilder(configs.volumeProfile)
  }
}
