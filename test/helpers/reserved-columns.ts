/**
 * Column names a custom Log Analytics table must not use, compared without regard to case. From Microsoft's
 * "Add or delete tables and columns in Azure Monitor Logs" (create-custom-table.md, ms.date 05/25/2026:
 * "Don't use names that conflict with system or reserved columns, including ..."), which includes the shorter
 * list in "Logs Ingestion API in Azure Monitor" (logs-ingestion-api-overview.md: _ResourceId, id,
 * _SubscriptionId, TenantId, Type, UniqueId, Title). Both in MicrosoftDocs/azure-monitor-docs,
 * articles/azure-monitor/logs/.
 */
export const RESERVED_COLUMN_NAMES = [
  "id",
  "BilledSize",
  "IsBillable",
  "InvalidTimeGenerated",
  "TenantId",
  "Title",
  "Type",
  "UniqueId",
  "_ItemId",
  "_ResourceGroup",
  "_ResourceId",
  "_SubscriptionId",
  "_TimeReceived",
] as const;

const reserved = new Set(RESERVED_COLUMN_NAMES.map((n) => n.toLowerCase()));

/** Whether a column name is reserved, in any case (`Id` is `id`). */
export const isReservedColumnName = (name: string): boolean => reserved.has(name.toLowerCase());
