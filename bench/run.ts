/**
 * `bun run bench [filter…]`: runs every bench/*.bench.ts whose name contains one of the
 * filters (all when none), each in its own `bun` subprocess, one after another (2 cores: never
 * in parallel), passes its output through, collects its `BENCH {json}` lines and prints a
 * summary table of every reported figure and ratio at the end. Exits 1 if a bench failed.
 */
import { Glob } from 'bun'
import type { BenchResult } from './runner.ts'
import { formatValue } from './runner.ts'

const dir = import.meta.dir
const filters = process.argv.slice(2)
const files = [...new Glob('*.bench.ts').scanSync(dir)]
  .sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))

if (files.length === 0) {
  console.error(`no bench matches ${filters.join(' ')} (have: ${[...new Glob('*.bench.ts').scanSync(dir)].join(', ')})`)
  process.exit(2)
}

const all: BenchResult[] = []
const failed: string[] = []
for (const f of files) {
  console.log(`\n=== ${f} ===`)
  const proc = Bun.spawn(['bun', `${dir}/${f}`], { stdout: 'pipe', stderr: 'inherit', env: process.env })
  let rest = ''
  const dec = new TextDecoder()
  for await (const chunk of proc.stdout) {
    rest += dec.decode(chunk, { stream: true })
    let nl = rest.indexOf('\n')
    while (nl >= 0) {
      const line = rest.slice(0, nl)
      rest = rest.slice(nl + 1)
      if (line.startsWith('BENCH ')) {
        try {
          all.push({ ...JSON.parse(line.slice(6)), bench: f.replace(/\.bench\.ts$/, '') })
        } catch {
          console.log(line)
        }
      } else console.log(line)
      nl = rest.indexOf('\n')
    }
  }
  if (rest) console.log(rest)
  if ((await proc.exited) !== 0) failed.push(f)
}

const rows = all.map((r) => [
  r.bench,
  r.name,
  `${formatValue(r.value)} ${r.unit}`,
  r.ratio === undefined ? '' : `${r.ratio.toFixed(2)} to ${r.baselineName}`,
  r.target === undefined ? '' : `${r.target.replace('>=', '≥ ').replace('<=', '≤ ')} ${r.met ? 'met' : 'NOT met'}`,
])
const head = ['bench', 'figure', 'value', 'ratio', 'target']
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()
console.log(`\n=== summary (${all.length} figures from ${files.length} benches) ===`)
console.log(fmt(head))
console.log(widths.map((w) => '-'.repeat(w)).join('  '))
for (const r of rows) console.log(fmt(r))
if (failed.length) {
  console.error(`\nfailed: ${failed.join(', ')}`)
  process.exit(1)
}
