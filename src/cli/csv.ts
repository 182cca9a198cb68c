import type { SourceRecord } from "../sources/reader.js";
import { alertResourceId } from "../datatypes/alert.js";
import { get as at } from "../records/record.js";
import { coerce } from "../mapping/rows.js";

/** One header for every data type, so that a mixed dump is one sheet; `properties` keeps everything else. */
export const CSV_COLUMNS = ["dataType", "id", "name", "displayName", "severity", "status", "resourceId", "score", "parent", "timeGenerated", "scope", "properties"] as const;

export function csvRow(item: SourceRecord): string[] {
  const r = item.record;
  const p = r["properties"];
  const row: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    dataType: item.dataType,
    id: r["id"],
    name: r["name"],
    displayName: at(p, "alertDisplayName") ?? at(p, "displayName") ?? at(p, "description"),
    severity: at(p, "severity") ?? at(p, "metadata", "severity") ?? at(p, "status", "severity") ?? at(p, "riskLevel"),
    status: typeof at(p, "status") === "string" ? at(p, "status") : (at(p, "status", "code") ?? at(p, "state")),
    resourceId: alertResourceId(r) ?? at(p, "resourceDetails", "id"),
    score: at(p, "score", "current"),
    parent: item.context?.parentAssessmentKey ?? (item.context?.standard ? `${item.context.standard}/${item.context.control ?? ""}` : undefined),
    timeGenerated: at(p, "timeGeneratedUtc") ?? at(p, "timeGenerated") ?? at(p, "status", "statusChangeDate"),
    scope: item.scope,
    properties: p === undefined ? undefined : JSON.stringify(p),
  };
  return CSV_COLUMNS.map((c) => cell(row[c]));
}

function cell(value: unknown): string {
  return (coerce(value, "string") as string | undefined) ?? "";
}

/**
 * RFC 4180 quoting; and text that a spreadsheet would run as a formula (=, +, -, @ first) gets a leading
 * apostrophe: alert fields carry attacker-chosen names.
 */
export function csvLine(cells: readonly string[]): string {
  return `${cells
    .map((c) => {
      const safe = /^[=+\-@\t\r]/.test(c) && !/^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(c) ? `'${c}` : c;
      return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
    })
    .join(",")}\r\n`;
}
