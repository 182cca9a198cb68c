import { subscriptionOf, tenantOf, type Json, type OutgoingRecord } from "./record.js";

/**
 * How a Log Analytics table is defined as data: each data type's table (src/datatypes/) is one of these,
 * and the mapper, the data collection rule's stream declarations and the custom table schemas all come
 * from them.
 *
 * The Logs Ingestion API cannot write the native Security* tables, so rows go to `<Table>_CL` custom
 * tables with the native column names and types. Names reserved in custom tables are replaced:
 * TenantId → AzureTenantId, _SubscriptionId → AzureSubscriptionId, _ResourceId → AzureResourceId; `Type`
 * is set by Log Analytics itself (to `<Table>_CL`), SecurityNestedRecommendation's own `Type`
 * ("Resource type") becomes ResourceType, and its `Id` (the finding's ARM id; `id` is reserved) is not a
 * column of its own: the same value is every table's AzureResourceId.
 */

export type ColumnType = "string" | "int" | "long" | "real" | "boolean" | "datetime" | "dynamic";

export interface ColumnDefinition {
  name: string;
  type: ColumnType;
  description: string;
  /** Identity columns (ids, names, state, severity, times) are never cut to fit 32 KB. */
  identity?: boolean;
  /** The value from the record; `p` is the record's properties (looked up once per row). */
  from: (input: OutgoingRecord, p: Json) => unknown;
}

export interface TableDefinition<Table extends string = string> {
  /** The native table's name. */
  table: Table;
  description: string;
  columns: readonly ColumnDefinition[];
}

/** The custom table a native table's rows go to. */
export const customTableName = (table: string): string => `${table}_CL`;
/** The data collection rule stream that feeds it. */
export const defaultStreamName = (table: string): string => `Custom-${table}_CL`;

export const col = (name: string, type: ColumnType, description: string, from: ColumnDefinition["from"], identity = false): ColumnDefinition =>
  identity ? { name, type, description, from, identity } : { name, type, description, from };
/** An identity column. */
export const id = (name: string, type: ColumnType, description: string, from: ColumnDefinition["from"]) => col(name, type, description, from, true);

/** Columns every table carries: time, snapshot marking, the stable id, and what the 32 KB cut did. */
export const COMMON: readonly ColumnDefinition[] = [
  id("TimeGenerated", "datetime", "When this export observed the record (UTC)", (i) => i.exportedAt),
  id("IsSnapshot", "boolean", "True when the row belongs to a snapshot of the full current state", (i) => i.isSnapshot),
  id("RecordId", "string", "The record's ARM id, lower-cased: stable across exports, for deduplication", (i) => i.id),
  id("ExportAction", "string", "Insert, Update or Remove", (i) => i.action),
  col("SourceSystem", "string", "Constant 'Security'", () => "Security"),
  col("AzureTenantId", "string", "Entra tenant of the subscription (TenantId is reserved in custom tables)", (i) => tenantOf(i)),
  id("AzureSubscriptionId", "string", "Subscription of the record (_SubscriptionId is reserved)", (i) => subscriptionOf(i.record["id"])),
  id("AzureResourceId", "string", "The record's ARM id (_ResourceId is reserved)", (i) => i.record["id"]),
  id("IsTruncated", "boolean", "True when the row was cut to fit 32 KB", () => undefined),
  id("TruncatedColumns", "dynamic", "The columns the 32 KB cut shortened", () => undefined),
  id("OverflowBlob", "string", "Where the whole original record was kept when the row was cut", () => undefined),
];

/** A value as a JSON text column (the native tables keep some nested values as text). */
export const json = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : JSON.stringify(value));
/** A state column: "Removed" on a removal, else the record's state. */
export const removed = (i: OutgoingRecord, state: unknown) => (i.action === "Remove" ? "Removed" : state);
