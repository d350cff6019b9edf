/**
 * SIGINT and SIGTERM for a long-running role: the first one asks for a graceful stop (files
 * finished, records flushed); later ones are logged and otherwise ignored while that runs. A
 * Ctrl-C under `bun run connector` reaches the process twice (the terminal signals the whole
 * process group, and the runner forwards its own copy; `timeout -s INT` does the same), and with
 * `process.once` the second copy took the default action: the process died mid-flush, leaving
 * `.tmp` files and losing what was buffered. To end a stop that hangs: SIGKILL.
 */
import type { Logger } from '../pipeline/core/log.ts'

export interface StopSignal {
  /** Aborts at the first SIGINT or SIGTERM. */
  signal: AbortSignal
  /** Resolves at the first SIGINT or SIGTERM. */
  requested: Promise<void>
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

export function onStopSignal(log?: Logger): StopSignal {
  const stop = new AbortController()
  let resolve!: () => void
  const requested = new Promise<void>((r) => (resolve = r))
  let lastNote = 0
  const handler = (name: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      stop.abort()
      resolve()
      return
    }
    const now = Date.now()
    if (now - lastNote < 1000) return // a Ctrl-C delivered twice: say it once
    lastNote = now
    log?.info({ signal: name }, 'already stopping: finishing files and flushing records (SIGKILL ends it at once, losing what is not flushed)')
  }
  for (const s of SIGNALS) process.on(s, handler) // kept for the life of the process: it ends after its stop
  return { signal: stop.signal, requested }
}
