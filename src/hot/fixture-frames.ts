/**
 * Fixture for tests and benches only (not exported from index.ts).
 * Realistic Kalshi WS v2 frames (research/ssmd-reference.md §1.4) for tests and benches:
 * every data and control type, integer-cent and `*_dollars`/`*_fp` price formats, tickers
 * with dots, digits and dashes. Not used by production code.
 */
import type { Prng } from './fixture-prng.ts'
import { FRAME_TYPES } from './scan-result.ts'

export const SAMPLE_TICKERS = [
  'KXBTCD-26JAN2317-T102249.99',
  'KXBTC15M-26FEB081915-15',
  'HIGHNY-22DEC23-B53.5',
  'KXETHD-26MAR0112-T3499.99',
  'KXINXU-26JAN23H1600-B5812',
  'PRES-2028-DJT',
]

/** Every frame type the scanner knows, in the scanner's own order. */
export type FrameKind = (typeof FRAME_TYPES)[number]
export const FRAME_KINDS: readonly FrameKind[] = FRAME_TYPES

/** A generated ticker: series-date-strike, sometimes with a decimal strike. */
export function randomTicker(r: Prng): string {
  if (r.chance(0.5)) return r.pick(SAMPLE_TICKERS)
  const series = r.pick(['KXBTCD', 'KXBTC15M', 'HIGHNY', 'KXETHD', 'KXNBAGAME', 'INXD'])
  const date = `${r.int(22, 27)}${r.pick(['JAN', 'FEB', 'MAR', 'DEC'])}${String(r.int(1, 28)).padStart(2, '0')}${r.chance(0.5) ? r.int(10, 23) : ''}`
  const strike = r.pick(['T', 'B', ''])
  const num = r.chance(0.5) ? `${r.int(1, 120000)}.${r.pick(['99', '5', '01'])}` : String(r.int(1, 100))
  return `${series}-${date}-${strike}${num}`
}

function uuid(r: Prng): string {
  const h = () => r.int(0, 0xffff).toString(16).padStart(4, '0')
  return `${h()}${h()}-${h()}-${h()}-${h()}-${h()}${h()}${h()}`
}

const cents = (r: Prng) => r.int(1, 99)
const dollars = (c: number) => `0.${String(c).padStart(2, '0')}00`

/** One frame of the given kind as the compact JSON string Kalshi sends (`ticker`: its market, else random). */
export function makeFrame(r: Prng, kind: FrameKind, seq = r.int(1, 5_000_000), ticker?: string): string {
  const sid = r.int(1, 40)
  const t = ticker ?? randomTicker(r)
  const fp = r.chance(0.5) // new wire format: strings only
  const ts = 1_769_000_000 + r.int(0, 9_000_000)
  switch (kind) {
    case 'ticker': {
      const p = cents(r)
      const b = Math.max(1, p - 1)
      const a = Math.min(99, p + 1)
      const body = fp
        ? `"price_dollars":"${dollars(p)}","yes_bid_dollars":"${dollars(b)}","yes_ask_dollars":"${dollars(a)}","yes_bid_size_fp":"${r.int(1, 9000)}.00","yes_ask_size_fp":"${r.int(1, 9000)}.00","volume_fp":"${r.int(0, 3e6)}.48","open_interest_fp":"${r.int(0, 3e6)}.00","last_trade_size_fp":"${r.int(1, 500)}.00","dollar_volume":${r.int(0, 1e6)},"dollar_open_interest":${r.int(0, 1e6)},"ts":${ts},"ts_ms":${ts}${r.int(100, 999)},"time":"2026-01-23T17:00:01.123456Z"`
        : `"price":${p},"yes_bid":${b},"yes_ask":${a},"price_dollars":"${dollars(p)}","yes_bid_dollars":"${dollars(b)}","yes_ask_dollars":"${dollars(a)}","volume":${r.int(0, 3e6)},"open_interest":${r.int(0, 3e6)},"dollar_volume":${r.int(0, 1e6)},"dollar_open_interest":${r.int(0, 1e6)},"ts":${ts},"Clock":${6_598_270_000 + r.int(0, 1e6)}`
      return `{"type":"ticker","sid":${sid},"msg":{"market_id":"${uuid(r)}","market_ticker":"${t}",${body}}}`
    }
    case 'trade': {
      const p = cents(r)
      const n = r.int(1, 500)
      const body = fp
        ? `"yes_price_dollars":"${dollars(p)}","no_price_dollars":"${dollars(100 - p)}","count_fp":"${n}.00"`
        : `"yes_price":${p},"no_price":${100 - p},"yes_price_dollars":"${dollars(p)}","no_price_dollars":"${dollars(100 - p)}","count":${n},"count_fp":"${n}.00"`
      return `{"type":"trade","sid":${sid},"seq":${seq},"msg":{"trade_id":"${uuid(r)}","market_ticker":"${t}",${body},"taker_side":"${r.pick(['yes', 'no'])}","ts":${ts}}}`
    }
    case 'orderbook_snapshot': {
      const lv = () => Array.from({ length: r.int(0, 4) }, () => `[${cents(r)},${r.int(1, 5000)}]`).join(',')
      const lvd = () => Array.from({ length: r.int(0, 3) }, () => `["${dollars(cents(r))}",${r.int(1, 5000)}]`).join(',')
      return `{"type":"orderbook_snapshot","sid":${sid},"seq":${seq},"msg":{"market_ticker":"${t}","market_id":"${uuid(r)}","yes":[${lv()}],"no":[${lv()}],"yes_dollars":[${lvd()}],"no_dollars":[${lvd()}]}}`
    }
    case 'orderbook_delta': {
      const p = cents(r)
      const d = r.int(-900, 900) || 1
      const cents_ = fp ? '' : `"price":${p},`
      const coid = r.chance(0.1) ? `,"client_order_id":"${uuid(r)}"` : ''
      return `{"type":"orderbook_delta","sid":${sid},"seq":${seq},"msg":{"market_ticker":"${t}","market_id":"${uuid(r)}",${cents_}"price_dollars":"${dollars(p)}","delta":${d},"delta_fp":"${d}.00","side":"${r.pick(['yes', 'no'])}"${coid},"ts":"2026-01-23T17:00:01.${r.int(100000, 999999)}Z"}}`
    }
    case 'market_lifecycle_v2': {
      const ev = r.pick(['created', 'determined', 'settled', 'metadata_updated', 'close_date_updated'])
      const meta =
        ev === 'created'
          ? `,"additional_metadata":{"name":"BTC above 102,250?","title":"Bitcoin price","rules":"Resolves yes if type is market_ticker","event_ticker":"${t.split('-').slice(0, 2).join('-')}","type":"binary","market_ticker":"DECOY-1","expected_expiration_ts":${ts},"strike_type":"greater","floor_strike":102249.99,"cap_strike":null,"settlement_value":"0.0000"}`
          : ''
      return `{"type":"market_lifecycle_v2","sid":${sid},"seq":${seq},"msg":{"market_ticker":"${t}","event_type":"${ev}","open_ts":${ts},"close_ts":${ts + 900},"result":"${r.pick(['yes', 'no', ''])}","settlement_value":"0.0000","is_deactivated":false${meta}}}`
    }
    case 'event_lifecycle': {
      const e = t.split('-').slice(0, 2).join('-')
      return `{"type":"event_lifecycle","sid":${sid},"seq":${seq},"msg":{"event_ticker":"${e}","title":"Bitcoin price on Jan 23","sub_title":"5pm EST","collateral_return_type":"${r.pick(['MECNET', 'DIRECNET', ''])}","series_ticker":"${t.split('-')[0]}","strike_date":${ts},"strike_period":""}}`
    }
    case 'subscribed':
      return r.chance(0.2)
        ? `{"type":"subscribed","id":${r.int(1, 999)}}`
        : `{"type":"subscribed","id":${r.int(1, 999)},"msg":{"channel":"${r.pick(['ticker', 'trade', 'orderbook_delta'])}","sid":${sid}}}`
    case 'ok':
      return `{"type":"ok","id":${r.int(1, 999)},"sid":${sid},"seq":${seq},"market_tickers":["${t}","${randomTicker(r)}"]}`
    case 'unsubscribed':
      return `{"type":"unsubscribed","id":${r.int(1, 999)},"sid":${sid},"seq":${seq}}`
    case 'error':
      return `{"type":"error","id":${r.int(1, 999)},"msg":{"code":${r.pick([2, 6, 7, 10])},"msg":"${r.pick(['Already subscribed', 'Params invalid', 'Authentication required'])}"}}`
  }
}

/**
 * `n` distinct tickers, as a connector subscribed to `n` markets sees them (random tickers,
 * made unique by a suffix when two coincide).
 */
export function marketUniverse(r: Prng, n: number): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  while (out.length < n) {
    let t = randomTicker(r)
    if (seen.has(t)) t = `${t}-${out.length}`
    seen.add(t)
    out.push(t)
  }
  return out
}

/**
 * The production mix the benches use: delta 70%, ticker 20%, trade 8%, snapshot 2%. Tickers
 * are random (mostly unique: tests of the scanner's variety), or with `markets` drawn uniformly
 * from that many subscribed markets (a connector's traffic: every frame is for a market it
 * subscribed to; the benches use 10,000, the connector's RSS target).
 */
export function makeCorpus(r: Prng, n: number, options: { markets?: number } = {}): string[] {
  const out: string[] = []
  const seqs = new Map<number, number>()
  const universe = options.markets === undefined ? null : marketUniverse(r, options.markets)
  for (let i = 0; i < n; i++) {
    const x = r.next()
    const kind: FrameKind = x < 0.7 ? 'orderbook_delta' : x < 0.9 ? 'ticker' : x < 0.98 ? 'trade' : 'orderbook_snapshot'
    const f = makeFrame(r, kind, 1, universe === null ? undefined : r.pick(universe))
    // sequential seq per sid, so a seq tracker sees a gap-free stream
    if (kind === 'ticker') {
      out.push(f)
      continue
    }
    const sid = Number(/"sid":(\d+)/.exec(f)?.[1] ?? 0)
    const seq = (seqs.get(sid) ?? 0) + 1
    seqs.set(sid, seq)
    out.push(f.replace('"seq":1,', `"seq":${seq},`))
  }
  return out
}

/** Payload of record i in the ring tests and benches (varied length, checkable). */
export function expectedPayload(i: number): string {
  return `{"i":${i},"pad":"${'x'.repeat(i % 97)}"}`
}
