/**
 * `startSim`: the Kalshi exchange simulator on one Bun.serve — WebSocket at /trade-api/ws/v2
 * (API-key auth on the upgrade when public keys are configured), REST under /trade-api/v2,
 * control API under /sim/.
 */
import type { KeyObject } from 'node:crypto'
import type { Server } from 'bun'
import { startPongProxy } from './pong-proxy.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import { checkKalshiAuth, loadPublicKey } from '../../pipeline/kalshi/auth.ts'
import { REST_PREFIX, WS_PATH } from '../../pipeline/kalshi/protocol.ts'
import { handleCommand, type CommandContext } from './commands.ts'
import { Connection, type ConnData } from './connection.ts'
import { handleControl } from './control.ts'
import { Engine } from './engine.ts'
import { Faults, faultInt, type FaultSpec } from './faults.ts'
import { resolveSimOptions, type ResolvedSimOptions, type SimOptions } from './options.ts'
import { ReplaySource, loadReplay } from './replay.ts'
import { RestApi } from './rest.ts'
import { Universe, type SimEvent, type SimMarket } from './universe.ts'

const CLOSED_KEPT = 1000

export interface SimStats {
  connections_open: number
  connections_total: number
  frames_sent: number
  by_type: Record<string, number>
  connections: Record<string, unknown>[]
  closed_connections: Record<string, unknown>[]
  rest: { requests: number; rateLimited: number; malformed: number }
  universe: { series: number; events: number; markets: number; active: number }
}

export interface Sim {
  wsUrl: string
  restUrl: string
  controlUrl: string
  port: number
  universe: Universe
  options: ResolvedSimOptions
  stats(): SimStats
  faults(): Record<string, unknown>
  applyFault(spec: FaultSpec): void
  clearFaults(): void
  /** Creates the next event of a series (default: a 15-minute crypto series), with lifecycle frames. */
  createEvent(seriesTicker?: string): SimEvent
  closeMarket(ticker: string): SimMarket
  determineMarket(ticker: string, result?: 'yes' | 'no'): SimMarket
  settleMarket(ticker: string, result?: 'yes' | 'no'): SimMarket
  /** Evaluates the time-driven lifecycle against the sim clock now. */
  tick(): void
  /** Realistic mode: generates the arrivals due by the sim clock now (tests with an injected clock). */
  pumpRealistic(): void
  stop(): Promise<void>
}

export function startSim(options: SimOptions = {}): Sim {
  const o = resolveSimOptions(options)
  const log = o.logger
  const keys = new Map<string, KeyObject>()
  for (const [id, k] of Object.entries(o.publicKeys)) keys.set(id, typeof k === 'string' ? loadPublicKey(k, `public key ${id}`) : k)
  const universe = new Universe(o.seed, o.markets, o.clock())
  const faults = new Faults()
  const engine = new Engine(universe, faults, { format: o.format, rate: o.rate, framesPerSecond: o.framesPerSecond, countTotal: o.countTotal, seed: o.seed, runId: o.runId }, o.clock)
  const rest = new RestApi(universe, o.format, faults, o.restRateLimit, o.clock())
  const replayLines = o.replay ? loadReplay(o.replay.file) : null
  const ctx: CommandContext = {
    engine,
    limitPerSubscription: o.countPerSubscription || Number.POSITIVE_INFINITY,
    replaySource: replayLines ? (sub) => new ReplaySource(replayLines, sub, o.replay!.speed, o.replay!.sids) : null,
  }
  let nextConnId = 1
  let sim: Sim

  // delay_pong needs a frame-aware TCP front (Bun answers pings itself): armed at start only.
  const pongFront = o.faults.some((f) => f.name === 'delay_pong')
  const server: Server<ConnData> = Bun.serve<ConnData>({
    hostname: o.hostname,
    port: pongFront ? 0 : o.port,
    fetch(req, srv) {
      const url = new URL(req.url)
      if (url.pathname === WS_PATH) {
        let keyId: string | null = null
        if (keys.size > 0) {
          const r = checkKalshiAuth(req.headers, keys, 'GET', WS_PATH, Date.now(), o.authMaxSkewMs)
          if (!r.ok) {
            log?.warn({ reason: r.reason }, `sim: refused upgrade: ${r.message}`)
            return Response.json({ error: { code: r.reason, message: r.message } }, { status: 401 })
          }
          keyId = r.keyId
        }
        const remote = srv.requestIP(req)?.address ?? ''
        if (srv.upgrade(req, { data: { keyId, remote } })) return undefined
        return Response.json({ error: { code: 'upgrade_required', message: 'expected a WebSocket upgrade' } }, { status: 426 })
      }
      if (url.pathname.startsWith(REST_PREFIX + '/') || url.pathname === REST_PREFIX) return rest.handle(req, url, o.clock())
      if (url.pathname.startsWith('/sim/')) return handleControl(sim, req, url)
      return Response.json({ error: { code: 'not_found', message: `no route ${url.pathname}` } }, { status: 404 })
    },
    websocket: {
      idleTimeout: 0,
      sendPings: false,
      open(ws) {
        const conn = new Connection(nextConnId++, ws, ws.data.keyId, faults, engine.totals, o.clock())
        ws.data.conn = conn
        engine.connections.set(conn.id, conn)
        log?.debug({ conn: conn.id, keyId: conn.keyId }, 'sim: connection opened')
      },
      message(ws, message) {
        const conn = ws.data.conn!
        if (conn.silent) {
          conn.commandsIgnored++
          return
        }
        handleCommand(ctx, conn, typeof message === 'string' ? message : message.toString())
      },
      drain(ws) {
        const conn = ws.data.conn!
        conn.backpressured = false
        engine.pump(conn)
      },
      close(ws) {
        const conn = ws.data.conn!
        conn.closed = true
        conn.closedAtMs = o.clock()
        for (const s of conn.subs.values()) s.source?.stop?.()
        engine.connections.delete(conn.id)
        engine.closed.push(conn)
        if (engine.closed.length > CLOSED_KEPT) engine.closed.shift()
      },
    },
  })

  const pingTimer = o.pingIntervalMs > 0 ? setInterval(() => {
    for (const c of engine.connections.values()) if (!c.closed && !c.silent) c.ws.ping('heartbeat')
  }, o.pingIntervalMs) : undefined
  const lifecycleTimer = setInterval(() => universe.tick(o.clock()), o.lifecycleTickMs)
  engine.start()

  const proxy = pongFront ? startPongProxy(o.hostname, o.port, server.port!, () => faults.delayPongMs) : undefined
  const port = proxy?.port ?? server.port!
  const base = `${o.hostname}:${port}`
  const applyFault = (spec: FaultSpec) => {
    const targets = () => [...engine.connections.values()].filter((c) => spec.conn === undefined || c.id === spec.conn)
    switch (spec.name) {
      case 'drop':
        for (const c of targets()) c.terminate(spec.value === 'close' ? 'close' : 'terminate')
        break
      case 'drop_after':
        faults.dropAfterFrames = spec.value === 'off' ? 0 : faultInt(spec, 1, 1)
        break
      case 'stall': {
        const mode = spec.value === undefined || spec.value === '' ? 'data' : spec.value
        if (mode !== 'data' && mode !== 'all' && mode !== 'off') throw new UsageError(`fault stall: value must be data, all or off (got ${mode})`, 'SIM_BAD_FAULT')
        const v = mode === 'off' ? null : mode
        if (spec.conn === undefined) {
          faults.stall = v
          for (const c of engine.connections.values()) c.stall = null
        } else for (const c of targets()) c.stall = v
        if (v === null) for (const c of targets()) engine.schedulePump(c)
        break
      }
      case 'skip_seq':
        faults.skipSeq.push({ k: faultInt(spec, 1, 1), conn: spec.conn, sid: spec.sid })
        break
      case 'malformed_frame':
        faults.malformedFrames += faultInt(spec, 1, 1)
        break
      case 'refuse_subscribe': {
        const [code, count] = String(spec.value ?? '17').split(':')
        faults.refuseSubscribe = { code: faultInt({ ...spec, value: code }, 17, 1), remaining: faultInt({ ...spec, value: count }, 1, 1) }
        break
      }
      case 'delay_pong':
        if (!proxy && spec.value !== 'off') {
          throw new UsageError('fault delay_pong: start the simulator with it (--fault delay_pong=0 or more) so its pong-delaying front is in place; Bun answers pings itself', 'SIM_BAD_FAULT')
        }
        faults.delayPongMs = spec.value === 'off' ? 0 : faultInt(spec, 1000, 0)
        break
      case 'malformed_page':
        faults.malformedPages += faultInt(spec, 1, 1)
        break
    }
    log?.info({ fault: spec }, `sim: fault ${spec.name}`)
  }
  for (const f of o.faults) applyFault(f)
  const now = o.clock

  sim = {
    wsUrl: `ws://${base}${WS_PATH}`,
    restUrl: `http://${base}${REST_PREFIX}`,
    controlUrl: `http://${base}/sim`,
    port,
    universe,
    options: o,
    stats: () => ({
      connections_open: engine.connections.size,
      connections_total: nextConnId - 1,
      frames_sent: engine.totals.framesSent,
      by_type: { ...engine.totals.byType },
      connections: [...engine.connections.values()].map((c) => c.info()),
      closed_connections: engine.closed.map((c) => c.info()),
      rest: { ...rest.stats },
      universe: { series: universe.series.length, events: universe.events.length, markets: universe.markets.length, active: universe.active().length },
    }),
    faults: () => faults.snapshot(),
    applyFault,
    clearFaults: () => {
      faults.clear()
      for (const c of engine.connections.values()) {
        c.stall = null
        engine.schedulePump(c)
      }
    },
    createEvent: (series) => universe.createEvent(now(), series),
    closeMarket: (t) => universe.transition(t, 'closed', now()),
    determineMarket: (t, r) => universe.transition(t, 'determined', now(), r),
    settleMarket: (t, r) => universe.transition(t, 'settled', now(), r),
    tick: () => universe.tick(now()),
    pumpRealistic: () => engine.tick(),
    async stop() {
      engine.stop()
      clearInterval(pingTimer)
      clearInterval(lifecycleTimer)
      for (const c of engine.connections.values()) for (const s of c.subs.values()) s.source?.stop?.()
      proxy?.stop()
      await server.stop(true)
    },
  }
  log?.info({ ws: sim.wsUrl, auth: keys.size > 0 }, keys.size > 0 ? `sim: ${keys.size} API key(s) configured` : 'sim: no public keys configured, auth is off: accepting anyone')
  return sim
}
