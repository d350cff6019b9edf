/** The gunzip worker (chunks.ts): inflates archive files into the shared chunk ring, no index. */
import { runGunzip } from './gunzip-loop.ts'

declare const self: Worker

self.onmessage = (e: MessageEvent) => runGunzip(e.data)
