import type { SourceRecord } from "../sources/reader.js";
import { isObject } from "../shared/object.js";

type Json = Record<string, unknown>;

const at = (value: unknown, ...path: string[]): unknown => {
  let v = value;
  for (const p of path) v = isObject(v) ? v[p] : undefined;
  return v;
};

/** One header for every data type, so that a mixed dump is one sheet; `properties` keeps everything else. */
export const CSV_COLUMNS = ["dataType", "id", "name", "displayName", "severity", "status", "resourceId", "score", "parent", "timeGenerated", "scope", "properties"] as const;

export function csvRow(item: SourceRecord): string[] {
  const r = item.record;
  const p = r["properties"];
  const alertResource = (at(p, "resourceIdentifiers") as Json[] | undefined)?.find?.((x) => at(x, "type") === "AzureResource");
  const row: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    dataType: item.dataType,
    id: r["id"],
    name: r["name"],
    displayName: at(p, "alertDisplayName") ?? at(p, "displayName") ?? at(p, "description"),
    severity: at(p, "severity") ?? at(p, "metadata", "severity") ?? at(p, "status", "severity"),
    status: typeof at(p, "status") === "string" ? at(p, "status") : (at(p, "status", "code") ?? at(p, "state")),
    resourceId: at(alertResource, "azureResourceId") ?? at(p, "resourceDetails", "id"),
    score: at(p, "score", "current"),
    parent: item.context?.parentAssessmentKey ?? (item.context?.standard ? `${item.context.standard}/${item.context.control ?? ""}` : undefined),
    timeGenerated: at(p, "timeGeneratedUtc") ?? at(p, "timeGenerated") ?? at(p, "status", "statusChangeDate"),
    scope: item.scope,
    properties: p === undefined ? undefined : JSON.stringify(p),
  };
  return CSV_COLUMNS.map((c) => cell(row[c]));
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
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
