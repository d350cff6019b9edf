/** CDC: PostgreSQL logical decoding (pgoutput, permanent slot) → JetStream `{prefix}.{table}.{op}`. */
export { CDC_DEFAULTS, startCdc, type Cdc, type CdcOptions, type CdcStats } from './cdc.ts'
export { openCdcSql } from './connect.ts'
export { CDC_OPS, cdcMsgId, cdcPk, cdcSubject, type CdcEvent, type CdcOp } from './event.ts'
export { compareLsn, formatLsn, parseLsn } from './lsn.ts'
export { parseArray, parsePgValue, type PgJson } from './pg-value.ts'
export { PgoutputDecoder, pgTimestampIso, type PgoutputMessage, type Relation, type Row } from './pgoutput.ts'
export { checkLogicalWal, dropCdc, ensurePublication, ensureSlot, slotPosition, walLevelProblem } from './setup.ts'
export { selectTyped } from './typed-query.ts'
