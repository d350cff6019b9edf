/**
 * One writer per journal directory (core/dir-lock.ts): two connectors journaling into one
 * directory (the same `transport.journal_dir` on one host, a shared volume) would pick the same
 * new segment ids and delete each other's segments on replay, so a second one is refused while
 * the first runs.
 */
import { DIR_LOCK_DEFAULTS, LOCK_FILE, lockDir, processStart } from '../core/dir-lock.ts'
import type { Logger } from '../core/log.ts'
import { TransportError } from './errors.ts'

export { processStart }
export const JOURNAL_LOCK_FILE = LOCK_FILE
export const JOURNAL_LOCK_DEFAULTS = DIR_LOCK_DEFAULTS

/** Takes `dir`'s lock (the directory exists); throws JOURNAL_LOCKED while another live process holds it. */
export function lockJournalDir(dir: string, log: Logger, refreshMs = DIR_LOCK_DEFAULTS.LOCK_REFRESH_MS): { release(): void } {
  return lockDir(dir, {
    log, what: 'journal', refreshMs,
    locked: (holder, path) => new TransportError(
      'JOURNAL_LOCKED',
      `journal ${dir} is in use by ${holder}: give each connector its own transport.journal_dir (SSMD_JOURNAL_DIR), or remove ${path} if that process is not a connector`,
    ),
    failed: (e) => new TransportError('JOURNAL_IO', `cannot lock journal ${dir}: ${(e as Error).message}`, { cause: e }),
  })
}
