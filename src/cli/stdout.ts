/**
 * Standard output whose reader may go away (`ssmd … | head`): an EPIPE on stdout is not a crash
 * with a stack trace but the end of the output. `watchStdout()` (main.ts, once) turns it into
 * `stdoutClosed`; commands that stream output (data sample/replay, signal subscribe) stop on it,
 * the others finish their work with nothing more printed. Any other stdout error is thrown.
 */
let closed = false
let onClosed: () => void = () => {}

/** Resolves once stdout's reader has gone away; never rejects. */
export const stdoutClosed: Promise<void> = new Promise((resolve) => (onClosed = resolve))

/** True once stdout's reader has gone away. */
export function isStdoutClosed(): boolean {
  return closed
}

let watching = false

/** Listens for stdout's EPIPE (idempotent). */
export function watchStdout(): void {
  if (watching) return
  watching = true
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e
    closed = true
    onClosed()
  })
}
