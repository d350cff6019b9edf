/** Series templates the simulated universe is built from: real Kalshi ticker shapes per category. */
import type { FeeType } from '../../pipeline/kalshi/protocol.ts'

export type SeriesKind = 'above' | 'range' | 'fifteen' | 'monthly' | 'game' | 'index'

export interface SeriesTemplate {
  ticker: string
  title: string
  category: string
  tags: string[]
  kind: SeriesKind
  /** Strike of the first market and the step between markets. */
  base: number
  step: number
  marketsPerEvent: number
  /** Time between consecutive events (ms). */
  periodMs: number
  feeType: FeeType
  feeMultiplier: number
}

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

export const SERIES_TEMPLATES: readonly SeriesTemplate[] = [
  { ticker: 'KXBTCD', title: 'Bitcoin price today at 5pm', category: 'Crypto', tags: ['BTC'], kind: 'above', base: 100_000, step: 250, marketsPerEvent: 20, periodMs: DAY, feeType: 'quadratic', feeMultiplier: 1 },
  { ticker: 'KXBTC', title: 'Bitcoin price range', category: 'Crypto', tags: ['BTC'], kind: 'range', base: 100_000, step: 500, marketsPerEvent: 12, periodMs: DAY, feeType: 'quadratic', feeMultiplier: 1 },
  { ticker: 'KXBTC15M', title: 'Bitcoin up or down in 15 minutes', category: 'Crypto', tags: ['BTC'], kind: 'fifteen', base: 0, step: 0, marketsPerEvent: 1, periodMs: 15 * MIN, feeType: 'quadratic_with_maker_fees', feeMultiplier: 1 },
  { ticker: 'KXETHD', title: 'Ethereum price today at 5pm', category: 'Crypto', tags: ['ETH'], kind: 'above', base: 3_500, step: 20, marketsPerEvent: 15, periodMs: DAY, feeType: 'quadratic', feeMultiplier: 1 },
  { ticker: 'KXETH15M', title: 'Ethereum up or down in 15 minutes', category: 'Crypto', tags: ['ETH'], kind: 'fifteen', base: 0, step: 0, marketsPerEvent: 1, periodMs: 15 * MIN, feeType: 'quadratic_with_maker_fees', feeMultiplier: 1 },
  { ticker: 'KXSOL15M', title: 'Solana up or down in 15 minutes', category: 'Crypto', tags: ['SOL'], kind: 'fifteen', base: 0, step: 0, marketsPerEvent: 1, periodMs: 15 * MIN, feeType: 'quadratic_with_maker_fees', feeMultiplier: 1 },
  { ticker: 'KXCPI', title: 'CPI month over month', category: 'Economics', tags: ['Inflation'], kind: 'monthly', base: 0.1, step: 0.1, marketsPerEvent: 6, periodMs: 30 * DAY, feeType: 'quadratic', feeMultiplier: 1 },
  { ticker: 'KXFED', title: 'Fed funds upper bound', category: 'Economics', tags: ['Fed'], kind: 'monthly', base: 3.25, step: 0.25, marketsPerEvent: 6, periodMs: 45 * DAY, feeType: 'quadratic', feeMultiplier: 0.5 },
  { ticker: 'KXINX', title: 'S&P 500 range at close', category: 'Financials', tags: ['S&P'], kind: 'index', base: 6_000, step: 25, marketsPerEvent: 10, periodMs: DAY, feeType: 'quadratic', feeMultiplier: 1 },
  { ticker: 'KXHIGHNY', title: 'Highest temperature in NYC today', category: 'Climate and Weather', tags: ['Daily temperature'], kind: 'range', base: 45.5, step: 2, marketsPerEvent: 6, periodMs: DAY, feeType: 'quadratic', feeMultiplier: 1 },
  { ticker: 'KXAPPROVE', title: 'Presidential approval rating', category: 'Politics', tags: ['Approval'], kind: 'range', base: 40.5, step: 1, marketsPerEvent: 8, periodMs: 7 * DAY, feeType: 'quadratic', feeMultiplier: 1 },
  { ticker: 'KXNBAGAME', title: 'Pro basketball game winner', category: 'Sports', tags: ['Basketball'], kind: 'game', base: 0, step: 0, marketsPerEvent: 2, periodMs: 3 * HOUR, feeType: 'quadratic', feeMultiplier: 1 },
  { ticker: 'KXNFLGAME', title: 'Pro football game winner', category: 'Sports', tags: ['Football'], kind: 'game', base: 0, step: 0, marketsPerEvent: 2, periodMs: 6 * HOUR, feeType: 'quadratic', feeMultiplier: 1 },
  { ticker: 'KXTOPSONG', title: 'Top song on the chart this week', category: 'Entertainment', tags: ['Music'], kind: 'game', base: 0, step: 0, marketsPerEvent: 2, periodMs: 7 * DAY, feeType: 'flat', feeMultiplier: 1 },
]

export const TEAMS = ['LAL', 'BOS', 'NYK', 'GSW', 'MIA', 'CHI', 'DAL', 'DEN', 'PHX', 'MIL', 'KC', 'BUF', 'SF', 'PHI']
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']

const two = (n: number) => String(n).padStart(2, '0')

/** Kalshi date codes in UTC: `26JAN23` (+ `17` hour, + `1915` hour-minute), `26FEB` month. */
export function dateCode(ms: number, parts: 'day' | 'hour' | 'minute' | 'month'): string {
  const d = new Date(ms)
  const base = `${two(d.getUTCFullYear() % 100)}${MONTHS[d.getUTCMonth()]}`
  if (parts === 'month') return base
  const day = `${base}${two(d.getUTCDate())}`
  if (parts === 'day') return day
  if (parts === 'hour') return `${day}${two(d.getUTCHours())}`
  return `${day}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`
}

/** A strike as Kalshi prints it: `102249.99`, `53.5`, `0.3`. */
export function strikeText(n: number): string {
  return String(Math.round(n * 100) / 100)
}
