/**
 * House rules a script can check (STYLE.md habits 2, 4, 9): layers import inward only
 * (cli → services → pipeline → hot), named exports only, typed errors instead of bare Error.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { Glob } from 'bun'

const LAYERS = ['hot', 'pipeline', 'services', 'cli'] as const
const files = [...new Glob('src/**/*.ts').scanSync('.')].filter((f) => !f.endsWith('.test.ts') && !f.endsWith('.contract.ts'))

function layerOf(path: string): number {
  return LAYERS.indexOf(path.split('/')[1] as (typeof LAYERS)[number])
}

describe('house rules', () => {
  test('layers import inward only', () => {
    const outward: string[] = []
    for (const f of files) {
      const text = readFileSync(f, 'utf8')
      for (const m of text.matchAll(/from\s+['"](\.[^'"]+)['"]/g)) {
        const target = new URL(m[1], `file:///${f}`).pathname.slice(1)
        if (!target.startsWith('src/')) continue
        if (layerOf(target) > layerOf(f)) outward.push(`${f} imports ${target}`)
      }
    }
    expect(outward).toEqual([])
  })

  test('src/hot imports nothing from other src folders or packages with I/O', () => {
    const bad = files
      .filter((f) => f.startsWith('src/hot/'))
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => [f, m[1]]))
      .filter(([f, spec]) => !spec.startsWith('.') || !new URL(spec, `file:///${f}`).pathname.startsWith('/src/hot/'))
    expect(bad).toEqual([])
  })

  test('there are no default exports', () => {
    expect(files.filter((f) => /^export default/m.test(readFileSync(f, 'utf8')))).toEqual([])
  })

  test('errors are typed: no bare throw new Error in src', () => {
    expect(files.filter((f) => /throw new Error\(/.test(readFileSync(f, 'utf8')))).toEqual([])
  })
})
