import type { EventSource } from "../config/enums.js";
import type { TableDefinition } from "../records/columns.js";
import type { Json } from "../records/record.js";
import { alert } from "./alert.js";
import { assessment } from "./assessment.js";
import { attackPath } from "./attack-path.js";
import type { DataTypeDefinition } from "./definition.js";
import { regulatoryComplianceAssessment } from "./regulatory-compliance.js";
import { secureScoreControl } from "./secure-score-control.js";
import { secureScore } from "./secure-score.js";
import { subAssessment } from "./sub-assessment.js";
import { isObject } from "../shared/object.js";

// The order is the order of reading, of the tables and of every list shown.
const DEFINITIONS = [alert, assessment, subAssessment, secureScore, secureScoreControl, regulatoryComplianceAssessment, attackPath] as const;

export type DataType = (typeof DEFINITIONS)[number]["name"];
export type LogAnalyticsTable = NonNullable<(typeof DEFINITIONS)[number]["table"]>["table"];
export type RegisteredDataType = DataTypeDefinition<DataType, LogAnalyticsTable>;

export const DATA_TYPES: readonly RegisteredDataType[] = DEFINITIONS;

const BY_NAME = new Map<DataType, RegisteredDataType>(DATA_TYPES.map((d) => [d.name, d]));
const BY_EVENT_SOURCE = new Map<EventSource, RegisteredDataType>(DATA_TYPES.flatMap((d) => Object.values(d.eventSources).map((s) => [s, d] as const)));
const SNAPSHOT_SOURCES = new Set<EventSource>(DATA_TYPES.flatMap((d) => (d.eventSources.snapshot === undefined ? [] : [d.eventSources.snapshot])));

export function definitionOf(dataType: DataType): RegisteredDataType {
  const definition = BY_NAME.get(dataType);
  if (definition === undefined) throw new Error(`unknown data type ${dataType}`);
  return definition;
}

export function byEventSource(eventSource: EventSource): RegisteredDataType {
  const definition = BY_EVENT_SOURCE.get(eventSource);
  if (definition === undefined) throw new Error(`no data type is exported by the event source ${eventSource}`);
  return definition;
}

export const EVENT_SOURCE_DATA_TYPE: Readonly<Record<EventSource, DataType>> = Object.fromEntries([...BY_EVENT_SOURCE].map(([source, d]) => [source, d.name])) as Record<EventSource, DataType>;

/** A snapshot source sends the full state on a schedule; its twin streams the changes. */
export function isSnapshotSource(eventSource: EventSource): boolean {
  return SNAPSHOT_SOURCES.has(eventSource);
}

export const TABLES: readonly TableDefinition<LogAnalyticsTable>[] = DATA_TYPES.flatMap((d) => (d.table === undefined ? [] : [d.table]));
export const LOG_ANALYTICS_TABLES: readonly LogAnalyticsTable[] = TABLES.map((t) => t.table);

export function tableFor(dataType: DataType): TableDefinition<LogAnalyticsTable> | undefined {
  return definitionOf(dataType).table;
}

/** What is exported for a record that disappeared, of a type whose removals are exported. */
export function removedRecord(id: string, dataType: DataType): Json {
  const rule = definitionOf(dataType).change;
  if (!rule.removable) throw new Error(`${dataType} records are not exported as removed`);
  return rule.removedRecord(id);
}

export type RecordClass = { kind: "exported"; dataType: DataType } | { kind: "metadata"; of: DataType } | { kind: "notExported"; type: string } | { kind: "unknown"; type: string | undefined };

// ARM `type` values, lower-cased.
const CLASS_BY_TYPE = new Map<string, RecordClass>(
  DATA_TYPES.flatMap((d) => [
    ...d.armTypes.map((t) => [t.toLowerCase(), { kind: "exported", dataType: d.name }] as const),
    ...(d.metadata === undefined ? [] : [[d.metadata.armType.toLowerCase(), { kind: "metadata", of: d.name }] as const]),
  ]),
);
const NOT_EXPORTED = new Set(DATA_TYPES.flatMap((d) => d.notExportedArmTypes ?? []).map((t) => t.toLowerCase()));

// Records of a run spell their type a handful of ways; bounded so that hostile input cannot grow it.
const classified = new Map<string, RecordClass>();
const CLASSIFIED_MAX = 256;

/** Which data type a record is, by its ARM `type`. */
export function classifyRecord(record: unknown): RecordClass {
  const type = isObject(record) ? record["type"] : undefined;
  if (typeof type !== "string") return { kind: "unknown", type: undefined };
  let cls = classified.get(type);
  if (cls === undefined) {
    cls = classifyType(type);
    if (classified.size < CLASSIFIED_MAX) classified.set(type, cls);
  }
  return cls;
}

function classifyType(type: string): RecordClass {
  const lower = type.toLowerCase();
  const known = CLASS_BY_TYPE.get(lower);
  if (known !== undefined) return known;
  if (NOT_EXPORTED.has(lower)) return { kind: "notExported", type };
  return { kind: "unknown", type };
}
