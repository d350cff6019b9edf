/**
 * Worker side of chunks.ts: inflates one gzip file into the shared chunk slots (protocol in
 * chunks.ts `CTL`), sleeping in Atomics.wait while every slot is full, until the end of the file,
 * a failure (posted as `{message, code, zlib}` before STATE is set) or CLOSED.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { CTL, STATE, wake } from './chunks.ts'
import { Gunzip, GunzipError } from './gunzip.ts'

declare const self: Worker

interface Open {
  path: string
  readBytes: number
  chunkBytes: number
  ctl: SharedArrayBuffer
  data: SharedArrayBuffer
}

self.onmessage = (e: MessageEvent) => run(e.data as Open)

function run(o: Open): void {
  const ctl = new Int32Array(o.ctl)
  const bytes = new Uint8Array(o.data)
  const slots = bytes.length / o.chunkBytes
  let fd = -1
  const gz = new Gunzip()
  try {
    fd = openSync(o.path, 'r')
    const input = Buffer.allocUnsafe(o.readBytes)
    for (let k = 0; !gz.done; ) {
      if (!waitForSlot(ctl, k, slots)) return
      const at = (k % slots) * o.chunkBytes
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
        ctl[CTL.LENGTHS + (k % slots)] = n
        Atomics.store(ctl, CTL.PRODUCED, ++k) // publishes the slot's bytes and length
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
