/**
 * Captures console.log / console.error lines for CLI tests (`run([...])` prints through them).
 * Call at the top of a test file; read `out` and `err` inside tests.
 */
import { afterEach, beforeEach, spyOn } from 'bun:test'

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
