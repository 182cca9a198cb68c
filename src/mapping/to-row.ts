import { byEventSource } from "../datatypes/registry.js";
import { customTableName, defaultStreamName, type ColumnType, type TableDefinition } from "../records/columns.js";
import type { Json, OutgoingRecord } from "../records/record.js";
import { cutToFit, LOG_ANALYTICS_ROW_LIMIT, type CutMarkers } from "./cut.js";
import { mapToRow } from "./rows.js";

export type LogAnalyticsRowResult = { ok: true; table: TableDefinition; row: Json; cut: string[]; json: string } | { ok: false; table: TableDefinition; reason: string };

/**
 * A record as its table's row, cut to 32 KB when over. `overflowBlob` names where the caller keeps the
 * whole original (a cut row points to it), or makes that name from the record when a row is cut.
 */
export function toLogAnalyticsRow(input: OutgoingRecord, options: { overflowBlob?: string | ((input: OutgoingRecord) => string); limit?: number } = {}): LogAnalyticsRowResult | undefined {
  const table = byEventSource(input.eventSource).table;
  if (table === undefined) return undefined;
  const row = mapToRow(input, table);
  const blob = options.overflowBlob;
  // Markers made only when the row is over (most are not): the overflow blob's name may cost a hash.
  const result = cutToFit(row, options.limit ?? LOG_ANALYTICS_ROW_LIMIT, isIdentityOf(table), blob === undefined ? ROW_MARKERS : () => rowMarkers(typeof blob === "string" ? blob : blob(input)));
  return result.ok ? { ok: true, table, row: result.value, cut: result.cut, json: result.json } : { ok: false, table, reason: result.reason };
}

const ROW_MARKERS: CutMarkers = { flag: "IsTruncated", list: "TruncatedColumns" };
function rowMarkers(overflowBlob: string): CutMarkers {
  return { ...ROW_MARKERS, overflow: { key: "OverflowBlob", value: overflowBlob } };
}

/** Whether a column is one of the table's identity columns (never cut): one predicate per table. */
const identityCache = new Map<TableDefinition, (key: string) => boolean>();
function isIdentityOf(table: TableDefinition): (key: string) => boolean {
  let isIdentity = identityCache.get(table);
  if (isIdentity === undefined) {
    const set = new Set(table.columns.filter((c) => c.identity).map((c) => c.name));
    isIdentity = (key) => set.has(key);
    identityCache.set(table, isIdentity);
  }
  return isIdentity;
}

/** The data collection rule's stream declaration for a table: the same columns the mapper writes. */
export function streamDeclaration(table: TableDefinition): { columns: { name: string; type: ColumnType }[] } {
  return { columns: table.columns.map((c) => ({ name: c.name, type: c.type })) };
}

/** The custom table's schema (Microsoft.OperationalInsights/workspaces/tables). */
export function tableSchema(table: TableDefinition): { name: string; columns: { name: string; type: ColumnType; description: string }[] } {
  return { name: customTableName(table.table), columns: table.columns.map((c) => ({ name: c.name, type: c.type, description: c.description })) };
}

export function streamFor(table: TableDefinition, overrides: Partial<Record<string, string>> = {}): string {
  return overrides[table.table] ?? defaultStreamName(table.table);
}
