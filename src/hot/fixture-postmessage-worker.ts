/**
 * Fixture for benches only: the postMessage baseline of the ring bench. Counts string
 * messages and answers { count, bytes } once it has `expect` of them.
 */
declare const self: Worker

let expect = 0
let count = 0
let bytes = 0
self.onmessage = (e: MessageEvent) => {
  const d = e.data
  if (typeof d === 'string') {
    count++
    bytes += d.length
    if (count === expect) self.postMessage({ count, bytes })
    return
  }
  expect = (d as { expect: number }).expect
  count = 0
  bytes = 0
}
