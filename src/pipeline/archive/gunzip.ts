/**
 * Streaming gunzip into buffers the caller owns: no allocation per chunk, so reading a large
 * archive does not leave a trail of garbage buffers for the GC to catch up with (RSS then grows
 * with the file). It drives node:zlib's native handle (`_handle.writeSync`, the call node:zlib's
 * own sync API makes; Bun implements it the same way), so errors and multi-member files behave
 * exactly as node:zlib's Gunzip: corrupt data and a stream that ends early raise the same
 * Z_DATA_ERROR / Z_BUF_ERROR "unexpected end of file". `available()` is false when the runtime
 * lacks that handle; the reader then uses the zlib stream.
 */
import zlib from 'node:zlib'
import { ArchiveError } from './errors.ts'

interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void
  onerror: (message: string, errno: number, code?: string) => void
  close(): void
}

/** A gzip stream that is corrupt or ends early (`code` is zlib's, e.g. Z_BUF_ERROR). */
export class GunzipError extends ArchiveError {
  override name = 'GunzipError'
}

let nativeHandle: boolean | undefined

function probe(): boolean {
  try {
    const s = zlib.createGunzip() as unknown as { _handle?: { writeSync?: unknown }; _writeState?: unknown }
    const ok = typeof s._handle?.writeSync === 'function' && s._writeState instanceof Uint32Array
    ;(s as unknown as zlib.Gunzip).close()
    return ok
  } catch {
    return false
  }
}

export class Gunzip {
  private readonly stream: zlib.Gunzip
  private readonly handle: NativeHandle
  /** [output bytes left, input bytes left] after each writeSync. */
  private readonly state: Uint32Array
  private failure: GunzipError | null = null
  private input: Uint8Array = new Uint8Array(0)
  private inOff = 0
  private inLen = 0
  private finishing = false
  /** The last call filled its output: zlib may hold more before it needs input. */
  private pending = false
  done = false

  constructor() {
    this.stream = zlib.createGunzip()
    const s = this.stream as unknown as { _handle: NativeHandle; _writeState: Uint32Array }
    this.handle = s._handle
    this.state = s._writeState
    this.handle.onerror = (message, _errno, code) => {
      this.failure ??= new GunzipError(message, code ?? 'Z_DATA_ERROR')
    }
  }

  /** Whether this runtime's node:zlib exposes the native handle (checked once). */
  static available(): boolean {
    return (nativeHandle ??= probe())
  }

  /** Sets the next compressed input (consumed by `inflate`; `input` must stay unchanged until then). */
  push(input: Uint8Array, length = input.length): void {
    this.input = input
    this.inOff = 0
    this.inLen = length
  }

  /** True when the last pushed input is used up. */
  get needsInput(): boolean {
    return this.inLen === 0 && !this.pending && !this.finishing
  }

  /** No more input will come: the next `inflate` calls flush the end (or raise "unexpected end of file"). */
  finish(): void {
    this.finishing = true
  }

  /**
   * Inflates into out[offset, out.length); returns the bytes written (0 when it needs input or is
   * done). Throws GunzipError on corrupt data or, after `finish`, a stream that ended early; output
   * of the failing call is discarded, as node:zlib does.
   */
  inflate(out: Uint8Array, offset: number): number {
    if (this.done || this.needsInput) return 0
    const room = out.length - offset
    this.handle.writeSync(this.finishing ? zlib.constants.Z_FINISH : zlib.constants.Z_NO_FLUSH, this.input, this.inOff, this.inLen, out, offset, room)
    if (this.failure) throw this.failure
    const produced = room - this.state[0]
    const consumed = this.inLen - this.state[1]
    this.inOff += consumed
    this.inLen = this.state[1]
    // no progress on input that is left: zero padding after the last member, which zlib ignores
    if (produced === 0 && consumed === 0 && !this.finishing) this.inLen = 0
    this.pending = this.state[0] === 0
    // finished: everything flushed with output room to spare
    if (this.finishing && this.state[0] !== 0) this.done = true
    return produced
  }

  close(): void {
    this.stream.close()
  }
}
