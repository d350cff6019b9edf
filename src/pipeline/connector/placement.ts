/**
 * Where each market lives: markets added at run time (dynamic subscriptions) go to the
 * least-loaded shard with room, in one `update_subscription` per sid, and a new shard opens
 * when every shard is full; a removed market leaves only the shard that owns it.
 */
import type { Shard } from './shard.ts'

export interface PlacementHost {
  shards: Shard[]
  shardSize: number
  /** Opens a new shard for per-market channels and resolves once it is connected. */
  openShard(): Promise<Shard>
}

export class MarketPlacement {
  /** ticker → shard id */
  readonly owner = new Map<string, number>()

  constructor(private readonly host: PlacementHost) {
    for (const s of host.shards) for (const t of s.markets) this.owner.set(t, s.id)
  }

  /** Subscribes markets not yet subscribed; returns the ones it added. */
  async add(tickers: string[]): Promise<string[]> {
    const fresh = [...new Set(tickers)].filter((t) => !this.owner.has(t))
    let rest = fresh
    while (rest.length > 0) {
      const shard = this.leastLoaded() ?? (await this.host.openShard())
      const room = this.host.shardSize - shard.marketCount
      const batch = rest.slice(0, room)
      rest = rest.slice(room)
      for (const t of batch) this.owner.set(t, shard.id)
      await shard.addMarkets(batch)
    }
    return fresh
  }

  /** Unsubscribes markets from the shards that own them; returns the ones it removed. */
  async remove(tickers: string[]): Promise<string[]> {
    const byShard = new Map<number, string[]>()
    for (const t of new Set(tickers)) {
      const id = this.owner.get(t)
      if (id === undefined) continue
      this.owner.delete(t)
      byShard.set(id, [...(byShard.get(id) ?? []), t])
    }
    await Promise.all([...byShard].map(([id, list]) => this.host.shards[id].removeMarkets(list)))
    return [...byShard.values()].flat()
  }

  private leastLoaded(): Shard | undefined {
    let best: Shard | undefined
    for (const s of this.host.shards) {
      if (!s.channels.some((c) => !s.global.includes(c))) continue
      if (s.marketCount >= this.host.shardSize) continue
      if (!best || s.marketCount < best.marketCount) best = s
    }
    return best
  }
}
