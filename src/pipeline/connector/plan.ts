/** How the market list becomes shards (reference §1.9–1.10): ≤ shard size markets per socket. */
import type { Channel, ConnectorMode } from '../config/schema.ts'

export interface ShardPlan {
  id: number
  channels: Channel[]
  /** Channels this shard subscribes without a market filter (all markets). */
  global: Channel[]
  markets: string[]
}

export interface PlanInput {
  mode: ConnectorMode
  /** The market list: configured (markets, secmaster) or discovered over REST (global). */
  markets: string[]
  channels: readonly Channel[]
  shardSize: number
}

/** Channels Kalshi serves only per market. */
export const PER_MARKET_CHANNELS: readonly Channel[] = ['orderbook_delta']

/**
 * lifecycle: one socket, lifecycle only. global: shard 0 subscribes ticker/trade/lifecycle for
 * all markets; per-market channels (orderbook_delta) go over the market list in chunks.
 * markets/secmaster: the sorted, de-duplicated list in chunks of `shardSize`, one subscribe per
 * channel per shard; the lifecycle channel (global-only at Kalshi) on shard 0 only.
 */
export function planShards(input: PlanInput): ShardPlan[] {
  if (input.mode === 'lifecycle') return [{ id: 0, channels: ['market_lifecycle_v2'], global: ['market_lifecycle_v2'], markets: [] }]
  const lifecycle = input.channels.includes('market_lifecycle_v2')
  const tickers = [...new Set(input.markets)].sort()
  const globalMode = input.mode === 'global'
  const perMarket = input.channels.filter((c) => c !== 'market_lifecycle_v2' && (!globalMode || PER_MARKET_CHANNELS.includes(c)))
  const wide = globalMode ? input.channels.filter((c) => c !== 'market_lifecycle_v2' && !PER_MARKET_CHANNELS.includes(c)) : []
  const plans: ShardPlan[] = []
  for (let i = 0; i < tickers.length && perMarket.length; i += input.shardSize) {
    plans.push({ id: plans.length, channels: [...perMarket], global: [], markets: tickers.slice(i, i + input.shardSize) })
  }
  if (plans.length === 0) plans.push({ id: 0, channels: [...perMarket], global: [], markets: [] })
  const first = plans[0]
  first.channels = [...wide, ...first.channels]
  first.global = [...wide]
  if (lifecycle) {
    first.channels.push('market_lifecycle_v2')
    first.global.push('market_lifecycle_v2')
  }
  return plans
}
