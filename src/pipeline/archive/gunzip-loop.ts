/**
 * The loop of a gunzip worker (chunks.ts; entry scripts gunzip-worker.ts and, with an index
 * function, records/scan-worker.ts): inflates one gzip file into the shared chunk slots
 * (protocol in chunks.ts `CTL`), sleeping in Atomics.wait while every slot is full, until the end
 * of the file, a failure (posted as `{message, code, zlib}` before STATE is set) or CLOSED.
 *
 * With an index function, each chunk is also indexed before it is published (into the job's
 * `index` memory, region `slot`; INDEXED flag 1), but only while the reader has at least `ahead`
 * (chunks.ts INDEX_AHEAD) chunks waiting: a reader about to run dry gets the chunk at once,
 * unindexed, and does that work itself. So the two threads share the work, whichever is slower.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { CTL, STATE, wake } from './chunks.ts'
import { Gunzip, GunzipError } from './gunzip.ts'

declare const self: Worker

/**
 * Indexes `chunk` (ring slot `slot` of `slots`) into `index`: `lineStart` when the chunk starts at
 * a line start (the file's first chunk, or the previous chunk ended with a newline), `first` for
 * the file's first chunk.
 */
export type ChunkIndexFn = (chunk: Uint8Array, slot: number, lineStart: boolean, first: boolean, index: SharedArrayBuffer, slots: number) => void

export interface GunzipJob {
  path: string
  readBytes: number
  chunkBytes: number
  ctl: SharedArrayBuffer
  data: SharedArrayBuffer
  /** Index memory (chunks.ts `ChunkIndexer`), or null. */
  index: SharedArrayBuffer | null
  /** Chunks the reader must have waiting before the next one is indexed. */
  ahead: number
}

export function runGunzip(o: GunzipJob, indexChunk?: ChunkIndexFn): void {
  const ctl = new Int32Array(o.ctl)
  const bytes = new Uint8Array(o.data)
  const slots = bytes.length / o.chunkBytes
  const index = indexChunk !== undefined ? o.index : null
  let fd = -1
  const gz = new Gunzip()
  try {
    fd = openSync(o.path, 'r')
    const input = Buffer.allocUnsafe(o.readBytes)
    let lineStart = true
    for (let k = 0; !gz.done; ) {
      if (!waitForSlot(ctl, k, slots)) return
      const slot = k % slots
      const at = slot * o.chunkBytes
      const out = bytes.subarray(at, at + o.chunkBytes)
      let n = 0
      let failure: unknown = null
      try {
        while (n < out.length && !gz.done) {
          if (gz.needsInput) {
            const read = readSync(fd, input, 0, input.length, null)
            if (read === 0) gz.finish()
            else gz.push(input, read)
          } else n += gz.inflate(out, n)
        }
      } catch (err) {
        failure = err
      }
      if (n > 0) {
        let indexed = 0
        if (index !== null && k - Atomics.load(ctl, CTL.CONSUMED) >= o.ahead) {
          ;(indexChunk as ChunkIndexFn)(out.subarray(0, n), slot, lineStart, k === 0, index, slots)
          indexed = 1
        }
        lineStart = out[n - 1] === 0x0a
        ctl[CTL.LENGTHS + slot] = n
        ctl[CTL.LENGTHS + slots + slot] = indexed
        Atomics.store(ctl, CTL.PRODUCED, ++k) // publishes the slot's bytes, length, flag and index
        wake(ctl, CTL.R_SLEEPING)
      }
      if (failure !== null) throw failure
    }
    Atomics.store(ctl, CTL.STATE, STATE.END)
  } catch (err) {
    const code = (err as { code?: unknown })?.code
    self.postMessage({ message: (err as Error)?.message ?? String(err), code: typeof code === 'string' ? code : 'ARCHIVE_IO', zlib: err instanceof GunzipError })
    Atomics.store(ctl, CTL.STATE, STATE.FAILED)
  } finally {
    wake(ctl, CTL.R_SLEEPING)
    gz.close()
    if (fd >= 0) closeSync(fd)
  }
}

/**
 * Waits until slot k is free (chunk k − slots consumed); when it has to sleep, until half the
 * slots are free, so the reader wakes it once per slots / 2 chunks. False once the reader closed.
 */
function waitForSlot(ctl: Int32Array, k: number, slots: number): boolean {
  if (k - Atomics.load(ctl, CTL.CONSUMED) < slots) return Atomics.load(ctl, CTL.CLOSED) === 0
  const want = k - slots + Math.max(1, slots >> 1)
  Atomics.store(ctl, CTL.W_WANT, want)
  for (;;) {
    if (Atomics.load(ctl, CTL.CLOSED) === 1) return false
    if (Atomics.load(ctl, CTL.CONSUMED) >= want) return true
    Atomics.store(ctl, CTL.W_SLEEPING, 1)
    if (Atomics.load(ctl, CTL.CONSUMED) < want && Atomics.load(ctl, CTL.CLOSED) === 0) Atomics.wait(ctl, CTL.W_SLEEPING, 1, 1000)
    Atomics.store(ctl, CTL.W_SLEEPING, 0)
  }
}
