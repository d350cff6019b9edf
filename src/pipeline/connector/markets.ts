/**
 * Market discovery over Kalshi's public REST API: the open markets, paged with the cursor
 * (the shared REST client: token bucket, Retry-After, bounded retries, typed errors). Global
 * mode uses it for channels Kalshi only serves per market (orderbook_delta).
 */
import { KalshiRest } from '../kalshi-rest/index.ts'

export const MARKETS_DEFAULTS = { PAGE_LIMIT: 1000 }

/**
 * Tickers of every market with `status=open`, in the order the API returns them. Aborting
 * `signal` ends a request or a retry wait at once (a StoppedError).
 */
export async function fetchOpenMarkets(restUrl: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = []
  const rest = new KalshiRest({ baseUrl: restUrl, signal })
  for await (const page of rest.pages<{ ticker?: unknown }>('/markets', 'markets', { status: 'open', limit: MARKETS_DEFAULTS.PAGE_LIMIT })) {
    for (const m of page.items) if (typeof m.ticker === 'string') out.push(m.ticker)
  }
  return out
}
