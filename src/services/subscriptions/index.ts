export { loadActiveMarkets, type ActiveMarkets } from './active-markets.ts'
export { FOLLOW_DEFAULTS, followCdc, type Follower, type FollowOptions, type MarketSink } from './follow-cdc.ts'
