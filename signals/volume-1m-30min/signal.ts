/**
 * Fires when a market's dollar volume within the last 30min reaches $1,000,000. Edge-triggered per
 * ticker: fires once on crossing, re-arms when the windowed volume falls back below the threshold.
 * The window (1800000 ms) comes from backtest.yaml `state.volumeProfile.windowMs`.
 */
import type { SignalState } from '../../src/pipeline/signals/types.ts'
import type { VolumeProfileState } from '../../src/pipeline/state/volume-profile.ts'

const THRESHOLD_DOLLARS = 1_000_000

export const signal = {
  id: 'volume-1m-30min',
  name: 'Dollar volume reaches $1M within 30min',
  requires: ['volumeProfile'],

  evaluate(state: SignalState): boolean {
    const v = state.volumeProfile as VolumeProfileState
    const above = v.dollarVolume >= THRESHOLD_DOLLARS
    const armed = state.memory.above !== true
    state.memory.above = above
    return above && armed
  },

  payload(state: SignalState) {
    const v = state.volumeProfile as VolumeProfileState
    return {
      ticker: v.ticker,
      dollarVolume: v.dollarVolume,
      contractVolume: v.totalVolume,
      tradeCount: v.tradeCount,
      buyRatio: v.ratio,
      lastPrice: v.lastPrice,
      windowMs: v.windowMs,
      lastUpdate: new Date(v.lastUpdate).toISOString(),
    }
  },
}
