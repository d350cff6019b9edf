import type Redis from 'ioredis'

/** The Redis key scheme of seed 003 / reference §6.3, under an optional prefix (tests isolate with it). */
export interface CacheKeys {
  prefix: string
  series(series: string): string
  event(series: string, event: string): string
  market(series: string, event: string, market: string): string
  fee(series: string): string
  monitorCategories: string
  monitorSeries(category: string): string
  monitorEvents(series: string): string
  monitorMarkets(event: string): string
  /** Set by each warm-up: a Redis that comes back without it lost the cache (restarted empty). */
  warmMark: string
  /** SCAN patterns of the secmaster keys the warm-up writes (series, events, markets, fees). */
  secmasterPatterns: string[]
  /** SCAN patterns of the monitor hashes (`monitor:treemap` and other keys are not the cache's). */
  monitorPatterns: string[]
}

export function cacheKeys(prefix = ''): CacheKeys {
  const glob = globLiteral(prefix)
  return {
    prefix,
    series: (s) => `${prefix}secmaster:series:${s}`,
    event: (s, e) => `${prefix}secmaster:series:${s}:${e}`,
    market: (s, e, m) => `${prefix}secmaster:series:${s}:${e}:${m}`,
    fee: (s) => `${prefix}secmaster:fee:${s}`,
    monitorCategories: `${prefix}monitor:categories`,
    monitorSeries: (c) => `${prefix}monitor:series:${c}`,
    monitorEvents: (s) => `${prefix}monitor:events:${s}`,
    monitorMarkets: (e) => `${prefix}monitor:markets:${e}`,
    warmMark: `${prefix}cache:warm`,
    secmasterPatterns: [`${glob}secmaster:series:*`, `${glob}secmaster:fee:*`],
    monitorPatterns: [`${glob}monitor:categories`, `${glob}monitor:series:*`, `${glob}monitor:events:*`, `${glob}monitor:markets:*`],
  }
}

/** `text` as a literal in a Redis glob pattern (SCAN MATCH): `*`, `?`, `[`, `]` and `\\` escaped. */
export function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
}

/** Every key matching one of `patterns` (SCAN, so Redis is never blocked by a KEYS). */
export async function scanKeys(redis: Redis, patterns: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>()
  for (const match of patterns) {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000)
      for (const k of keys) found.add(k)
      cursor = next
    } while (cursor !== '0')
  }
  return found
}

/**
 * Deletes the keys of `found` that are not in `kept` (a warm-up's or a refresh's leftovers: rows
 * that stopped being active while the cache was not following); returns how many.
 */
export async function deleteStale(redis: Redis, found: Iterable<string>, kept: ReadonlySet<string>): Promise<number> {
  const stale = [...found].filter((k) => !kept.has(k))
  for (let i = 0; i < stale.length; i += 1000) await redis.unlink(...stale.slice(i, i + 1000))
  return stale.length
}
