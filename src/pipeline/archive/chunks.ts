/**
 * The uncompressed bytes of one archive file, in chunks taken from a few reused buffers: memory
 * stays bounded and constant however large the file (no buffer per read for the GC to catch up
 * with). A gzip file large enough to be worth it is inflated in a Worker (gunzip-worker.ts), so
 * decompression runs on another core while the caller decodes and parses; the worker fills the
 * slots of a SharedArrayBuffer ring (protocol at `CTL`; a postMessage transfer of each buffer
 * costs more than the inflate itself in Bun).
 *
 * Each chunk is a view that is valid until the next one is asked for. Corrupt or truncated gzip
 * data ends the chunks with a GunzipError (zlib's code and message) after every byte before it.
 * With `index` (a `ChunkIndexer`), the worker also indexes chunks before it hands them over (see
 * gunzip-loop.ts: records/scan-worker.ts walks the records of each line), and `readChunks` says
 * which chunks it indexed; without a worker no chunk is indexed.
 * Workers are kept idle between files (worker-pool.ts).
 * Off switches: SSMD_READ_WORKER=0 (inflate inline), SSMD_READ_STREAM=1 (node:zlib streams, the
 * previous reader), SSMD_READ_WORKER_REUSE=0 (a new worker per file, ended after it).
 */
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import zlib from 'node:zlib'
import { ArchiveError } from './errors.ts'
import { Gunzip, GunzipError } from './gunzip.ts'
import { GUNZIP_WORKER, releaseWorker, takeWorker, workerSpecifier } from './worker-pool.ts'

/** Chunks the reader must have waiting before the worker also indexes the next one (gunzip-loop.ts). */
export const INDEX_AHEAD = 2

export const CHUNK_DEFAULTS = {
  readBytes: 1024 * 1024,
  /** Uncompressed bytes per chunk. */
  chunkBytes: 256 * 1024,
  /** Chunk buffers a worker may fill ahead of the reader. */
  workerBuffers: 8,
  /** Gzip files at least this large (compressed) are inflated in a worker. */
  workerMinBytes: 512 * 1024,
}

export type GunzipMode = 'worker' | 'inline' | 'stream'

export interface ChunkOptions {
  /** Compressed (or plain) bytes per read. @default 1 MiB */
  readBytes?: number
  /**
   * `worker` (files of at least `workerMinBytes`; smaller ones inline), `inline` (native handle,
   * this thread), `stream` (node:zlib streams). @default env: SSMD_READ_STREAM=1 → stream,
   * SSMD_READ_WORKER=0 → inline, else worker
   */
  gunzip?: GunzipMode
  /** @default 512 KiB */
  workerMinBytes?: number
  /** Work the worker does on each chunk (worker mode only). */
  index?: ChunkIndexer
}

/**
 * An index the gunzip worker makes of each chunk: `worker` is the worker script (a module running
 * gunzip-loop.ts `runGunzip` with its index function), `compiledPath` that script's path in a
 * `bun build --compile` binary (one of its entry points), `bytes(slots)` the shared memory the
 * index of `slots` chunks takes.
 */
export interface ChunkIndexer {
  worker: string
  compiledPath: string
  bytes(slots: number): number
  /** Chunks the reader must have waiting before the worker indexes the next (gunzip-loop.ts). @default 2 */
  ahead?: number
}

/** A chunk of uncompressed bytes and its index (one object, reused: valid until the next chunk). */
export interface Chunk {
  bytes: Uint8Array
  /** The index memory when the worker indexed this chunk, else null. */
  index: SharedArrayBuffer | null
  /** Ring slot of the chunk (its region of the index) and the ring's slot count. */
  slot: number
  slots: number
}

/** The gunzip mode options and environment ask for (stream when the native handle is missing). */
export function gunzipMode(o: ChunkOptions = {}): GunzipMode {
  const asked = o.gunzip ?? (process.env.SSMD_READ_STREAM === '1' ? 'stream' : process.env.SSMD_READ_WORKER === '0' ? 'inline' : 'worker')
  return asked !== 'stream' && !Gunzip.available() ? 'stream' : asked
}

/** The uncompressed chunks of `path` (gzip when `gzip`), see the header. */
export async function* fileChunks(path: string, gzip: boolean, o: ChunkOptions = {}): AsyncGenerator<Uint8Array> {
  for await (const c of readChunks(path, gzip, o)) yield c.bytes
}

/** Like `fileChunks`, with the worker's index of each chunk (`o.index`). */
export async function* readChunks(path: string, gzip: boolean, o: ChunkOptions = {}): AsyncGenerator<Chunk> {
  const readBytes = o.readBytes ?? CHUNK_DEFAULTS.readBytes
  const chunk: Chunk = { bytes: new Uint8Array(0), index: null, slot: 0, slots: 0 }
  if (!gzip) return yield* plainChunks(path, readBytes, chunk)
  const mode = gunzipMode(o)
  if (mode === 'stream') return yield* streamChunks(path, readBytes, chunk)
  if (mode === 'worker' && Bun.file(path).size >= (o.workerMinBytes ?? CHUNK_DEFAULTS.workerMinBytes)) {
    const started = yield* workerChunks(path, readBytes, o.index ?? null, chunk)
    if (started) return
  }
  yield* inlineChunks(path, readBytes, chunk)
}

async function* plainChunks(path: string, readBytes: number, chunk: Chunk): AsyncGenerator<Chunk> {
  const fh = await open(path, 'r')
  const buf = Buffer.allocUnsafe(readBytes)
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null)
      if (bytesRead === 0) return
      chunk.bytes = buf.subarray(0, bytesRead)
      yield chunk
    }
  } finally {
    await fh.close()
  }
}

async function* inlineChunks(path: string, readBytes: number, chunk: Chunk): AsyncGenerator<Chunk> {
  const fh = await open(path, 'r')
  const input = Buffer.allocUnsafe(readBytes)
  const out = Buffer.allocUnsafe(CHUNK_DEFAULTS.chunkBytes)
  const gz = new Gunzip()
  try {
    for (;;) {
      let n = 0
      let failure: unknown = null
      try {
        while (n < out.length && !gz.done) {
          if (gz.needsInput) {
            const { bytesRead } = await fh.read(input, 0, input.length, null)
            if (bytesRead === 0) gz.finish()
            else gz.push(input, bytesRead)
          } else n += gz.inflate(out, n)
        }
      } catch (e) {
        failure = e
      }
      if (n > 0) {
        chunk.bytes = out.subarray(0, n)
        yield chunk
      }
      if (failure !== null) throw failure
      if (gz.done) return
    }
  } finally {
    gz.close()
    await fh.close()
  }
}

/**
 * Shared control words between the reader (main) and its gunzip worker. Chunk k lives in slot
 * k mod `buffers` of the data SharedArrayBuffer. The worker fills a slot only while
 * k − CONSUMED < buffers, writes its length, then publishes with Atomics.store(PRODUCED, k + 1);
 * the reader reads chunks below PRODUCED, then Atomics.store(CONSUMED, k + 1) frees the slot.
 * STATE is set after the last PRODUCED store (so a reader that sees it and then re-reads
 * PRODUCED has every chunk); CLOSED tells the worker to stop. After the `buffers` lengths come
 * `buffers` INDEXED flags (1: the slot's index region describes it), written before PRODUCED too.
 * Sleeping (Atomics.notify is costly, so only a sleeper is notified, and the worker only once
 * half the slots are free): a side about to wait stores its flag (R_SLEEPING / W_SLEEPING) = 1
 * (the worker first W_WANT, the CONSUMED count it waits for), re-checks the counter, then waits
 * on the flag while it is 1; the other side, after its store, swaps the flag to 0 and notifies
 * when it was 1 (the reader: once CONSUMED ≥ W_WANT). All sequentially consistent: either the
 * waker sees the flag, or the sleeper's re-check sees the new count. No lost wake-up.
 */
export const CTL = { PRODUCED: 0, CONSUMED: 1, STATE: 2, CLOSED: 3, R_SLEEPING: 4, W_SLEEPING: 5, W_WANT: 6, LENGTHS: 8 } as const
export const STATE = { RUNNING: 0, END: 1, FAILED: 2, CRASHED: 3 } as const

/**
 * Waits (without blocking the event loop) while ctl[flag] is 1, at most `ms`. Bun's event loop
 * polls without sleeping while an Atomics.waitAsync is all it has to wait for (a 1 s wait took
 * 1 s of CPU, taken from the worker on a 2-core machine), so a timer is armed meanwhile: with
 * one pending, the loop sleeps in the kernel until the notify.
 */
export async function sleepWhile(ctl: Int32Array, flag: number, ms: number): Promise<void> {
  const w = Atomics.waitAsync(ctl, flag, 1, ms)
  if (!w.async) return
  const guard = setTimeout(() => {}, ms + 1000)
  try {
    await w.value
  } finally {
    clearTimeout(guard)
  }
}

/** Wakes the other side if it sleeps on `flag` (see CTL). */
export function wake(ctl: Int32Array, flag: number): void {
  if (Atomics.load(ctl, flag) === 1 && Atomics.exchange(ctl, flag, 0) === 1) Atomics.notify(ctl, flag)
}

interface WorkerFailure {
  message: string
  code: string
  zlib: boolean
}

/**
 * Chunks inflated by a worker. Returns false without yielding when the worker could not start
 * (the caller then inflates inline).
 */
async function* workerChunks(path: string, readBytes: number, indexer: ChunkIndexer | null, chunk: Chunk): AsyncGenerator<Chunk, boolean> {
  const n = CHUNK_DEFAULTS.workerBuffers
  const size = CHUNK_DEFAULTS.chunkBytes
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (CTL.LENGTHS + 2 * n)))
  const taken = takeWorker(workerSpecifier(indexer ?? GUNZIP_WORKER), n * size, indexer === null ? 0 : indexer.bytes(n))
  if (taken === null) return false
  const { worker, data, index } = taken
  const bytes = new Uint8Array(data)
  chunk.slots = n
  let finished = false
  let failure: WorkerFailure | null = null
  let crash = ''
  worker.onmessage = (e: MessageEvent) => {
    failure = e.data as WorkerFailure
  }
  worker.onerror = (e: ErrorEvent) => {
    crash = e.message || 'worker error'
    Atomics.store(ctl, CTL.STATE, STATE.CRASHED)
    wake(ctl, CTL.R_SLEEPING)
  }
  worker.postMessage({ path, readBytes, chunkBytes: size, ctl: ctl.buffer, data, index, ahead: indexer?.ahead ?? INDEX_AHEAD })
  let k = 0
  try {
    for (;;) {
      const produced = Atomics.load(ctl, CTL.PRODUCED)
      if (k < produced) {
        const slot = k % n
        const at = slot * size
        chunk.bytes = bytes.subarray(at, at + ctl[CTL.LENGTHS + slot])
        chunk.index = ctl[CTL.LENGTHS + n + slot] === 1 ? index : null
        chunk.slot = slot
        yield chunk
        k++
        Atomics.store(ctl, CTL.CONSUMED, k) // frees the slot
        if (k >= Atomics.load(ctl, CTL.W_WANT)) wake(ctl, CTL.W_SLEEPING)
        continue
      }
      const state = Atomics.load(ctl, CTL.STATE)
      if (state !== STATE.RUNNING && k >= Atomics.load(ctl, CTL.PRODUCED)) {
        if (state === STATE.END) {
          finished = true
          return true
        }
        if (state === STATE.CRASHED) {
          if (k === 0) return false
          throw new ArchiveError(`reading ${path}: gunzip worker failed: ${crash}`, 'ARCHIVE_WORKER')
        }
        while (failure === null) await new Promise((r) => setImmediate(r)) // its message is on the way
        finished = true
        const f = failure as WorkerFailure
        throw f.zlib ? new GunzipError(f.message, f.code) : new ArchiveError(`reading ${path}: ${f.message}`, f.code)
      }
      Atomics.store(ctl, CTL.R_SLEEPING, 1)
      if (Atomics.load(ctl, CTL.PRODUCED) === produced && Atomics.load(ctl, CTL.STATE) === STATE.RUNNING) {
        await sleepWhile(ctl, CTL.R_SLEEPING, 1000)
      }
      Atomics.store(ctl, CTL.R_SLEEPING, 0)
    }
  } finally {
    Atomics.store(ctl, CTL.CLOSED, 1)
    Atomics.store(ctl, CTL.W_SLEEPING, 0)
    Atomics.notify(ctl, CTL.W_SLEEPING)
    releaseWorker(taken, finished)
  }
}

/** The previous reader: node:zlib streams (allocates a buffer per chunk). */
async function* streamChunks(path: string, readBytes: number, chunk: Chunk): AsyncGenerator<Chunk> {
  const src = createReadStream(path, { highWaterMark: readBytes })
  const gunzip = zlib.createGunzip({ chunkSize: CHUNK_DEFAULTS.chunkBytes })
  src.on('error', (e) => gunzip.destroy(e))
  src.pipe(gunzip)
  try {
    for await (const b of gunzip) {
      chunk.bytes = b as Buffer
      yield chunk
    }
  } catch (e) {
    const code = (e as { code?: unknown })?.code
    if (typeof code === 'string' && code.startsWith('Z_')) throw new GunzipError((e as Error).message, code, { cause: e })
    throw e
  } finally {
    src.destroy()
    gunzip.destroy()
  }
}
