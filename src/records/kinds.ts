import type { EventSource } from "../config/enums.js";

/** The data types Defender for Cloud exports, each read by one reader and filtered by its event sources. */
export const DATA_TYPES = [
  "alert",
  "assessment",
  "subAssessment",
  "secureScore",
  "secureScoreControl",
  "regulatoryComplianceAssessment",
  "attackPath",
] as const;
export type DataType = (typeof DATA_TYPES)[number];

export const EVENT_SOURCE_DATA_TYPE: Readonly<Record<EventSource, DataType>> = {
  Alerts: "alert",
  Assessments: "assessment",
  AssessmentsSnapshot: "assessment",
  SubAssessments: "subAssessment",
  SubAssessmentsSnapshot: "subAssessment",
  SecureScores: "secureScore",
  SecureScoresSnapshot: "secureScore",
  SecureScoreControls: "secureScoreControl",
  SecureScoreControlsSnapshot: "secureScoreControl",
  RegulatoryComplianceAssessment: "regulatoryComplianceAssessment",
  RegulatoryComplianceAssessmentSnapshot: "regulatoryComplianceAssessment",
  AttackPaths: "attackPath",
  AttackPathsSnapshot: "attackPath",
};

export function isSnapshotSource(eventSource: EventSource): boolean {
  return eventSource.endsWith("Snapshot");
}

export type RecordClass =
  | { kind: "exported"; dataType: DataType }
  | { kind: "assessmentMetadata" }
  | { kind: "notExported"; type: string }
  | { kind: "unknown"; type: string | undefined };

// ARM `type` values, lower-cased: list endpoints and API versions spell some of them differently.
const TYPES: ReadonlyMap<string, RecordClass> = new Map<string, RecordClass>([
  ["microsoft.security/locations/alerts", { kind: "exported", dataType: "alert" }],
  ["microsoft.security/assessments", { kind: "exported", dataType: "assessment" }],
  ["microsoft.security/assessments/subassessments", { kind: "exported", dataType: "subAssessment" }],
  ["microsoft.security/securescores", { kind: "exported", dataType: "secureScore" }],
  ["microsoft.security/securescores/securescorecontrols", { kind: "exported", dataType: "secureScoreControl" }],
  ["microsoft.security/securescorecontrols", { kind: "exported", dataType: "secureScoreControl" }],
  ["microsoft.security/regulatorycomplianceassessment", { kind: "exported", dataType: "regulatoryComplianceAssessment" }],
  [
    "microsoft.security/regulatorycompliancestandards/regulatorycompliancecontrols/regulatorycomplianceassessments",
    { kind: "exported", dataType: "regulatoryComplianceAssessment" },
  ],
  ["microsoft.security/attackpaths", { kind: "exported", dataType: "attackPath" }],
  ["microsoft.security/assessmentmetadata", { kind: "assessmentMetadata" }],
]);

const NOT_EXPORTED = [
  "microsoft.security/regulatorycompliancestandard",
  "microsoft.security/regulatorycompliancestandards",
  "microsoft.security/regulatorycompliancecontrol",
  "microsoft.security/regulatorycompliancestandards/regulatorycompliancecontrols",
  "microsoft.security/securescorecontroldefinitions",
];

// Records of a run spell their type a handful of ways; bounded so that hostile input cannot grow it.
const classified = new Map<string, RecordClass>();
const CLASSIFIED_MAX = 256;

export function classifyRecord(record: unknown): RecordClass {
  const type = typeof record === "object" && record !== null && !Array.isArray(record) ? (record as Record<string, unknown>)["type"] : undefined;
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
  const known = TYPES.get(lower);
  if (known !== undefined) return known;
  if (NOT_EXPORTED.includes(lower)) return { kind: "notExported", type };
  return { kind: "unknown", type };
}

/** The id consumers deduplicate on: the record's ARM id, lower-cased (ARM ids are case-insensitive). */
export function stableId(record: unknown): string | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  const id = (record as Record<string, unknown>)["id"];
  return typeof id === "string" && id !== "" ? id.toLowerCase() : undefined;
}
