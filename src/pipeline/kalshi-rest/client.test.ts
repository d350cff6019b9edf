import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { DataError, StoppedError } from '../core/errors.ts'
import { waitFor } from '../core/wait.ts'
import { startSim } from '../../services/sim/index.ts'
import { KalshiRest } from './client.ts'
import { KalshiRestError } from './errors.ts'
import { TokenBucket } from './token-bucket.ts'
import type { RestMarket } from './types.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const sim = startSim({ seed: 7, markets: 250, restRateLimit: 0, lifecycleTickMs: 3_600_000 })
afterAll(() => sim.stop())

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new DataError('expected a rejection', 'TEST')
}

describe('KalshiRest', () => {
  test('streams every page of a list, one request per page, until the cursor is empty', async () => {
    const rest = new KalshiRest({ baseUrl: sim.restUrl, ratePerSecond: 1000 })
    const pages: number[] = []
    const tickers: string[] = []
    for await (const p of rest.pages<RestMarket>('/markets', 'markets', { limit: 40 })) {
      pages.push(p.page)
      tickers.push(...p.items.map((m) => m.ticker))
    }
    expect(pages).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(tickers).toEqual(sim.universe.markets.map((m) => m.ticker))
    expect(rest.stats).toMatchObject({ requests: 7, pages: 7, retries: 0 })
  })

  test('a 429 is retried after Retry-After and the list still completes', async () => {
    const limited = startSim({ seed: 7, markets: 120, restRateLimit: 2, lifecycleTickMs: 3_600_000 })
    try {
      const rest = new KalshiRest({ baseUrl: limited.restUrl, ratePerSecond: 1000 })
      let n = 0
      for await (const p of rest.pages<RestMarket>('/markets', 'markets', { limit: 40 })) n += p.items.length
      expect(n).toBe(120)
      expect(rest.stats.rateLimited).toBeGreaterThan(0)
      expect(limited.stats().rest.rateLimited).toBe(rest.stats.rateLimited)
    } finally {
      await limited.stop()
    }
  })

  test('a 4xx other than 429 fails at once with the URL and status', async () => {
    const rest = new KalshiRest({ baseUrl: sim.restUrl })
    const before = sim.stats().rest.requests
    const e = (await caught(rest.get('/markets', { limit: 5000 }))) as KalshiRestError
    expect(e).toBeInstanceOf(KalshiRestError)
    expect([e.code, e.status, e.url.includes('/trade-api/v2/markets?limit=5000')]).toEqual(['REST_STATUS', 400, true])
    expect(e.message).toContain('HTTP 400')
    expect(sim.stats().rest.requests - before).toBe(1)
  })

  test('5xx answers are retried a bounded number of times, then fail naming the URL', async () => {
    let hits = 0
    await using server = Bun.serve({ port: 0, fetch: () => (hits++, new Response('down', { status: 503 })) })
    const rest = new KalshiRest({ baseUrl: `http://127.0.0.1:${server.port}/trade-api/v2`, maxRetries: 3, retryBaseMs: 1, retryCapMs: 2 })
    const e = (await caught(rest.get('/series'))) as KalshiRestError
    expect([e.code, e.status, hits, rest.stats.retries]).toEqual(['REST_UNAVAILABLE', 503, 4, 3])
    expect(e.message).toContain('/trade-api/v2/series')
  })

  test('an unreachable server is a REST_UNAVAILABLE error after the retries', async () => {
    const server = Bun.serve({ port: 0, fetch: () => new Response('') })
    const port = server.port
    await server.stop(true)
    const rest = new KalshiRest({ baseUrl: `http://127.0.0.1:${port}/trade-api/v2`, maxRetries: 1, retryBaseMs: 1 })
    const e = (await caught(rest.get('/events'))) as KalshiRestError
    expect([e.code, e.status]).toEqual(['REST_UNAVAILABLE', 0])
  })

  test('a body cut off mid-way is retried like a network error', async () => {
    let hits = 0
    const ok = '{"series":[]}'
    // a raw server: the first answer promises 100 bytes, sends 11 and hangs up
    const server = Bun.listen({
      hostname: '127.0.0.1', port: 0,
      socket: {
        data(sock) {
          if (++hits === 1) {
            sock.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"series":[')
            sock.end()
          } else {
            sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${ok.length}\r\nconnection: close\r\n\r\n${ok}`)
            sock.end()
          }
        },
      },
    })
    try {
      const rest = new KalshiRest({ baseUrl: `http://127.0.0.1:${server.port}/trade-api/v2`, retryBaseMs: 1, retryCapMs: 2 })
      expect(await rest.get('/series')).toEqual({ series: [] })
      expect([hits, rest.stats.retries]).toEqual([2, 1])
    } finally {
      server.stop(true)
    }
  })

  test('aborting the signal ends a long retry wait, and a request in flight, with a StoppedError', async () => {
    let hits = 0
    await using down = Bun.serve({ port: 0, fetch: () => (hits++, new Response('down', { status: 503 })) })
    const waiting = new AbortController()
    const rest = new KalshiRest({ baseUrl: `http://127.0.0.1:${down.port}/trade-api/v2`, retryBaseMs: 600_000, retryCapMs: 600_000, signal: waiting.signal })
    const inWait = caught(rest.get('/markets'))
    await waitFor(() => rest.stats.retries === 1, 'the first retry wait')
    waiting.abort()
    const e1 = (await inWait) as StoppedError
    expect([e1 instanceof StoppedError, e1.code, e1.message, hits]).toEqual([true, 'STOPPED', 'GET /markets: stopped', 1])

    const answered = Promise.withResolvers<void>()
    await using hung = Bun.serve({ port: 0, fetch: () => (answered.resolve(), new Promise<Response>(() => {})) })
    const inFlight = new AbortController()
    const rest2 = new KalshiRest({ baseUrl: `http://127.0.0.1:${hung.port}/trade-api/v2`, signal: inFlight.signal })
    const pending = caught(rest2.get('/series'))
    await answered.promise
    inFlight.abort()
    const e2 = (await pending) as StoppedError
    expect([e2.code, rest2.stats.retries]).toEqual(['STOPPED', 0])
  })

  test('a malformed page is a DataError naming the endpoint and the page number', async () => {
    const rest = new KalshiRest({ baseUrl: sim.restUrl, ratePerSecond: 1000 })
    const pages = rest.pages<RestMarket>('/markets', 'markets', { limit: 100 })
    expect((await pages.next()).value?.items.length).toBe(100)
    sim.applyFault({ name: 'malformed_page' })
    const e = (await caught(pages.next())) as DataError
    expect([e.code, e.message.startsWith('GET /markets page 2: the response is not JSON')]).toEqual(['REST_MALFORMED_PAGE', true])
  })

  test('a page without the list array is a DataError', async () => {
    await using server = Bun.serve({ port: 0, fetch: () => Response.json({ cursor: '' }) })
    const rest = new KalshiRest({ baseUrl: `http://127.0.0.1:${server.port}/trade-api/v2` })
    const e = (await caught(rest.pages('/events', 'events').next())) as DataError
    expect([e.code, e.message]).toEqual(['REST_MALFORMED_PAGE', 'GET /events page 1: no "events" array in the response'])
  })

  test('options are validated', () => {
    expect(() => new KalshiRest({ baseUrl: 'nope' })).toThrow('Expected `baseUrl` to be a URL')
    expect(() => new KalshiRest({ baseUrl: sim.restUrl, ratePerSecond: 0 })).toThrow('Expected `ratePerSecond` to be a positive number, got 0')
  })
})

describe('TokenBucket', () => {
  test('lets a burst through, then one token per 1/rate seconds; pause holds everyone', () => {
    let now = 0
    const b = new TokenBucket(10, 3, () => now)
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([0, 0, 0, 100])
    now = 100
    expect([b.tryTake(), b.tryTake()]).toEqual([0, 100])
    b.pause(2000)
    expect(b.tryTake()).toBe(2000)
    now = 2200
    expect([b.tryTake(), b.tryTake()]).toEqual([0, 100])
  })
})
