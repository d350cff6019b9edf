/**
 * A gunzip worker (archive/gunzip-loop.ts) that also walks the records of each chunk it inflates
 * (scan-chunk.ts `indexChunk`), so the reader's thread only builds them. Started by readers that
 * ask for `RECORD_INDEXER` (chunk-records.ts).
 */
import { runGunzip } from '../archive/gunzip-loop.ts'
import { chunkIndexOf, indexChunk, type ChunkIndex } from './scan-chunk.ts'

declare const self: Worker

let shared: SharedArrayBuffer | null = null
let index: ChunkIndex | null = null

self.onmessage = (e: MessageEvent) =>
  runGunzip(e.data, (chunk, slot, lineStart, first, memory, slots) => {
    if (memory !== shared) {
      shared = memory
      index = chunkIndexOf(memory, slots)
    }
    indexChunk(chunk, lineStart, first, index as ChunkIndex, slot)
  })
