export { COLUMNS, ColumnBuffer, type CellValue, type Column, type ColumnKind } from './columns.ts'
export { exportArchive, type ExportFile, type ExportOptions, type ExportSummary } from './export.ts'
export {
  DEFAULT_ROW_GROUP_ROWS, EXPORT_FORMATS, checkDate, checkFormat, checkType, dateRange, type ExportFormat,
} from './options.ts'
export { openPart, type PartWriter } from './parts.ts'
