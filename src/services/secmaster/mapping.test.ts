import { describe, expect, test } from 'bun:test'
import { eventRow, isGame, mapMarketStatus, marketRow, price, seriesRow } from './mapping.ts'

describe('REST → row mapping', () => {
  test('market statuses follow the HEAD table; unknown ones become closed and are reported', () => {
    const unknown: string[] = []
    const statuses = ['initialized', 'open', 'active', 'closed', 'inactive', 'disputed', 'amended', 'determined', 'settled', 'finalized', 'weird', undefined]
    expect(statuses.map((s) => mapMarketStatus(s, (u) => unknown.push(u)))).toEqual([
      'initialized', 'active', 'active', 'closed', 'closed', 'closed', 'closed', 'determined', 'settled', 'settled', 'closed', 'closed',
    ])
    expect(unknown).toEqual(['weird', 'undefined'])
  })

  test('prices prefer the exact *_dollars string, else cents ÷ 100; an empty string is null', () => {
    expect([price('0.5600', 12), price('', 12), price(undefined, 7), price(undefined, 100), price(null, null)]).toEqual(['0.5600', null, '0.07', '1.00', null])
    const m = marketRow({ ticker: 'A-1-X', event_ticker: 'A-1', yes_bid: 40, yes_ask_dollars: '0.4100', volume_fp: '12.00', floor_strike: 72999.99 })
    expect([m.yes_bid, m.yes_ask, m.no_bid, m.volume, m.volume_24h, m.floor_strike, m.title, m.status]).toEqual(['0.40', '0.4100', null, '12', '0', '72999.99', 'A-1-X', 'closed'])
  })

  test('events without a status are active; the status filter of the request applies when given', () => {
    expect(eventRow({ event_ticker: 'KXBTC-26JAN01' })).toEqual({
      event_ticker: 'KXBTC-26JAN01', title: 'KXBTC-26JAN01', category: '', series_ticker: 'KXBTC', strike_date: null, mutually_exclusive: false, status: 'active',
    })
    expect([eventRow({ event_ticker: 'E' }, 'settled').status, eventRow({ event_ticker: 'E' }, 'closed').status, eventRow({ event_ticker: 'E' }, 'open').status]).toEqual(['settled', 'closed', 'active'])
  })

  test('series: is_game from GAME/MATCH in the ticker, volume from volume or volume_fp', () => {
    expect([isGame('KXNBAGAME'), isGame('kxatpmatch'), isGame('KXBTCD')]).toEqual([true, true, false])
    expect(seriesRow({ ticker: 'KXNFLGAME', volume_fp: '99.00', fee_type: 'quadratic', fee_multiplier: 0.5, tags: ['Football'] })).toEqual({
      ticker: 'KXNFLGAME', title: '', category: '', tags: ['Football'], is_game: true, volume: '99', fee_type: 'quadratic', fee_multiplier: '0.5',
    })
  })
})
