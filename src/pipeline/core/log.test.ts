import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'

/** Runs `code` (importing log.ts) in a child bun; its stdout and stderr. */
async function child(code: string): Promise<{ out: string; err: string }> {
  const log = JSON.stringify(join(import.meta.dir, 'log.ts'))
  const p = Bun.spawn(['bun', '-e', `import { logger, logToStderr } from ${log}; ${code}`], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, SSMD_LOG_PRETTY: '0', SSMD_LOG_LEVEL: 'info' } })
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  return { out, err }
}

describe('logger destination', () => {
  test('JSON lines on stdout by default', async () => {
    const r = await child(`logger().info({ a: 1 }, 'hello'); logger().flush()`)
    expect([JSON.parse(r.out).msg, r.err]).toEqual(['hello', ''])
  })

  test('logToStderr() before the first line sends every line to stderr, leaving stdout to the data', async () => {
    const r = await child(`logToStderr(); logger().child({ role: 'x' }).warn('retrying'); logger().flush(); process.stdout.write('{"data":1}\\n')`)
    expect(r.out).toBe('{"data":1}\n')
    expect(JSON.parse(r.err)).toMatchObject({ msg: 'retrying', role: 'x' })
  })
})

describe('log level', () => {
  test('a level pino does not know is a UsageError naming SSMD_LOG_LEVEL and the levels (was pino\'s trace)', async () => {
    const { createLogger } = await import('./log.ts')
    const before = process.env.SSMD_LOG_LEVEL
    process.env.SSMD_LOG_LEVEL = 'bogus'
    try {
      expect(() => createLogger('x', { pretty: false })).toThrow('SSMD_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent (got "bogus")')
    } finally {
      if (before === undefined) delete process.env.SSMD_LOG_LEVEL
      else process.env.SSMD_LOG_LEVEL = before
    }
    expect(() => createLogger('x', { level: 'loud', pretty: false })).toThrow('the log level must be one of')
    expect(createLogger('x', { level: 'warn', pretty: false }).level).toBe('warn')
  })
})
