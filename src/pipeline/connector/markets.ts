/**
 * Market discovery over Kalshi's public REST API: the open markets, paged with the cursor
 * (the shared REST client: token bucket, Retry-After, bounded retries, typed errors). Global
 * mode uses it for channels Kalshi only serves per market (orderbook_delta); markets mode checks
 * its list with it.
 */
import { KalshiRest } from '../kalshi-rest/index.ts'

export const MARKETS_DEFAULTS = { PAGE_LIMIT: 1000, TICKERS_PER_REQUEST: 100, CHECK_RETRIES: 2, CHECK_TIMEOUT_MS: 10_000 }

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

/**
 * The tickers of `tickers` that Kalshi does not know (`GET /markets?tickers=…`, any status), in
 * the given order. One unknown ticker makes Kalshi refuse a whole subscribe (error 16 "Market not
 * found", naming none), so markets mode checks its list before it subscribes.
 */
export async function unknownMarkets(restUrl: string, tickers: string[], signal?: AbortSignal): Promise<string[]> {
  const d = MARKETS_DEFAULTS
  const rest = new KalshiRest({ baseUrl: restUrl, signal, maxRetries: d.CHECK_RETRIES, timeoutMs: d.CHECK_TIMEOUT_MS })
  const known = new Set<string>()
  for (let i = 0; i < tickers.length; i += d.TICKERS_PER_REQUEST) {
    const chunk = tickers.slice(i, i + d.TICKERS_PER_REQUEST)
    for await (const page of rest.pages<{ ticker?: unknown }>('/markets', 'markets', { tickers: chunk.join(','), limit: d.PAGE_LIMIT })) {
      for (const m of page.items) if (typeof m.ticker === 'string') known.add(m.ticker)
    }
  }
  return tickers.filter((t) => !known.has(t))
}
