/**
 * The control API under `/sim/` (same port as the exchange): health, stats, faults, and
 * lifecycle actions (create an event, close / determine / settle a market).
 */
import { SsmdError } from '../../pipeline/core/errors.ts'
import { FAULT_NAMES, type FaultSpec } from './faults.ts'
import type { Sim } from './server.ts'

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

export async function handleControl(sim: Sim, req: Request, url: URL): Promise<Response> {
  const path = url.pathname.replace(/\/+$/, '')
  try {
    if (req.method === 'GET' && path === '/sim/health') return json({ ok: true, connections: sim.stats().connections_open })
    if (req.method === 'GET' && path === '/sim/stats') return json(sim.stats())
    if (path === '/sim/faults') {
      if (req.method === 'GET') return json(sim.faults())
      if (req.method === 'DELETE') {
        sim.clearFaults()
        return json(sim.faults())
      }
      if (req.method === 'POST') {
        const body = (await req.json()) as FaultSpec | FaultSpec[]
        for (const spec of Array.isArray(body) ? body : [body]) {
          if (!(FAULT_NAMES as readonly string[]).includes(spec?.name)) return json({ error: `unknown fault ${JSON.stringify(spec?.name)}`, faults: FAULT_NAMES }, 400)
          sim.applyFault(spec)
        }
        return json(sim.faults())
      }
    }
    if (req.method === 'POST' && path === '/sim/markets') {
      const body = req.headers.get('content-length') === '0' ? {} : ((await req.json().catch(() => ({}))) as { series_ticker?: string })
      const ev = sim.createEvent(body.series_ticker)
      return json({ event_ticker: ev.eventTicker, market_tickers: ev.markets.map((m) => m.ticker) })
    }
    const m = /^\/sim\/markets\/([^/]+)\/(close|determine|settle)$/.exec(path)
    if (req.method === 'POST' && m) {
      const body = (await req.json().catch(() => ({}))) as { result?: 'yes' | 'no' }
      const ticker = decodeURIComponent(m[1])
      const market = m[2] === 'close' ? sim.closeMarket(ticker) : m[2] === 'determine' ? sim.determineMarket(ticker, body.result) : sim.settleMarket(ticker, body.result)
      return json({ ticker: market.ticker, status: market.status, result: market.result })
    }
    if (req.method === 'POST' && path === '/sim/tick') {
      sim.tick()
      return json({ ok: true })
    }
    return json({ error: `no control route ${req.method} ${path}` }, 404)
  } catch (e) {
    if (e instanceof SsmdError) return json({ error: e.message, code: e.code }, 400)
    if (e instanceof SyntaxError) return json({ error: `body is not JSON: ${e.message}` }, 400)
    throw e
  }
}
