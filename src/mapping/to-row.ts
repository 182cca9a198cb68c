import { byEventSource } from "../datatypes/registry.js";
import { customTableName, defaultStreamName, type ColumnType, type TableDefinition } from "../records/columns.js";
import type { Json, OutgoingRecord } from "../records/record.js";
import { cutToFit, LOG_ANALYTICS_ROW_LIMIT } from "./cut.js";
import { mapToRow } from "./rows.js";

export type LogAnalyticsRowResult = { ok: true; table: TableDefinition; row: Json; cut: string[]; json: string } | { ok: false; table: TableDefinition; reason: string };

/**
 * A record as its table's row, cut to 32 KB when over. `overflowBlob` names where the caller keeps the
 * whole original (a cut row points to it), or makes that name when a row is cut.
 */
export function toLogAnalyticsRow(input: OutgoingRecord, options: { overflowBlob?: string | (() => string); limit?: number } = {}): LogAnalyticsRowResult | undefined {
  const table = byEventSource(input.eventSource).table;
  if (table === undefined) return undefined;
  const row = mapToRow(input, table);
  const identity = identityColumns(table);
  const result = cutToFit(row, options.limit ?? LOG_ANALYTICS_ROW_LIMIT, (k) => identity.has(k), {
    flag: "IsTruncated",
    list: "TruncatedColumns",
    // Named only when the row is cut (most are not): the name may cost a hash.
    ...(options.overflowBlob ? { overflow: lazyOverflow(options.overflowBlob) } : {}),
  });
  return result.ok ? { ok: true, table, row: result.value, cut: result.cut, json: result.json } : { ok: false, table, reason: result.reason };
}

function lazyOverflow(blob: string | (() => string)): { key: string; value: string } {
  let value = typeof blob === "string" ? blob : undefined;
  return {
    key: "OverflowBlob",
    get value() {
      return (value ??= (blob as () => string)());
    },
  };
}

const identityCache = new Map<TableDefinition, Set<string>>();
function identityColumns(table: TableDefinition): Set<string> {
  let set = identityCache.get(table);
  if (set === undefined) {
    set = new Set(table.columns.filter((c) => c.identity).map((c) => c.name));
    identityCache.set(table, set);
  }
  return set;
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
