/**
 * Fires when a market's YES spread widens to at least 10 cents from at most 3 cents within the
 * same armed period: edge-triggered per ticker (re-arms when the spread is back to ≤ 3 cents).
 */
import type { SignalState } from '../../src/pipeline/signals/types.ts'
import type { OrderbookState } from '../../src/pipeline/state/orderbook.ts'

const TIGHT = 0.03
const WIDE = 0.1

export const signal = {
  id: 'spread-widening',
  name: 'Spread widens from ≤ 3¢ to ≥ 10¢',
  requires: ['orderbook'],

  evaluate(state: SignalState): boolean {
    const ob = state.orderbook as OrderbookState
    if (ob.spread === null) return false
    if (ob.spread <= TIGHT + 1e-9) state.memory.armed = true
    if (ob.spread >= WIDE - 1e-9 && state.memory.armed === true) {
      state.memory.armed = false
      return true
    }
    return false
  },

  payload(state: SignalState) {
    const ob = state.orderbook as OrderbookState
    return { bestBid: ob.bestBid, bestAsk: ob.bestAsk, spread: ob.spread, source: ob.source, valid: ob.valid }
  },
}
