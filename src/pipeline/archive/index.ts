export {
  ARCHIVE_WRITER_DEFAULTS, ArchiveWriter,
  type ArchiveWriterOptions, type ArchiveWriterStats, type GapInput,
} from './writer.ts'
export { ArchiveError } from './errors.ts'
export {
  INJECTED_FIELDS, encodeBatch, rfc3339Micros, scanFrame, stripInjected, unwrapSeedLine,
  type ArchiveRecord,
} from './line.ts'
export {
  MANIFEST_NAME, mergeManifests, readManifest, upstreamTotals, writeManifest,
  type Manifest, type ManifestFile, type ManifestGap, type UploadState, type UpstreamTotals,
} from './manifest.ts'
export { listArchiveFiles, listDates, type ArchiveFile, type ListOptions } from './list.ts'
export {
  finishLine, newReadStats, readArchive, readArchiveBatches, readLineBatches, readLines, readTextChunks,
  type ReadOptions, type ReadStats, type TextChunk, type TruncatedFile,
} from './reader.ts'
export {
  CHUNK_DEFAULTS, fileChunks, gunzipMode, readChunks,
  type Chunk, type ChunkIndexer, type ChunkOptions, type GunzipMode,
} from './chunks.ts'
export { Gunzip, GunzipError } from './gunzip.ts'
export { GzipFile, gzipModeFromEnv, isGzipMode, type GzipMode } from './gzip-file.ts'
export { parseRotation, slotAt, type Slot } from './rotation.ts'
