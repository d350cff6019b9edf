import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import zlib from 'node:zlib'
import { ArchiveError } from './errors.ts'
import { fsyncDir } from './manifest.ts'

const CHUNK_BYTES = 256 * 1024
const HIGH_WATER_BYTES = 4 * 1024 * 1024

/**
 * One gzip file being written as `{finalPath}.tmp`. The compressor's output is written to the file
 * descriptor as soon as zlib produces it, so once `flush()` (Z_SYNC_FLUSH) resolves every byte
 * written before it is in the OS and readable by others. `close()` finishes the gzip stream,
 * fsyncs, and renames the file to its final name.
 */
export class GzipFile {
  readonly tmpPath: string
  private readonly fd: number
  private readonly gz: zlib.Gzip
  private failure: Error | null = null
  compressedBytes = 0

  constructor(readonly finalPath: string, level: number, tmpSuffix = '.tmp') {
    this.tmpPath = `${finalPath}${tmpSuffix}`
    try {
      this.fd = openSync(this.tmpPath, 'wx')
    } catch (e) {
      throw new ArchiveError(`cannot create ${this.tmpPath}: ${(e as Error).message}`, 'ARCHIVE_IO', { cause: e })
    }
    this.gz = zlib.createGzip({ level, chunkSize: CHUNK_BYTES, highWaterMark: HIGH_WATER_BYTES } as zlib.ZlibOptions)
    this.gz.on('data', (chunk: Buffer) => this.writeOut(chunk))
    this.gz.on('error', (e) => this.fail(e))
  }

  private fail(e: unknown): void {
    this.failure ??= new ArchiveError(`writing ${this.tmpPath}: ${(e as Error).message}`, 'ARCHIVE_IO', { cause: e })
  }

  private writeOut(chunk: Buffer): void {
    if (this.failure) return
    try {
      let off = 0
      while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off)
      this.compressedBytes += chunk.length
    } catch (e) {
      this.fail(e)
    }
  }

  private check(): void {
    if (this.failure) throw this.failure
  }

  /** Queues `buf` for compression; resolves at once unless zlib's input buffer is full. */
  async write(buf: Uint8Array): Promise<void> {
    this.check()
    if (!this.gz.write(buf)) await new Promise<void>((r) => this.gz.once('drain', r))
    this.check()
  }

  /** Compresses everything written so far and hands it to the OS (no fsync). */
  async flush(): Promise<void> {
    this.check()
    await new Promise<void>((r) => this.gz.flush(zlib.constants.Z_SYNC_FLUSH, () => r()))
    this.check()
  }

  /** Finishes the gzip stream, fsyncs, closes and renames `.tmp` to the final name. */
  async close(): Promise<void> {
    this.check()
    await new Promise<void>((resolve, reject) => {
      this.gz.once('end', resolve)
      this.gz.once('error', reject)
      this.gz.end()
    }).catch((e) => this.fail(e))
    try {
      if (!this.failure) fsyncSync(this.fd)
    } catch (e) {
      this.fail(e)
    } finally {
      closeSync(this.fd)
    }
    this.check()
    await rename(this.tmpPath, this.finalPath)
    fsyncDir(dirname(this.finalPath))
  }

  /** Closes the descriptor without finishing the file (after a failure); the `.tmp` stays. */
  abandon(): void {
    this.gz.destroy()
    try {
      closeSync(this.fd)
    } catch {}
  }
}
