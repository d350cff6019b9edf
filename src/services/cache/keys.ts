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
}

export function cacheKeys(prefix = ''): CacheKeys {
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
  }
}
