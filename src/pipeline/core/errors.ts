/**
 * ssmd's error policy: one base class with a stable string `code`, one subclass per failure
 * kind. Messages name the thing that failed (file:line, subject, ticker, option). Foreign errors
 * are translated once, at the boundary, keeping `cause`.
 */
export class SsmdError extends Error {
  override name = 'SsmdError'
  readonly code: string
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
  static is(e: unknown, code?: string): e is SsmdError {
    return e instanceof SsmdError && (code === undefined || e.code === code)
  }
}

/** Bad input from a user: configuration, flags, files. The CLI exits with 2. */
export class UsageError extends SsmdError {
  override name = 'UsageError'
  constructor(message: string, code = 'USAGE', options?: ErrorOptions) {
    super(code, message, options)
  }
}

/** One problem found in a configuration file, with its place. */
export interface ConfigProblem {
  file: string
  line: number
  column: number
  path: string
  message: string
}

/** Every problem of a configuration file (or set of files), reported at once. */
export class ConfigError extends UsageError {
  override name = 'ConfigError'
  readonly problems: ConfigProblem[]
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'), 'CONFIG_INVALID')
    this.problems = problems
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`
}

/** A dependency (NATS, PostgreSQL, Redis, Kalshi, a file) could not be reached or refused us. */
export class ConnectionError extends SsmdError {
  override name = 'ConnectionError'
  constructor(message: string, code = 'CONNECTION', options?: ErrorOptions) {
    super(code, message, options)
  }
}

/** Kalshi (or the simulator) answered a command with an error frame. */
export class KalshiError extends SsmdError {
  override name = 'KalshiError'
  readonly kalshiCode: number
  constructor(kalshiCode: number, message: string, options?: ErrorOptions) {
    super('KALSHI_ERROR', `Kalshi error ${kalshiCode}: ${message}`, options)
    this.kalshiCode = kalshiCode
  }
}

/** Credentials: a missing variable, an unreadable or malformed private key. */
export class AuthError extends SsmdError {
  override name = 'AuthError'
  constructor(message: string, code = 'AUTH', options?: ErrorOptions) {
    super(code, message, options)
  }
}

/** A waited-for condition did not come true before its deadline. */
export class TimeoutError extends SsmdError {
  override name = 'TimeoutError'
  constructor(message: string, options?: ErrorOptions) {
    super('TIMEOUT', message, options)
  }
}

/** Data that does not have the shape we need: a malformed frame, page, line or record. */
export class DataError extends SsmdError {
  override name = 'DataError'
  constructor(message: string, code = 'DATA', options?: ErrorOptions) {
    super(code, message, options)
  }
}

/** A stop (SIGINT/SIGTERM, an AbortSignal) arrived while the work was still starting or waiting. */
export class StoppedError extends SsmdError {
  override name = 'StoppedError'
  constructor(message: string, options?: ErrorOptions) {
    super('STOPPED', message, options)
  }
}
