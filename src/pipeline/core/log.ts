import pino, { type Logger } from 'pino'

export type { Logger }

const REDACT = [
  'privateKey', 'private_key', 'apiKey', 'api_key', 'password', 'secret',
  '*.privateKey', '*.private_key', '*.password', '*.secret', 'keys.*.values',
]

/**
 * The process logger: JSON lines on stdout, pretty when stdout is a TTY.
 * `SSMD_LOG_LEVEL` (default `info`) sets the level; `SSMD_LOG_PRETTY=0|1` forces the format.
 */
export function createLogger(name = 'ssmd', options: { level?: string; pretty?: boolean; destination?: number } = {}): Logger {
  const level = options.level ?? process.env.SSMD_LOG_LEVEL ?? 'info'
  const prettyEnv = process.env.SSMD_LOG_PRETTY
  const pretty = options.pretty ?? (prettyEnv !== undefined ? prettyEnv === '1' : process.stdout.isTTY === true)
  const base = { name, level, redact: { paths: REDACT, censor: '[redacted]' } }
  if (pretty) {
    // pino-pretty as a synchronous stream (no worker thread: works inside `bun build --compile`).
    const pinoPretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream
    return pino(base, pinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }))
  }
  return pino(base, pino.destination({ fd: options.destination ?? 1, sync: false }))
}

let root: Logger | undefined
/** The shared root logger; roles take children of it (`log.child({ role: 'connector' })`). */
export function logger(): Logger {
  root ??= createLogger()
  return root
}

/** A logger that drops everything (tests and library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
