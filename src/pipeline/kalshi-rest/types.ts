/** The parts of Kalshi's REST objects ssmd reads (reference §2.2–2.3). Everything is optional: check. */
export interface RestSeries {
  ticker: string
  title?: string
  category?: string
  tags?: string[] | null
  volume?: number
  volume_fp?: string
  fee_type?: string
  fee_multiplier?: number | string
}

export interface RestEvent {
  event_ticker: string
  series_ticker?: string
  title?: string
  sub_title?: string
  category?: string
  strike_date?: string | null
  mutually_exclusive?: boolean
  status?: string
  markets?: RestMarket[]
}

export interface RestMarket {
  ticker: string
  event_ticker: string
  title?: string
  subtitle?: string
  status?: string
  open_time?: string | null
  close_time?: string | null
  expected_expiration_time?: string | null
  yes_bid?: number
  yes_ask?: number
  no_bid?: number
  no_ask?: number
  last_price?: number
  yes_bid_dollars?: string
  yes_ask_dollars?: string
  no_bid_dollars?: string
  no_ask_dollars?: string
  last_price_dollars?: string
  volume?: number
  volume_fp?: string
  volume_24h?: number
  volume_24h_fp?: string
  open_interest?: number
  open_interest_fp?: string
  floor_strike?: number | string | null
  cap_strike?: number | string | null
  strike_type?: string | null
  result?: string | null
  expiration_value?: string | null
  yes_sub_title?: string | null
  no_sub_title?: string | null
  can_close_early?: boolean | null
  market_type?: string | null
}

export interface RestFeeChange {
  id: string
  series_ticker: string
  fee_type: string
  fee_multiplier?: number | string
  scheduled_ts: string
}

/** One page of a cursor-paginated list: its items, its 1-based number, the next cursor ('' = last). */
export interface Page<T> {
  items: T[]
  page: number
  cursor: string
}
