/** Fire sinks without I/O dependencies: memory (tests, backtests), console, tee. */
import type { EmittedFire, FireSink, SignalFire } from './types.ts'

/** The fire as published: `{signalId, ts, ticker, payload}`. */
export function fireJson(f: SignalFire): string {
  return JSON.stringify({ signalId: f.signalId, ts: f.ts, ticker: f.ticker, payload: f.payload })
}

/** `<iso time> <ticker> <payload json>` (what `ssmd signal subscribe` and `--console` print). */
export function formatFire(f: SignalFire): string {
  return `${new Date(f.ts).toISOString()} ${f.ticker} ${JSON.stringify(f.payload)}`
}

export class MemoryFireSink implements FireSink {
  readonly fires: EmittedFire[] = []
  async publish(fire: EmittedFire): Promise<void> {
    this.fires.push(fire)
  }
  async close(): Promise<void> {}
}

export class ConsoleFireSink implements FireSink {
  constructor(private readonly write: (line: string) => void = (l) => console.log(l)) {}
  async publish(fire: EmittedFire): Promise<void> {
    this.write(`FIRE ${fire.signalId} ${formatFire(fire)}`)
  }
  async close(): Promise<void> {}
}

export class TeeFireSink implements FireSink {
  constructor(private readonly sinks: FireSink[]) {}
  async publish(fire: EmittedFire): Promise<void> {
    for (const s of this.sinks) await s.publish(fire)
  }
  async close(): Promise<void> {
    for (const s of this.sinks) await s.close()
  }
}
