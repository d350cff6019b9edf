import { rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../core/log.ts'
import { DataError } from '../core/errors.ts'
import { MANIFEST_NAME, mergeManifests, readManifest, upstreamTotals, writeManifest, type Manifest, type ManifestFile, type ManifestGap } from './manifest.ts'

export type ManifestHeader = Pick<Manifest, 'feed' | 'stream' | 'rotation_interval' | 'seq_field'>

/**
 * What one writer process added to a date directory: closed files, gaps, tickers, types. Saved by
 * merging into whatever `manifest.json` holds at that moment, so earlier runs' files are kept.
 */
export class DayState {
  readonly files: ManifestFile[] = []
  readonly gaps: ManifestGap[] = []
  readonly tickers = new Set<string>()
  readonly types = new Set<string>()
  /** File names already used that day (by earlier runs, per the manifest, or by this one). */
  readonly names = new Set<string>()

  private constructor(
    readonly date: string,
    readonly dir: string,
    private readonly header: ManifestHeader,
    private readonly log: Logger,
  ) {}

  static async load(date: string, dir: string, header: ManifestHeader, log: Logger): Promise<DayState> {
    const day = new DayState(date, dir, header, log)
    const prev = await day.readPrevious()
    for (const f of prev?.files ?? []) day.names.add(f.name)
    return day
  }

  private async readPrevious(): Promise<Manifest | null> {
    try {
      return await readManifest(this.dir)
    } catch (e) {
      if (!DataError.is(e, 'MANIFEST_INVALID')) throw e
      const aside = join(this.dir, `${MANIFEST_NAME}.invalid-${Date.now()}`)
      this.log.warn({ err: e, aside }, 'archive manifest unreadable; moved aside, starting a new one')
      await rename(join(this.dir, MANIFEST_NAME), aside)
      return null
    }
  }

  toManifest(): Manifest {
    const h = this.header
    return {
      feed: h.feed,
      stream: h.stream,
      date: this.date,
      format: 'jsonl',
      rotation_interval: h.rotation_interval,
      seq_field: h.seq_field,
      files: [...this.files],
      gaps: [...this.gaps],
      has_gaps: this.gaps.length > 0,
      ...upstreamTotals(this.files),
      tickers: [...this.tickers].sort(),
      message_types: [...this.types].sort(),
    }
  }

  async save(): Promise<void> {
    await writeManifest(this.dir, mergeManifests(await this.readPrevious(), this.toManifest()))
  }
}
