/**
 * The one wrapper over mitata every bench/*.bench.ts imports (STYLE habit 24).
 *
 * - Micro benches: `bench`, `group`, `summary`, `do_not_optimize` re-exported from mitata, and
 *   `run()` printing mitata's human output, or JSON when SSMD_BENCH_JSON=1.
 * - Pipeline benches: `report(name, value, unit, { baseline, baselineName, target })` prints
 *     name: 123,456 msgs/s (ratio 0.82 to "baseline name"; target ≥ 0.7 met)
 *   and a machine-readable line `BENCH {json}` that bench/run.ts collects into its summary.
 *   ratio = value / baseline. target is '>=0.7' / '<=0.35' (a bare number means ≥).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { bench, do_not_optimize, group, run as mitataRun, summary } from 'mitata'

export { bench, do_not_optimize, group, summary }

export const JSON_OUTPUT = process.env.SSMD_BENCH_JSON === '1'

export interface ReportOptions {
  baseline?: number
  baselineName?: string
  /** '>=0.7', '<=0.35', or a number meaning ≥. */
  target?: string | number
}

export interface BenchResult {
  bench: string
  name: string
  value: number
  unit: string
  baseline?: number
  baselineName?: string
  ratio?: number
  target?: string
  met?: boolean
}

/** Every figure reported by this process, in order. */
export const results: BenchResult[] = []

const benchName = (process.argv[1] ?? '').split('/').pop()?.replace(/\.bench\.ts$/, '') ?? ''

function parseTarget(t: string | number): { op: '>=' | '<='; x: number } {
  if (typeof t === 'number') return { op: '>=', x: t }
  const m = /^\s*(>=|<=|≥|≤)?\s*([\d.]+)\s*$/.exec(t)
  if (!m) throw new TypeError(`target must look like '>=0.7' or '<=0.35' (got ${t})`)
  return { op: m[1] === '<=' || m[1] === '≤' ? '<=' : '>=', x: Number(m[2]) }
}

export function formatValue(v: number): string {
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US')
  return v.toLocaleString('en-US', { maximumSignificantDigits: 3 })
}

/** Prints one pipeline figure (with its ratio to a baseline measured in the same run). */
export function report(name: string, value: number, unit: string, options: ReportOptions = {}): BenchResult {
  const r: BenchResult = { bench: benchName, name, value, unit }
  let line = `${name}: ${formatValue(value)} ${unit}`
  if (options.baseline !== undefined && options.baseline > 0) {
    r.baseline = options.baseline
    r.baselineName = options.baselineName ?? 'baseline'
    r.ratio = value / options.baseline
    line += ` (ratio ${r.ratio.toFixed(2)} to "${r.baselineName}"`
    if (options.target !== undefined) {
      const t = parseTarget(options.target)
      r.target = `${t.op}${t.x}`
      r.met = t.op === '>=' ? r.ratio >= t.x : r.ratio <= t.x
      line += `; target ${t.op === '>=' ? '≥' : '≤'} ${t.x} ${r.met ? 'met' : 'NOT met'}`
    }
    line += ')'
  }
  results.push(r)
  if (!JSON_OUTPUT) console.log(line)
  console.log(`BENCH ${JSON.stringify(r)}`)
  return r
}

/** Runs the mitata benches registered so far (human output, or JSON under SSMD_BENCH_JSON=1). */
export async function run(filter?: RegExp) {
  return mitataRun({ format: JSON_OUTPUT ? 'json' : 'mitata', filter, colors: !JSON_OUTPUT && process.stdout.isTTY })
}

/** Mean time per item of `fn(n)` over `trials` runs after one discarded warm-up, in ns. */
export function timePerItemNs(n: number, fn: (n: number) => void, trials = 5): number {
  fn(Math.min(n, 10_000))
  const xs: number[] = []
  for (let t = 0; t < trials; t++) {
    const t0 = Bun.nanoseconds()
    fn(n)
    xs.push((Bun.nanoseconds() - t0) / n)
  }
  return median(xs)
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

/**
 * A memory field of /proc/{pid}/status in bytes (`VmHWM`: the kernel's high-water mark of the
 * resident set; `VmRSS`: now), of this process by default; null where there is no /proc.
 */
export function procStatusBytes(field: 'VmHWM' | 'VmRSS', pid: number | 'self' = 'self'): number | null {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/**
 * User + system CPU ticks (1/100 s) from a `/proc/{pid}/stat` or `/proc/{pid}/task/{tid}/stat`
 * file (Linux), with the thread's name; null when unreadable (another OS, a process or thread
 * that ended).
 */
export function statCpuTicks(path: string): { ticks: number; name: string } | null {
  try {
    const st = readFileSync(path, 'utf8')
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
    return { ticks: Number(f[11]) + Number(f[12]), name: st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')) }
  } catch {
    return null
  }
}

/** CPU time (user + system, seconds) a process has used, from /proc (Linux); null when unreadable. */
export function procCpuSeconds(pid: number | 'self'): number | null {
  const t = statCpuTicks(`/proc/${pid}/stat`)
  return t === null ? null : t.ticks / 100
}

/**
 * The PID of the nats-server of this machine that `url` reaches (a loopback host, and the port of
 * its command line: `-p`/`-port`/`--port`, with a value after a space or `=`; 4222 when it names
 * none), so a bench can read the server's CPU time. Null when `url` names another host, when the
 * port cannot be told from the command line (a `-c` config file without a port flag), or when
 * there is no such process or more than one.
 */
export function localNatsServerPid(url: string): number | null {
  let host: string
  let port: number
  try {
    const u = new URL(url.split(',')[0].trim().replace(/^(nats|tls):/, 'http:'))
    host = u.hostname
    port = Number(u.port || 4222)
  } catch {
    return null
  }
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) return null
  let found: number | null = null
  let dirs: string[] = []
  try {
    dirs = readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  } catch {
    return null
  }
  for (const d of dirs) {
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'nats-server') continue
      const p = serverPort(readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0'))
      if (p === null) return null
      if (p !== port) continue
      if (found !== null) return null
      found = Number(d)
    } catch {
      // the process ended meanwhile
    }
  }
  return found
}

/** The port a nats-server command line names (Go flags: `-p 1`, `-p=1`, `--port 1`, `-port=1`); 4222 without one; null when a config file may set it. */
function serverPort(args: string[]): number | null {
  let config = false
  for (let i = 1; i < args.length; i++) {
    const m = /^--?(p|port|c|config)(?:=(.*))?$/.exec(args[i])
    if (!m) continue
    const value = m[2] ?? args[i + 1]
    if (m[1] === 'c' || m[1] === 'config') config = true
    else return Number(value)
  }
  return config ? null : 4222
}
