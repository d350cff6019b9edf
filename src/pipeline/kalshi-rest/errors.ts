import { SsmdError } from '../core/errors.ts'

/**
 * Kalshi's REST API refused a request (a 4xx other than 429), or kept failing (429/5xx/network)
 * after every retry. `url` and `status` (0 for network errors) name what failed.
 */
export class KalshiRestError extends SsmdError {
  override name = 'KalshiRestError'
  readonly url: string
  readonly status: number
  constructor(code: 'REST_STATUS' | 'REST_UNAVAILABLE', url: string, status: number, message: string, options?: ErrorOptions) {
    super(code, message, options)
    this.url = url
    this.status = status
  }
}
