import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Journal } from './journal.ts'
import { silentLogger } from '../core/log.ts'
import { waitFor, withTimeout } from '../core/wait.ts'
import { JOURNAL_LOCK_FILE, lockJournalDir, processStart } from './journal-lock.ts'

setDefaultTimeout(30_000) // a child process on a shared machine

const dirs: string[] = []
const children: Bun.Subprocess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ssmd-journal-lock-'))
  dirs.push(d)
  return d
}

/** A second process holding `dir`'s journal open until killed. */
async function holder(dir: string): Promise<Bun.Subprocess<'ignore', 'pipe', 'inherit'>> {
  const code = `import { Journal } from ${JSON.stringify(join(import.meta.dir, 'journal.ts'))}; Journal.open(${JSON.stringify(dir)}); console.log('open'); setInterval(() => {}, 1000)`
  const child = Bun.spawn(['bun', '-e', code], { stdin: 'ignore', stdout: 'pipe', stderr: 'inherit' })
  children.push(child)
  const reader = child.stdout.getReader()
  const first = await withTimeout(reader.read(), 15_000, 'the holder to open the journal')
  reader.releaseLock()
  expect(new TextDecoder().decode(first.value)).toBe('open\n')
  return child
}

describe('journal lock', () => {
  test('a second process is refused while the first holds the directory, naming it and what to do', async () => {
    const dir = tmp()
    const child = await holder(dir)
    let err: { code?: string; message?: string } = {}
    try {
      Journal.open(dir)
    } catch (e) {
      err = e as typeof err
    }
    expect(err.code).toBe('JOURNAL_LOCKED')
    expect(err.message).toBe(
      `journal ${dir} is in use by pid ${child.pid} on ${hostname()}: give each connector its own transport.journal_dir (SSMD_JOURNAL_DIR), or remove ${join(dir, JOURNAL_LOCK_FILE)} if that process is not a connector`,
    )
  })

  test('the lock of a killed process is taken over; close() releases it', async () => {
    const dir = tmp()
    const child = await holder(dir)
    child.kill('SIGKILL')
    await child.exited
    const j = Journal.open(dir)
    expect(JSON.parse(readFileSync(join(dir, JOURNAL_LOCK_FILE), 'utf8'))).toEqual({ pid: process.pid, host: hostname(), start: processStart('self') })
    j.close()
    expect(existsSync(join(dir, JOURNAL_LOCK_FILE))).toBe(false)
  })

  test('a live pid that started at another time (a reused pid), another host\'s lock not refreshed for 30 s and a torn file are stale', () => {
    const dir = tmp()
    const lock = join(dir, JOURNAL_LOCK_FILE)
    const minuteAgo = new Date(Date.now() - 60_000)
    const stale: [string, Date | null][] = [
      [JSON.stringify({ pid: 1, host: hostname(), start: 'not-its-start-time' }), null],
      [JSON.stringify({ pid: 1, host: 'another-host', start: '' }), minuteAgo],
      ['{"pid":', null],
    ]
    for (const [text, mtime] of stale) {
      writeFileSync(lock, text)
      if (mtime) utimesSync(lock, mtime, mtime)
      const j = Journal.open(dir)
      expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid)
      j.close()
    }
    // another host's lock refreshed within the lease holds
    writeFileSync(lock, JSON.stringify({ pid: 7, host: 'another-host', start: '' }))
    expect(() => Journal.open(dir)).toThrow(`journal ${dir} is in use by pid 7 on another-host`)
    // the same process opening again (a container restarted as the same pid) is not blocked by itself
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), start: 'old' }))
    Journal.open(dir).close()
  })

  test('the holder refreshes its lock (the lease another host checks) until it releases it', async () => {
    const dir = tmp()
    const lock = join(dir, JOURNAL_LOCK_FILE)
    const held = lockJournalDir(dir, silentLogger(), 20)
    try {
      const old = new Date(Date.now() - 60_000)
      utimesSync(lock, old, old)
      await waitFor(() => Date.now() - statSync(lock).mtimeMs < 5_000, 'the lock refreshed')
    } finally {
      held.release()
    }
    expect(existsSync(lock)).toBe(false)
  })
})
