/** The archiver: JetStream → ArchiveWriter files, and upload of closed files to GCS. */
export { SYNC_READY, startArchiver, type Archiver, type ArchiverOptions, type ArchiverStats, type ArchiverUploadConfig } from './archiver.ts'
export { archiverOptions, type ArchiverFlags } from './config.ts'
export { GapTracker, type Gap } from './gap-tracker.ts'
export { createArchiverMetrics, type ArchiverMetrics } from './metrics.ts'
export { ARCHIVER_DEFAULTS, resolveTuning, validateEntries, type ArchiverTuning, type ArchiveStreamEntry } from './options.ts'
export { lastDurableSeq } from './resume.ts'
export { StreamTask, type StreamTaskOptions, type StreamTaskStats, type TaskState } from './stream-task.ts'
export { subjectKind } from '../transport/pull.ts'
export {
  UPLOAD_DEFAULTS, Uploader, gcsUpload,
  type ArchiverUploadState, type GcsUploadOptions, type UploadFn, type UploadResult, type UploadTarget, type UploaderOptions,
} from './upload.ts'
