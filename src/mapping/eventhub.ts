import type { DataType } from "../records/kinds.js";
import { EVENT_SOURCE_DATA_TYPE } from "../records/kinds.js";
import { API_VERSIONS } from "../sources/api-versions.js";
import { setOwn, subjectResourceId, type Json, type MappingInput } from "./input.js";
import { alertToLegacyEvent, pascal } from "./legacy-alert.js";

/**
 * What Event Hubs receive, per destination:
 * - "defender" (default): the shapes the built-in export sends and field parsers read: alerts in the legacy
 *   PascalCase alert event model; recommendations, findings, scores, controls and compliance as the ARM
 *   resource plus `securityEventDataEnrichment` (and the type's own enrichment);
 * - "api": every record as the ARM API returns it (alerts too), with the same enrichment;
 * - "xdr": the Defender XDR streaming envelope `{"records": [{time, tenantId, category, properties}]}`,
 *   many records per message.
 */
export const EVENT_HUB_FORMATS = ["defender", "api", "xdr"] as const;
export type EventHubFormat = (typeof EVENT_HUB_FORMATS)[number];
/** Findings: camelCase ARM form with `subAssessmentEventDataEnrichment` (default), or the PascalCase form one consumer reads. */
export type FindingsShape = "camel" | "pascal";

export interface EventHubShapeOptions {
  format?: EventHubFormat;
  findingsShape?: FindingsShape;
}

export interface MappedEvent {
  body: Json;
  /** Keeps each resource's events in order: the resource a record is about. */
  partitionKey: string;
  /** The event type, for one hub per type (as XDR offers) and for the XDR envelope. */
  category: EventCategory;
}

export const EVENT_CATEGORIES: Readonly<Record<DataType, string>> = {
  alert: "SecurityAlert",
  assessment: "SecurityRecommendation",
  subAssessment: "SecurityNestedRecommendation",
  secureScore: "SecureScores",
  secureScoreControl: "SecureScoreControls",
  regulatoryComplianceAssessment: "SecurityRegulatoryCompliance",
  attackPath: "AttackPaths",
};
export type EventCategory = string;

const API_VERSION: Record<DataType, string> = {
  alert: API_VERSIONS.alerts,
  assessment: API_VERSIONS.assessments,
  subAssessment: API_VERSIONS.subAssessments,
  secureScore: API_VERSIONS.secureScores,
  secureScoreControl: API_VERSIONS.secureScores,
  regulatoryComplianceAssessment: API_VERSIONS.regulatoryCompliance,
  attackPath: "",
};

/** The enrichment's action: the built-in export sends Insert for new and changed records, Delete for removed ones. */
export function enrichmentAction(input: MappingInput): "Insert" | "Delete" {
  return input.action === "Remove" ? "Delete" : "Insert";
}

export function toEvent(input: MappingInput, options: EventHubShapeOptions = {}): MappedEvent {
  const dataType = EVENT_SOURCE_DATA_TYPE[input.eventSource];
  const category = EVENT_CATEGORIES[dataType];
  const partitionKey = subjectResourceId(input);
  const format = options.format ?? "defender";
  if (format === "xdr") return { body: xdrRecord(input, category), partitionKey, category };
  if (dataType === "alert" && format === "defender") return { body: alertToLegacyEvent(input), partitionKey, category };
  if (dataType === "subAssessment" && (options.findingsShape ?? "camel") === "pascal") return { body: pascalFinding(input, dataType), partitionKey, category };
  return { body: armWithEnrichment(input, dataType), partitionKey, category };
}

function enrichment(input: MappingInput, dataType: DataType): Json {
  return { action: enrichmentAction(input), apiVersion: API_VERSION[dataType], isSnapshot: input.isSnapshot };
}

function armWithEnrichment(input: MappingInput, dataType: DataType): Json {
  const out: Json = {};
  const security = { ...enrichment(input, dataType), interval: "00:00:00" };
  if (dataType === "assessment") setOwn(out, "assessmentEventDataEnrichment", enrichment(input, dataType));
  if (dataType === "subAssessment") setOwn(out, "subAssessmentEventDataEnrichment", enrichment(input, dataType));
  setOwn(out, "securityEventDataEnrichment", security);
  if (dataType === "assessment" || dataType === "subAssessment") {
    setOwn(out, "tenantId", input.tenantId ?? null);
    for (const key of ["kind", "location", "tags"]) setOwn(out, key, null);
  }
  for (const [k, v] of Object.entries(input.record)) setOwn(out, k, v);
  return out;
}

function pascalFinding(input: MappingInput, dataType: DataType): Json {
  const e = enrichment(input, dataType);
  const enrich = { Action: e["action"], ApiVersion: e["apiVersion"], IsSnapshot: e["isSnapshot"] };
  const out: Json = {
    SubAssessmentEventDataEnrichment: enrich,
    SecurityEventDataEnrichment: enrich,
    TenantId: input.tenantId ?? null,
  };
  for (const [k, v] of Object.entries(pascal(input.record) as Json)) setOwn(out, k, v);
  return out;
}

function xdrRecord(input: MappingInput, category: string): Json {
  return { time: input.exportedAt, tenantId: input.tenantId ?? null, category, properties: input.record };
}
