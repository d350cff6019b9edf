/**
 * Captures console.log / console.error lines for CLI tests (`run([...])` prints through them):
 * `captureConsole()` at the top of a test file for every test, or `runInProcess(argv)` for one call.
 */
import { afterEach, beforeEach, spyOn } from 'bun:test'
import { run } from '../src/cli/program.ts'

export function captureConsole(): { out: string[]; err: string[] } {
  const c = { out: [] as string[], err: [] as string[] }
  beforeEach(() => {
    c.out.length = 0
    c.err.length = 0
    spyOn(console, 'log').mockImplementation((...a: unknown[]) => void c.out.push(a.join(' ')))
    spyOn(console, 'error').mockImplementation((...a: unknown[]) => void c.err.push(a.join(' ')))
  })
  afterEach(() => {
    ;(console.log as unknown as { mockRestore(): void }).mockRestore()
    ;(console.error as unknown as { mockRestore(): void }).mockRestore()
    process.exitCode = 0
  })
  return c
}

/** Runs the CLI in-process with console.log / console.error captured for this one call. */
export async function runInProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const log = spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')))
  const error = spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')))
  try {
    return { code: await run(argv), out: out.join('\n'), err: err.join('\n') }
  } finally {
    log.mockRestore()
    error.mockRestore()
  }
}
