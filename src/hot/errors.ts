/**
 * The hot path's one error class. src/hot imports nothing from other src folders, so it cannot
 * use SsmdError; HotError carries the same kind of stable string `code`. Only misuse throws
 * (bad options, a record larger than the ring): back-pressure and bad frames are return values.
 */
export class HotError extends Error {
  override name = 'HotError'
  readonly code: string
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
  static is(e: unknown, code?: string): e is HotError {
    return e instanceof HotError && (code === undefined || e.code === code)
  }
}

/** Throws HOT_OPTION_INVALID naming the option: "options.x must be … (got y)". */
export function invalidOption(name: string, rule: string, got: unknown): never {
  throw new HotError('HOT_OPTION_INVALID', `options.${name} must be ${rule} (got ${String(got)})`)
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0
}
