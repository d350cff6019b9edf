import { expect, test } from 'bun:test'
import { planShards } from './plan.ts'

test('global mode subscribes ticker and trade for all markets on one socket', () => {
  expect(planShards({ mode: 'global', markets: [], channels: ['ticker', 'trade'], shardSize: 200 })).toEqual([
    { id: 0, channels: ['ticker', 'trade'], global: ['ticker', 'trade'], markets: [] },
  ])
})

test('global mode puts the per-market order book channel over the discovered markets in shards', () => {
  const markets = Array.from({ length: 250 }, (_, i) => `M-${String(i).padStart(3, '0')}`)
  const plans = planShards({ mode: 'global', markets, channels: ['ticker', 'trade', 'orderbook_delta', 'market_lifecycle_v2'], shardSize: 200 })
  expect(plans.map((p) => [p.id, p.channels, p.global, p.markets.length])).toEqual([
    [0, ['ticker', 'trade', 'orderbook_delta', 'market_lifecycle_v2'], ['ticker', 'trade', 'market_lifecycle_v2'], 200],
    [1, ['orderbook_delta'], [], 50],
  ])
})

test('a market list is sorted, de-duplicated and cut into shards of at most shard-size markets', () => {
  const markets = Array.from({ length: 450 }, (_, i) => `M-${String(i).padStart(3, '0')}`)
  const plans = planShards({ mode: 'markets', markets: [...markets, 'M-000'], channels: ['ticker', 'trade', 'market_lifecycle_v2'], shardSize: 200 })
  expect(plans.map((p) => [p.id, p.markets.length, p.channels, p.global])).toEqual([
    [0, 200, ['ticker', 'trade', 'market_lifecycle_v2'], ['market_lifecycle_v2']],
    [1, 200, ['ticker', 'trade'], []],
    [2, 50, ['ticker', 'trade'], []],
  ])
  expect(plans.flatMap((p) => p.markets)).toEqual(markets)
})

test('lifecycle mode is one socket on the lifecycle channel only', () => {
  expect(planShards({ mode: 'lifecycle', markets: ['A'], channels: ['ticker'], shardSize: 200 })).toEqual([
    { id: 0, channels: ['market_lifecycle_v2'], global: ['market_lifecycle_v2'], markets: [] },
  ])
})
