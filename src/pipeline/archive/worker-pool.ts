/**
 * The gunzip workers of chunks.ts: started on demand, and kept idle after a file they finished
 * (its end or a gzip error), with that file's shared memory, for the next one. Starting a worker
 * costs 40–130 ms (a JS VM and node:zlib), which a day of 96 quarter-hour files or a second
 * backtest in the same process would pay again and again; new shared memory costs a page fault
 * per 4 KiB at first touch (the chunk ring and its index: megabytes per file).
 * Off switch: SSMD_READ_WORKER_REUSE=0 (a new worker per file, ended after it).
 */

export const GUNZIP_WORKER = { worker: new URL('./gunzip-worker.ts', import.meta.url).href, compiledPath: './pipeline/archive/gunzip-worker.ts' }

/** The script to start: in a compiled binary, its entry point there. */
export function workerSpecifier(w: { worker: string; compiledPath: string }): string {
  return w.worker.includes('$bunfs') ? w.compiledPath : w.worker
}

/** A worker and the shared memory of its (last) file: chunk ring `data` and its `index`. */
export interface IdleWorker {
  script: string
  worker: Worker
  data: SharedArrayBuffer
  index: SharedArrayBuffer | null
}
/** Idle workers, per script, at most `MAX_IDLE_WORKERS` (the oldest is ended). */
const idleWorkers: IdleWorker[] = []
const MAX_IDLE_WORKERS = 2

/** Workers started and reused since the process began, and idle now (tests, diagnostics). */
export const gunzipWorkers = {
  started: 0,
  reused: 0,
  get idle(): number {
    return idleWorkers.length
  },
}

/** A worker for `script` (an idle one, with its memory when it has the sizes asked for), or null. */
export function takeWorker(script: string, dataBytes: number, indexBytes: number): IdleWorker | null {
  const i = idleWorkers.findLastIndex((w) => w.script === script)
  if (i >= 0) {
    gunzipWorkers.reused++
    const w = idleWorkers.splice(i, 1)[0]
    return {
      script,
      worker: w.worker,
      data: w.data.byteLength === dataBytes ? w.data : new SharedArrayBuffer(dataBytes),
      index: indexBytes === 0 ? null : w.index?.byteLength === indexBytes ? w.index : new SharedArrayBuffer(indexBytes),
    }
  }
  try {
    const worker = new Worker(script)
    worker.unref()
    gunzipWorkers.started++
    return { script, worker, data: new SharedArrayBuffer(dataBytes), index: indexBytes === 0 ? null : new SharedArrayBuffer(indexBytes) }
  } catch {
    return null
  }
}

/**
 * Keeps the worker for the next file when it is done with this one (`finished`: its run returned
 * after the end or a failure it reported), else ends it (a crash, or a reader that stopped early
 * while the worker may still be inflating and could still post a failure).
 */
export function releaseWorker(w: IdleWorker, finished: boolean): void {
  w.worker.onmessage = null
  w.worker.onerror = null
  if (!finished || process.env.SSMD_READ_WORKER_REUSE === '0') {
    w.worker.terminate()
    return
  }
  idleWorkers.push(w)
  if (idleWorkers.length > MAX_IDLE_WORKERS) idleWorkers.shift()?.worker.terminate()
}
