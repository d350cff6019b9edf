/**
 * A nats-server of the test's own, on its own port and store directory, for tests that must stop
 * a server (outages). Stopped by its PID only; never the shared server on 4222.
 */
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import type { Subprocess } from 'bun'
import { reachable } from '../src/pipeline/core/services.ts'
import { waitFor } from '../src/pipeline/core/wait.ts'

export const NATS_SERVER = '/usr/sbin/nats-server'
export const haveNatsServer = existsSync(NATS_SERVER)

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** Starts nats-server with JetStream on `port`, storing in `storeDir`; resolves once it answers. */
export async function startNatsServer(port: number, storeDir: string): Promise<Subprocess> {
  const proc = Bun.spawn([NATS_SERVER, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdout: 'ignore', stderr: 'ignore' })
  await waitFor(() => reachable(`nats://127.0.0.1:${port}`, 200), `nats-server on port ${port}`)
  return proc
}

/** Stops a server this test started (SIGTERM: it flushes its store) and waits for it to exit. */
export async function stopNatsServer(proc: Subprocess): Promise<void> {
  if (proc.exitCode === null) proc.kill('SIGTERM')
  await proc.exited
}

/**
 * startNatsServer, with a cleanup pushed onto `cleanups` (the test's afterEach list) that kills
 * that server by its PID if the test left it running.
 */
export async function startOwnedNatsServer(port: number, storeDir: string, cleanups: (() => Promise<void> | void)[]): Promise<Subprocess> {
  const proc = await startNatsServer(port, storeDir)
  cleanups.push(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL')
    await proc.exited
  })
  return proc
}
