/**
 * A NATS connection's real state, followed from the client's status events. nats.js's
 * `isClosed()` stays false while the client is disconnected and reconnecting (for ever, as every
 * role's connection does), so a /ready that asked it said "connected" through a whole outage.
 * connectNats follows every connection it makes; each role's /ready asks `natsState`.
 */
import type { NatsConnection } from '@nats-io/nats-core'
import type { Logger } from './log.ts'
import { redactUrl } from './redact.ts'

/** `reconnecting`: disconnected, the client trying again; `closed`: for good (closed, or it gave up). */
export type NatsState = 'connected' | 'reconnecting' | 'closed'

export const NATS_LINK_DEFAULTS = {
  /** A disconnect is logged at most once per interval; those in between are counted on the next line. */
  LOG_INTERVAL_MS: 10_000,
}

class Link {
  down = false
  downSince = 0
  disconnects = 0
  lastLineAt = -Infinity
  /** The current outage's disconnect was logged (so its end is, too). */
  logged = false
}

const links = new WeakMap<NatsConnection, Link>()

/**
 * Follows `nc`'s status events (once per connection): its state for `natsState`, and with `log`
 * one warn line when the connection is lost and one info line when it is back (flapping: at most
 * one pair per `intervalMs`, the disconnects in between counted on the next line).
 */
export function followNats(nc: NatsConnection, log?: Logger, intervalMs = NATS_LINK_DEFAULTS.LOG_INTERVAL_MS): void {
  if (links.has(nc)) return
  const link = new Link()
  links.set(nc, link)
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') {
        if (link.down) continue
        const now = Date.now()
        link.down = true
        link.downSince = now
        link.disconnects++
        link.logged = log !== undefined && now - link.lastLineAt >= intervalMs
        if (!link.logged) continue
        link.lastLineAt = now
        const server = s.type === 'disconnect' ? redactUrl(s.server) : undefined
        log!.warn({ server, disconnects: link.disconnects }, 'NATS connection lost; reconnecting until it is back')
      } else if (s.type === 'reconnect' && link.down) {
        link.down = false
        if (link.logged) log!.info({ server: redactUrl(s.server), downMs: Date.now() - link.downSince }, 'NATS connection back')
      }
    }
  })().catch(() => {})
}

/** What `nc` is now: connected, reconnecting, or closed for good. */
export function natsState(nc: NatsConnection): NatsState {
  if (nc.isClosed()) return 'closed'
  followNats(nc) // a connection not made by connectNats: followed from now on
  return links.get(nc)!.down ? 'reconnecting' : 'connected'
}
