/**
 * Kalshi's public REST API (reference §2): GET with a token bucket, 429 + Retry-After honoured
 * with jittered back-off, 5xx and network errors retried a bounded number of times, any other 4xx
 * failing at once; lists are streamed page by page (`pages()`), so callers upsert as they go.
 */
import { DataError, StoppedError, UsageError } from '../core/errors.ts'
import { silentLogger, type Logger } from '../core/log.ts'
import { backoffMs, delay } from '../core/wait.ts'
import { KalshiRestError } from './errors.ts'
import { TokenBucket } from './token-bucket.ts'
import type { Page } from './types.ts'

export const KALSHI_REST_DEFAULTS = {
  /** Requests per second (the feed YAML's `rate_limit_per_second`). */
  ratePerSecond: 10,
  /** Requests that may go at once after a quiet spell. @default ratePerSecond */
  burst: 0,
  /** Retries of a 429, 5xx or network error before giving up. */
  maxRetries: 5,
  retryBaseMs: 250,
  retryCapMs: 60_000,
  /** Per-request timeout. */
  timeoutMs: 30_000,
}

export interface KalshiRestOptions {
  /** Base URL ending in `/trade-api/v2`. */
  baseUrl: string
  /** @default 10 */ ratePerSecond?: number
  /** @default ratePerSecond */ burst?: number
  /** @default 5 */ maxRetries?: number
  /** @default 250 */ retryBaseMs?: number
  /** @default 60000 */ retryCapMs?: number
  /** @default 30000 */ timeoutMs?: number
  fetch?: typeof fetch
  logger?: Logger
  /** Aborting it ends a request or a retry wait at once, with a StoppedError. */
  signal?: AbortSignal
}

export interface KalshiRestStats {
  requests: number
  pages: number
  retries: number
  rateLimited: number
}

type Params = Record<string, string | number | boolean | undefined | null>

function positive(name: string, v: number, allowZero = false): number {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new UsageError(`Expected \`${name}\` to be a ${allowZero ? 'non-negative' : 'positive'} number, got ${v}`, 'REST_BAD_OPTION')
  }
  return v
}

export class KalshiRest {
  readonly stats: KalshiRestStats = { requests: 0, pages: 0, retries: 0, rateLimited: 0 }
  readonly baseUrl: string
  readonly #bucket: TokenBucket
  readonly #o: Required<Omit<KalshiRestOptions, 'logger' | 'fetch' | 'baseUrl' | 'signal'>>
  readonly #fetch: typeof fetch
  readonly #log: Logger
  readonly #signal: AbortSignal | undefined

  constructor(options: KalshiRestOptions) {
    try {
      this.baseUrl = new URL(options.baseUrl).toString().replace(/\/+$/, '')
    } catch {
      throw new UsageError(`Expected \`baseUrl\` to be a URL, got ${JSON.stringify(options.baseUrl)}`, 'REST_BAD_OPTION')
    }
    const d = KALSHI_REST_DEFAULTS
    const rate = positive('ratePerSecond', options.ratePerSecond ?? d.ratePerSecond)
    this.#o = {
      ratePerSecond: rate,
      burst: positive('burst', options.burst ?? (d.burst || Math.max(1, Math.floor(rate)))),
      maxRetries: positive('maxRetries', options.maxRetries ?? d.maxRetries, true),
      retryBaseMs: positive('retryBaseMs', options.retryBaseMs ?? d.retryBaseMs, true),
      retryCapMs: positive('retryCapMs', options.retryCapMs ?? d.retryCapMs, true),
      timeoutMs: positive('timeoutMs', options.timeoutMs ?? d.timeoutMs),
    }
    this.#bucket = new TokenBucket(rate, this.#o.burst)
    this.#fetch = options.fetch ?? fetch
    this.#log = options.logger ?? silentLogger()
    this.#signal = options.signal
  }

  url(path: string, params: Params = {}): URL {
    const u = new URL(this.baseUrl + (path.startsWith('/') ? path : `/${path}`))
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v))
    return u
  }

  /** GET `path` and parse JSON; `what` names the request in errors (e.g. `GET /markets page 3`). */
  async get<T = Record<string, unknown>>(path: string, params: Params = {}, what = `GET ${path}`): Promise<T> {
    const url = this.url(path, params)
    const shown = `${url.pathname}${url.search}`
    for (let attempt = 0; ; attempt++) {
      await this.#bucket.take()
      this.#checkStopped(what)
      this.stats.requests++
      const timeout = AbortSignal.timeout(this.#o.timeoutMs)
      let res: Response
      try {
        res = await this.#fetch(url, { signal: this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout, headers: { accept: 'application/json' } })
      } catch (e) {
        this.#checkStopped(what, e)
        await this.#retry(attempt, url, 0, `${what}: ${(e as Error).message}`, 0, e)
        continue
      }
      if (res.status === 429 || res.status >= 500) {
        const retryAfterS = Number(res.headers.get('retry-after'))
        const retryAfterMs = res.status === 429 && Number.isFinite(retryAfterS) && retryAfterS > 0 ? retryAfterS * 1000 : 0
        await res.body?.cancel().catch(() => {})
        if (res.status === 429) this.stats.rateLimited++
        await this.#retry(attempt, url, res.status, `${what}: HTTP ${res.status} from ${shown}`, retryAfterMs)
        continue
      }
      let text: string
      try {
        text = await res.text()
      } catch (e) {
        this.#checkStopped(what, e)
        await this.#retry(attempt, url, res.status, `${what}: reading the body: ${(e as Error).message}`, 0, e)
        continue
      }
      if (!res.ok) {
        throw new KalshiRestError('REST_STATUS', url.toString(), res.status, `${what}: HTTP ${res.status} from ${shown}: ${text.slice(0, 200)}`)
      }
      try {
        return JSON.parse(text) as T
      } catch (e) {
        throw new DataError(`${what}: the response is not JSON (${text.length} bytes from ${shown})`, 'REST_MALFORMED_PAGE', { cause: e })
      }
    }
  }

  async #retry(attempt: number, url: URL, status: number, message: string, retryAfterMs: number, cause?: unknown): Promise<void> {
    if (attempt >= this.#o.maxRetries) {
      throw new KalshiRestError('REST_UNAVAILABLE', url.toString(), status, `${message} (gave up after ${attempt + 1} tries)`, { cause })
    }
    this.stats.retries++
    const backoff = backoffMs(attempt, this.#o.retryBaseMs, this.#o.retryCapMs)
    // Retry-After is a floor; the jittered back-off spreads clients that were refused together.
    const waitMs = retryAfterMs > 0 ? retryAfterMs + Math.round(Math.random() * 0.25 * retryAfterMs) : backoff
    if (retryAfterMs > 0) this.#bucket.pause(waitMs)
    this.#log.warn({ url: url.pathname, status, attempt: attempt + 1, waitMs }, `kalshi rest: retrying: ${message}`)
    await delay(waitMs, this.#signal)
  }

  #checkStopped(what: string, cause?: unknown): void {
    if (this.#signal?.aborted) throw new StoppedError(`${what}: stopped`, { cause })
  }

  /**
   * Pages of a cursor-paginated list, one at a time (the next page is fetched only when the
   * caller asks for it). A page without the `key` array is a DataError naming endpoint and page.
   */
  async *pages<T>(path: string, key: string, params: Params = {}): AsyncGenerator<Page<T>> {
    let cursor = ''
    const seen = new Set<string>()
    for (let page = 1; ; page++) {
      const what = `GET ${path} page ${page}`
      const body = await this.get<Record<string, unknown>>(path, { ...params, cursor }, what)
      const items = body?.[key]
      if (!Array.isArray(items)) {
        throw new DataError(`${what}: no "${key}" array in the response`, 'REST_MALFORMED_PAGE')
      }
      const next = typeof body.cursor === 'string' ? body.cursor : ''
      if (next && seen.has(next)) throw new DataError(`${what}: the cursor repeats (${next}); refusing to loop`, 'REST_CURSOR_LOOP')
      seen.add(next)
      this.stats.pages++
      yield { items: items as T[], page, cursor: next }
      if (!next) return
      cursor = next
    }
  }
}
