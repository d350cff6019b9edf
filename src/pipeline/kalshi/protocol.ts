/**
 * Kalshi WebSocket v2 wire types and constants, shared by the connector and the simulator
 * (reference §1.3–1.6, peers §6). Enumerations are `as const` arrays; types derive from them.
 */

export const WS_PATH = '/trade-api/ws/v2'
export const REST_PREFIX = '/trade-api/v2'

/** Kalshi refuses more than this many markets in one subscription. */
export const MAX_MARKETS_PER_SUBSCRIPTION = 256

export const KALSHI_CHANNELS = ['ticker', 'trade', 'orderbook_delta', 'market_lifecycle_v2'] as const
export type KalshiChannel = (typeof KALSHI_CHANNELS)[number]

/** Channels whose data frames carry `seq` (per sid). Ticker carries none. */
export const SEQUENCED_CHANNELS: readonly KalshiChannel[] = ['trade', 'orderbook_delta', 'market_lifecycle_v2']

export const DATA_TYPES = [
  'ticker',
  'trade',
  'orderbook_snapshot',
  'orderbook_delta',
  'market_lifecycle_v2',
  'event_lifecycle',
] as const
export type DataType = (typeof DATA_TYPES)[number]

export const CONTROL_TYPES = ['subscribed', 'ok', 'unsubscribed', 'error'] as const
export type ControlType = (typeof CONTROL_TYPES)[number]

export const COMMANDS = ['subscribe', 'unsubscribe', 'update_subscription', 'list_subscriptions'] as const
export type CommandName = (typeof COMMANDS)[number]

export const UPDATE_ACTIONS = ['add_markets', 'delete_markets', 'get_snapshot'] as const
export type UpdateAction = (typeof UPDATE_ACTIONS)[number]

/** Kalshi's WebSocket error codes (`{"type":"error","msg":{"code":C,"msg":"…"}}`). */
export const KALSHI_ERROR = {
  UNABLE_TO_PROCESS: 1,
  PARAMS_REQUIRED: 2,
  CHANNELS_REQUIRED: 3,
  SIDS_REQUIRED: 4,
  UNKNOWN_COMMAND: 5,
  ALREADY_SUBSCRIBED: 6,
  UNKNOWN_SID: 7,
  UNKNOWN_CHANNEL: 8,
  AUTH_REQUIRED: 9,
  CHANNEL_ERROR: 10,
  INVALID_PARAMETER: 11,
  EXACTLY_ONE_SID_REQUIRED: 12,
  UNSUPPORTED_ACTION: 13,
  MARKET_TICKER_REQUIRED: 14,
  ACTION_REQUIRED: 15,
  MARKET_NOT_FOUND: 16,
  INTERNAL_ERROR: 17,
  COMMAND_TIMEOUT: 18,
  SUBSCRIPTION_BUFFER_OVERFLOW: 25,
} as const
export type KalshiErrorCode = (typeof KALSHI_ERROR)[keyof typeof KALSHI_ERROR]

/** The human text Kalshi uses for each code (the simulator appends detail after a colon). */
export const KALSHI_ERROR_TEXT: Record<KalshiErrorCode, string> = {
  1: 'Unable to process message',
  2: 'Params required',
  3: 'Channels required',
  4: 'Subscription IDs required',
  5: 'Unknown command',
  6: 'Already subscribed',
  7: 'Unknown subscription ID',
  8: 'Unknown channel name',
  9: 'Authentication required',
  10: 'Channel error',
  11: 'Invalid parameter',
  12: 'Exactly one subscription ID is required',
  13: 'Unsupported action',
  14: 'Market Ticker required',
  15: 'Action required',
  16: 'Market not found',
  17: 'Internal error',
  18: 'Command timeout',
  25: 'Subscription buffer overflow',
}

export interface SubscribeParams {
  channels: KalshiChannel[]
  market_ticker?: string
  market_tickers?: string[]
}
export interface UnsubscribeParams {
  sids: number[]
}
export interface UpdateSubscriptionParams {
  sids?: number[]
  sid?: number
  market_tickers?: string[]
  market_ticker?: string
  action: UpdateAction
}

export type Command =
  | { id: number; cmd: 'subscribe'; params: SubscribeParams }
  | { id: number; cmd: 'unsubscribe'; params: UnsubscribeParams }
  | { id: number; cmd: 'update_subscription'; params: UpdateSubscriptionParams }
  | { id: number; cmd: 'list_subscriptions'; params?: Record<string, never> }

export interface SubscribedReply {
  type: 'subscribed'
  id: number
  msg: { channel: KalshiChannel; sid: number }
}
export interface OkReply {
  type: 'ok'
  id: number
  sid: number
  seq: number
  market_tickers: string[]
}
export interface UnsubscribedReply {
  type: 'unsubscribed'
  id: number
  sid: number
  seq: number
}
export interface ErrorReply {
  type: 'error'
  id?: number
  msg: { code: number; msg: string }
}
export type Reply = SubscribedReply | OkReply | UnsubscribedReply | ErrorReply

/** Every data frame: `{type, sid, seq?, msg}`. */
export interface DataFrame<T = Record<string, unknown>> {
  type: DataType
  sid: number
  seq?: number
  msg: T
}

/** Lifecycle `event_type` values seen in production. */
export const LIFECYCLE_EVENTS = [
  'created',
  'activated',
  'deactivated',
  'close_date_updated',
  'closed',
  'determined',
  'settled',
  'finalized',
  'metadata_updated',
] as const
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number]

/** REST market statuses as returned in market objects. */
export const MARKET_STATUSES = ['initialized', 'active', 'closed', 'determined', 'settled'] as const
export type MarketStatus = (typeof MARKET_STATUSES)[number]

/** REST `status` filter values for GET /markets. */
export const MARKET_STATUS_FILTERS = ['unopened', 'open', 'closed', 'settled'] as const
export type MarketStatusFilter = (typeof MARKET_STATUS_FILTERS)[number]

export const FEE_TYPES = ['quadratic', 'quadratic_with_maker_fees', 'flat'] as const
export type FeeType = (typeof FEE_TYPES)[number]

/** Upgrade/REST header names of Kalshi's API-key signature. */
export const AUTH_HEADERS = {
  KEY: 'KALSHI-ACCESS-KEY',
  TIMESTAMP: 'KALSHI-ACCESS-TIMESTAMP',
  SIGNATURE: 'KALSHI-ACCESS-SIGNATURE',
} as const

/** The production and demo endpoints (reference §1.1). */
export const KALSHI_ENDPOINTS = {
  WS: 'wss://api.elections.kalshi.com/trade-api/ws/v2',
  REST: 'https://api.elections.kalshi.com/trade-api/v2',
  DEMO_WS: 'wss://demo-api.kalshi.co/trade-api/ws/v2',
  DEMO_REST: 'https://demo-api.kalshi.co/trade-api/v2',
} as const
