import type { ChainableCommander } from 'ioredis'
import type { Row } from '../cdc/index.ts'
import type { Expiry } from './ttl.ts'

/** SET with the policy's expiry in one command (`PXAT`), a plain SET (clears any TTL), or DEL. */
export function putRow(pipe: ChainableCommander, key: string, row: Row, expiry: Expiry): 'set' | 'del' {
  if (expiry.kind === 'gone') {
    pipe.del(key)
    return 'del'
  }
  const value = JSON.stringify(row)
  if (expiry.kind === 'at') pipe.set(key, value, 'PXAT', expiry.ms)
  else pipe.set(key, value)
  return 'set'
}

/**
 * What the cache remembers between events: which series an event or a fee row belongs to, and
 * which events it wrote as active (their key persists): an active market whose event is not there
 * makes the cache read and write the event (apply.ts).
 */
export interface CacheState {
  eventSeries: Map<string, string>
  marketEvent: Map<string, string>
  feeSeries: Map<string, string>
  activeEvents: Set<string>
}

export function newCacheState(): CacheState {
  return { eventSeries: new Map(), marketEvent: new Map(), feeSeries: new Map(), activeEvents: new Set() }
}
