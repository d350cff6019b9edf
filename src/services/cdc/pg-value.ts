/**
 * pgoutput sends column values in PostgreSQL's text output format; this turns them into JSON
 * values by type OID without losing precision:
 * - int2/int4/oid, float4/float8 → number; int8 → number when it is a safe integer, else the
 *   decimal string (never a rounded number);
 * - numeric → the decimal string exactly as PostgreSQL prints it (`0.4500`, `NaN`);
 * - bool → boolean; json/jsonb → the parsed value;
 * - timestamptz → ISO 8601 UTC with PostgreSQL's microseconds (`2026-02-01T12:00:00.123456Z`;
 *   the CDC session runs with TimeZone=UTC and DateStyle=ISO); timestamp → ISO without zone;
 *   `infinity` stays a string;
 * - arrays of any of these → JSON arrays (NULL elements → null);
 * - everything else (text, varchar, date, enums, uuid…) → the text.
 */

const BOOL = 16
const INT8 = 20
const INT2 = 21
const INT4 = 23
const OID = 26
const FLOAT4 = 700
const FLOAT8 = 701
const NUMERIC = 1700
const JSON_ = 114
const JSONB = 3802
const TIMESTAMP = 1114
const TIMESTAMPTZ = 1184

/** Array type OID → element type OID (the built-in ones ssmd's tables use). */
const ARRAY_ELEMENT: Record<number, number> = {
  1000: BOOL, 1005: INT2, 1007: INT4, 1016: INT8, 1021: FLOAT4, 1022: FLOAT8, 1231: NUMERIC,
  1009: 25, 1015: 1043, 1014: 1042, 1115: TIMESTAMP, 1185: TIMESTAMPTZ, 199: JSON_, 3807: JSONB,
  1182: 1082, 2951: 2950,
}

export type PgJson = null | boolean | number | string | PgJson[] | { [k: string]: PgJson }

/** Converts one text-format value of type `oid` to its JSON value. */
export function parsePgValue(oid: number, text: string): PgJson {
  const element = ARRAY_ELEMENT[oid]
  if (element !== undefined) return parseArray(text, (s) => parseScalar(element, s))
  return parseScalar(oid, text)
}

function parseScalar(oid: number, text: string): PgJson {
  switch (oid) {
    case BOOL:
      return text === 't'
    case INT2:
    case INT4:
    case OID:
      return Number(text)
    case INT8: {
      const n = Number(text)
      return Number.isSafeInteger(n) ? n : text
    }
    case FLOAT4:
    case FLOAT8: {
      const n = Number(text)
      return Number.isFinite(n) ? n : text
    }
    case JSON_:
    case JSONB:
      return JSON.parse(text) as PgJson
    case TIMESTAMPTZ:
      return isoTimestamp(text, true)
    case TIMESTAMP:
      return isoTimestamp(text, false)
    default:
      return text
  }
}

/** `2026-02-01 12:00:00.5+00` → `2026-02-01T12:00:00.5Z` (string surgery: no Date rounding). */
function isoTimestamp(text: string, zoned: boolean): string {
  if (text.length < 19 || text[10] !== ' ') return text
  const t = `${text.slice(0, 10)}T${text.slice(11)}`
  if (!zoned) return t
  return t.endsWith('+00') ? `${t.slice(0, -3)}Z` : t
}

/** Parses a PostgreSQL array literal (`{a,"b c",NULL,{1,2}}`), any nesting, `,` delimiter. */
export function parseArray(text: string, element: (s: string) => PgJson): PgJson[] {
  let i = text[0] === '[' ? text.indexOf('=') + 1 : 0 // `[0:1]={…}` lower bounds: dropped
  const loop = (): PgJson[] => {
    const out: PgJson[] = []
    i++ // the '{'
    if (text[i] === '}') {
      i++
      return out
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(loop())
      } else if (text[i] === '"') {
        let s = ''
        i++
        while (text[i] !== '"') {
          if (text[i] === '\\') i++
          s += text[i++]
        }
        i++
        out.push(element(s))
      } else {
        const start = i
        while (text[i] !== ',' && text[i] !== '}') i++
        const raw = text.slice(start, i)
        out.push(raw === 'NULL' ? null : element(raw))
      }
      if (text[i++] === '}') return out
    }
  }
  return loop()
}
