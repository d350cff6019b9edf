/**
 * Market discovery over Kalshi's public REST API: the open markets, paged with the cursor.
 * Global mode uses it for channels Kalshi only serves per market (orderbook_delta).
 */
import { ConnectionError, DataError } from '../core/errors.ts'
import { backoffMs, delay } from '../core/wait.ts'

export const MARKETS_DEFAULTS = { PAGE_LIMIT: 1000, RETRIES: 5, TIMEOUT_MS: 30_000 }

/** Tickers of every market with `status=open`, in the order the API returns them. */
export async function fetchOpenMarkets(restUrl: string, fetchImpl: typeof fetch = fetch): Promise<string[]> {
  const out: string[] = []
  let cursor = ''
  for (let page = 0; ; page++) {
    const url = new URL(`${restUrl.replace(/\/$/, '')}/markets`)
    url.searchParams.set('status', 'open')
    url.searchParams.set('limit', String(MARKETS_DEFAULTS.PAGE_LIMIT))
    if (cursor) url.searchParams.set('cursor', cursor)
    const body = await getJson(url, fetchImpl)
    const markets = (body as { markets?: { ticker?: unknown }[] }).markets
    if (!Array.isArray(markets)) throw new DataError(`GET ${url.pathname} page ${page + 1}: no "markets" array in the response`, 'REST_MALFORMED')
    for (const m of markets) if (typeof m.ticker === 'string') out.push(m.ticker)
    cursor = typeof (body as { cursor?: unknown }).cursor === 'string' ? (body as { cursor: string }).cursor : ''
    if (!cursor) return out
  }
}

async function getJson(url: URL, fetchImpl: typeof fetch): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    let res: Response
    try {
      res = await fetchImpl(url, { signal: AbortSignal.timeout(MARKETS_DEFAULTS.TIMEOUT_MS) })
    } catch (e) {
      if (attempt + 1 >= MARKETS_DEFAULTS.RETRIES) throw new ConnectionError(`GET ${url.origin}${url.pathname}: ${(e as Error).message}`, 'REST_UNREACHABLE', { cause: e })
      await delay(backoffMs(attempt, 250, 5000))
      continue
    }
    if (res.status === 429 || res.status >= 500) {
      if (attempt + 1 >= MARKETS_DEFAULTS.RETRIES) throw new ConnectionError(`GET ${url.pathname}: HTTP ${res.status} after ${attempt + 1} tries`, 'REST_HTTP')
      const retryAfter = Number(res.headers.get('retry-after'))
      await delay(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoffMs(attempt, 250, 5000))
      continue
    }
    if (!res.ok) throw new ConnectionError(`GET ${url.pathname}: HTTP ${res.status}`, 'REST_HTTP')
    try {
      return await res.json()
    } catch (e) {
      throw new DataError(`GET ${url.pathname}: the response is not JSON`, 'REST_MALFORMED', { cause: e })
    }
  }
}
