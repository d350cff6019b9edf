/**
 * Fixture for tests and benches only (not exported from index.ts). Test Worker: answers every message with its own nowUs(). */
import { nowUs } from './clock.ts'

declare const self: Worker
self.onmessage = () => {
  self.postMessage(nowUs())
}
