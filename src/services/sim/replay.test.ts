import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { SimClient } from './sim-client.ts'
import { startSim, type Sim } from './server.ts'
import { stripArchiveFields } from './replay.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const RAW = [
  '{"type":"ticker","sid":3,"msg":{"market_id":"m1","market_ticker":"KXBTCD-26FEB07-T98000","price":57,"yes_bid":56,"yes_ask":58,"ts":1770480000,"Clock":6598270000}}',
  '{"type":"trade","sid":2,"seq":1187,"msg":{"trade_id":"t1","market_ticker":"KXBTCD-26FEB07-T98000","yes_price_dollars":"0.5500","no_price_dollars":"0.4500","count_fp":"10.00","taker_side":"yes","ts":1770480001}}',
  '{"type":"orderbook_snapshot","sid":9,"seq":1,"msg":{"market_ticker":"HIGHNY-22DEC23-B53.5","market_id":"m2","yes":[[40,10]],"no":[[50,5]]}}',
  '{"type":"trade","sid":2,"seq":1188,"msg":{"trade_id":"t2","market_ticker":"FED-23DEC-T3.00","yes_price_dollars":"0.1200","no_price_dollars":"0.8800","count_fp":"1.00","taker_side":"no","ts":1770480002}}',
  '{"type":"orderbook_delta","sid":9,"seq":2,"msg":{"market_ticker":"HIGHNY-22DEC23-B53.5","market_id":"m2","price":40,"delta":-3,"side":"yes","ts":"2026-02-07T16:00:02.5Z"}}',
  '{"type":"market_lifecycle_v2","sid":13,"seq":279597,"msg":{"market_ticker":"FED-23DEC-T3.00","event_type":"determined","result":"no","settlement_value":"0.0000","determination_ts":1784501722}}',
]

let sim: Sim
let dir: string
afterEach(async () => {
  await sim?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function replay(file: string, sids: 'rewrite' | 'verbatim', speed: number | 'max' = 'max'): Promise<SimClient> {
  sim = startSim({ markets: 10, replay: { file, speed, sids } })
  const c = await SimClient.connect(sim.wsUrl)
  c.send('subscribe', { channels: ['ticker', 'trade', 'market_lifecycle_v2'] })
  c.send('subscribe', { channels: ['orderbook_delta'], market_tickers: [sim.universe.markets[0].ticker] })
  await c.waitFrames(4 + 4, '4 replies + 4 replayed frames')
  return c
}

describe('sim replay', () => {
  test('verbatim replay of raw frames sends the recorded bytes unchanged', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssmd-replay-'))
    const file = join(dir, 'raw.jsonl')
    writeFileSync(file, RAW.join('\n') + '\n')
    const c = await replay(file, 'verbatim')
    const data = c.frames.filter((f) => !f.includes('"subscribed"'))
    // The orderbook frames are for a market the client did not subscribe to: filtered out.
    expect(data.sort()).toEqual([RAW[0], RAW[1], RAW[3], RAW[5]].sort())
  })

  test('archive lines (.jsonl.gz) are stripped of the appended fields; rewrite keeps msg bytes and renumbers sid/seq', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssmd-replay-'))
    const file = join(dir, '1600.jsonl.gz')
    const archived = RAW.map((l, i) => `${l.slice(0, -1)},"_shard_id":0,"_received_at":${1770480000000000 + i * 1000},"_nats_seq":${i + 1}}`)
    writeFileSync(file, gzipSync(archived.join('\n') + '\n'))
    expect(archived.map((l) => stripArchiveFields(l).raw)).toEqual(RAW)
    const c = await replay(file, 'rewrite', 1000)
    const msg = (s: string) => s.slice(s.indexOf('"msg":'))
    const data = c.parsed().filter((f) => f.type !== 'subscribed')
    expect(c.frames.filter((f) => !f.includes('"subscribed"')).map(msg).sort()).toEqual([RAW[0], RAW[1], RAW[3], RAW[5]].map(msg).sort())
    expect(data.filter((f) => f.type === 'trade').map((f) => [f.sid, f.seq])).toEqual([[2, 1], [2, 2]])
    expect(data.find((f) => f.type === 'ticker')).toEqual({ type: 'ticker', sid: 1, msg: JSON.parse(RAW[0]).msg })
  })
})
