/**
 * One writer per directory: `LOCK` (`{pid, host, start}`) is created when a writer takes the
 * directory and removed when it lets it go (the connector's journal, transport/journal-lock.ts; an
 * archive stream directory, archive/writer.ts). A second writer is refused while the first runs.
 * A lock is stale, and taken over with a warning, when its process is gone: on this host, its
 * pid is not running or runs a process started at another time (/proc start time, so a reused pid
 * is not mistaken for it), or is our own pid (a container restarted as pid 1 again). A process
 * on another host cannot be checked from here, so the holder refreshes the file's mtime every
 * `LOCK_REFRESH_MS` (a lease): another host's lock not refreshed for `LOCK_STALE_MS` is stale (a
 * volume that moved with a rescheduled pod: the new pod is refused until then, and restarts).
 */
import { readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { Logger } from './log.ts'

export const LOCK_FILE = 'LOCK'
export const DIR_LOCK_DEFAULTS = { LOCK_REFRESH_MS: 10_000, LOCK_STALE_MS: 30_000 }

export interface DirLockOptions {
  log: Logger
  /** What the directory is, for messages: `journal`, `archive directory`. */
  what: string
  /** The error for a live holder (`holder`: `pid N on H`) and for a lock that cannot be written. */
  locked(holder: string, path: string): Error
  failed(e: unknown): Error
  refreshMs?: number
  /** @default LOCK_FILE */
  file?: string
}

interface LockInfo {
  pid: number
  host: string
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22); '' off Linux. */
  start: string
}

/** /proc/<pid>/stat's start time, '' when there is no /proc or no such process. */
export function processStart(pid: number | 'self'): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) is in parentheses and may hold spaces: count from its end
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''
  } catch {
    return ''
  }
}

/** Whether the holder of a lock whose file was last refreshed at `mtimeMs` may still be running. */
function running(info: LockInfo, mtimeMs: number): boolean {
  if (info.host !== hostname()) return Date.now() - mtimeMs < DIR_LOCK_DEFAULTS.LOCK_STALE_MS
  if (info.pid === process.pid) return false
  try {
    process.kill(info.pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const start = processStart(info.pid)
  return start === '' || info.start === '' || start === info.start
}

/** Takes `dir`'s lock (the directory exists); throws `o.locked(…)` while another live process holds it. */
export function lockDir(dir: string, o: DirLockOptions): { release(): void } {
  const { log, what } = o
  const refreshMs = o.refreshMs ?? DIR_LOCK_DEFAULTS.LOCK_REFRESH_MS
  const path = join(dir, o.file ?? LOCK_FILE)
  const mine: LockInfo = { pid: process.pid, host: hostname(), start: processStart('self') }
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(mine), { flag: 'wx' })
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        throw o.failed(e)
      }
    }
    let held: LockInfo | undefined
    let mtimeMs = 0
    try {
      held = JSON.parse(readFileSync(path, 'utf8')) as LockInfo
      mtimeMs = statSync(path).mtimeMs
    } catch {
      held = undefined // torn or unreadable: nobody can be checked for, take it
    }
    if (held && running(held, mtimeMs)) {
      throw o.locked(`pid ${held.pid} on ${held.host}`, path)
    }
    log.warn({ dir, previous: held ?? 'unreadable' }, `taking over a stale ${what} lock (its process is gone)`)
    unlinkSync(path)
  }
  let released = false
  const lease = setInterval(() => {
    try {
      const now = new Date()
      utimesSync(path, now, now)
    } catch {
      // the directory went away: nothing to hold
    }
  }, refreshMs)
  lease.unref()
  return {
    release() {
      if (released) return
      released = true
      clearInterval(lease)
      try {
        const held = JSON.parse(readFileSync(path, 'utf8')) as LockInfo
        if (held.pid === mine.pid && held.host === mine.host) unlinkSync(path)
      } catch {
        // already gone
      }
    },
  }
}
