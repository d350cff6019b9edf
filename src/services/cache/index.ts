/** ssmd-cache: PostgreSQL warm-up + CDC events → Redis (seed 003 key scheme and TTL policy). */
export { CACHE_DEFAULTS, startCache, type Cache, type CacheOptions, type CacheStats } from './cache.ts'
export { applyEvent, type ApplyContext } from './apply.ts'
export { cacheKeys, type CacheKeys } from './keys.ts'
export { refreshMonitors } from './monitor.ts'
export { alreadyWarm, parseSnapshot, visibleIn, type WarmSnapshot } from './snapshot.ts'
export { DAY_MS, eventExpiry, marketExpiry, type Expiry } from './ttl.ts'
export { warmCache, type WarmResult } from './warm.ts'
export { newCacheState, putRow, type CacheState } from './write.ts'
