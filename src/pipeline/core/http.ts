import type { Registry } from 'prom-client'

/** What a role reports on `/health` and `/ready`: `ok` picks 200 or 503; the rest is the JSON body. */
export interface Probe {
  ok: boolean
  [field: string]: unknown
}

export interface OpsServerOptions {
  /** Port to bind; 0 picks a free one (the bound port is on the result). @default 8080 */
  port?: number
  /** @default '0.0.0.0' */
  hostname?: string
  registry: Registry
  /** Liveness: is the process doing its job (not stale)? @default always ok */
  health?: () => Probe
  /** Readiness: connected and fresh? @default same as health */
  ready?: () => Probe
  /** More Prometheus text appended to `/metrics` (e.g. a Worker's registry). */
  extraMetrics?: () => Promise<string>
}

export interface OpsServer {
  port: number
  url: string
  stop(): Promise<void>
}

/**
 * Each long-running role's default ops port (`/health /ready /metrics`): all different, so that
 * several roles run on one host without a flag (README "Ops ports" lists them).
 */
export const OPS_PORTS = {
  connector: 8080,
  archiver: 8081,
  'signal-runner': 8082,
  cdc: 8083,
  'lifecycle-consumer': 8084,
  cache: 9090,
} as const

/** The one small HTTP server every long-running role exposes: `/health`, `/ready`, `/metrics`. */
export function serveOps(options: OpsServerOptions): OpsServer {
  const health = options.health ?? (() => ({ ok: true, status: 'ok' }))
  const ready = options.ready ?? health
  const server = Bun.serve({
    port: options.port ?? 8080,
    hostname: options.hostname ?? '0.0.0.0',
    async fetch(req) {
      const path = new URL(req.url).pathname
      if (path === '/health' || path === '/ready') {
        const { ok, ...body } = (path === '/health' ? health : ready)()
        return Response.json(body, { status: ok ? 200 : 503 })
      }
      if (path === '/metrics') {
        const extra = options.extraMetrics ? await options.extraMetrics() : ''
        return new Response((await options.registry.metrics()) + extra, {
          headers: { 'content-type': options.registry.contentType },
        })
      }
      return Response.json({ error: `no route ${req.method} ${path}` }, { status: 404 })
    },
  })
  const port = server.port as number
  return {
    port,
    url: `http://${options.hostname === '0.0.0.0' || !options.hostname ? '127.0.0.1' : options.hostname}:${port}`,
    async stop() {
      await server.stop(true)
    },
  }
}
