/**
 * Fires when the last 20 trades of a market moved the YES price by at least 10% (up or down) with
 * at least 200 contracts traded: edge-triggered per ticker and direction.
 */
import type { SignalState } from '../../src/pipeline/signals/types.ts'
import type { PriceHistoryState } from '../../src/pipeline/state/price-history.ts'

const MIN_MOVE = 0.1
const MIN_VOLUME = 200

export const signal = {
  id: 'price-momentum',
  name: 'Price moved ≥ 10% over the last 20 trades',
  requires: ['priceHistory'],

  evaluate(state: SignalState): boolean {
    const p = state.priceHistory as PriceHistoryState
    const dir = p.tradeCount >= 20 && p.volume >= MIN_VOLUME && Math.abs(p.returns) >= MIN_MOVE ? Math.sign(p.returns) : 0
    const prev = state.memory.dir ?? 0
    state.memory.dir = dir
    return dir !== 0 && dir !== prev
  },

  payload(state: SignalState) {
    const p = state.priceHistory as PriceHistoryState
    return { direction: p.returns > 0 ? 'up' : 'down', returns: p.returns, last: p.last, vwap: p.vwap, volume: p.volume, volatility: p.volatility }
  },
}
