import pino, { type Logger } from 'pino'
import { UsageError } from './errors.ts'

export type { Logger }

const REDACT = [
  'privateKey', 'private_key', 'apiKey', 'api_key', 'password', 'secret',
  '*.privateKey', '*.private_key', '*.password', '*.secret', 'keys.*.values',
]

/** The levels `SSMD_LOG_LEVEL` takes (pino's), most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/**
 * The process logger: JSON lines on stdout (`destination`: another fd), pretty when stdout is a TTY.
 * `SSMD_LOG_LEVEL` (default `info`) sets the level; `SSMD_LOG_PRETTY=0|1` forces the format.
 */
export function createLogger(name = 'ssmd', options: { level?: string; pretty?: boolean; destination?: number } = {}): Logger {
  const level = options.level ?? process.env.SSMD_LOG_LEVEL ?? 'info'
  // a usage error (exit 2), not pino's "default level:… must be included in custom levels" trace
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`${options.level === undefined ? 'SSMD_LOG_LEVEL' : 'the log level'} must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`, 'CONFIG_ENV')
  }
  const prettyEnv = process.env.SSMD_LOG_PRETTY
  const pretty = options.pretty ?? (prettyEnv !== undefined ? prettyEnv === '1' : process.stdout.isTTY === true)
  const base = { name, level, redact: { paths: REDACT, censor: '[redacted]' } }
  if (pretty) {
    // pino-pretty as a synchronous stream (no worker thread: works inside `bun build --compile`).
    const pinoPretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream
    return pino(base, pinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true, destination: options.destination ?? 1 }))
  }
  return pino(base, pino.destination({ fd: options.destination ?? 1, sync: false }))
}

let root: Logger | undefined
let rootFd = 1
/** The shared root logger; roles take children of it (`log.child({ role: 'connector' })`). */
export function logger(): Logger {
  root ??= createLogger('ssmd', { destination: rootFd })
  return root
}

/**
 * Sends the root logger's lines to stderr: for a command whose stdout is its data (`--json`,
 * `data replay`, `data sample`), so a log line (a REST retry, say) never lands inside it. Call
 * before anything logs; loggers already made keep their destination.
 */
export function logToStderr(): void {
  if (rootFd === 2) return
  rootFd = 2
  root = undefined
}

/** A logger that drops everything (tests and library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
