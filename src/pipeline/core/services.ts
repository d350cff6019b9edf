import { connect as tcpConnect } from 'node:net'

/** Local service addresses the tests and the `dev` environment default to. */
export const LOCAL_SERVICES = {
  nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  postgres: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
} as const

/** True when a TCP connection to the URL's host:port opens within `timeoutMs`. */
export function reachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const u = new URL(url)
  const port = Number(u.port) || ({ 'nats:': 4222, 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379 } as Record<string, number>)[u.protocol] || 80
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: u.hostname, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}
