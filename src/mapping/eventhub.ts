import type { EventHubFormat, FindingsShape } from "../config/enums.js";
import { byEventSource, DATA_TYPES, type DataType, type RegisteredDataType } from "../datatypes/registry.js";
import { pascal, setOwn, tenantOf, type Json, type OutgoingRecord } from "../records/record.js";

/**
 * What Event Hubs receive, per destination:
 * - "defender" (default): the shapes the built-in export sends and field parsers read: alerts in the legacy
 *   PascalCase alert event model; recommendations, findings, scores, controls and compliance as the ARM
 *   resource plus `securityEventDataEnrichment` (and the type's own enrichment);
 * - "api": every record as the ARM API returns it (alerts too), with the same enrichment;
 * - "xdr": the Defender XDR streaming envelope `{"records": [{time, tenantId, category, properties}]}`,
 *   many records per message.
 */
// Findings: camelCase ARM form with `subAssessmentEventDataEnrichment` (default), or the PascalCase form one consumer reads.

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

/** Each data type's event type (defined with the type, in src/datatypes/), by name. */
export const EVENT_CATEGORIES: Readonly<Record<DataType, string>> = Object.fromEntries(DATA_TYPES.map((d) => [d.name, d.eventHub.category])) as Record<DataType, string>;
export type EventCategory = string;

/** The enrichment's action: the built-in export sends Insert for new and changed records, Delete for removed ones. */
export function enrichmentAction(input: OutgoingRecord): "Insert" | "Delete" {
  return input.action === "Remove" ? "Delete" : "Insert";
}

export function toEvent(input: OutgoingRecord, options: EventHubShapeOptions = {}): MappedEvent {
  const dataType = byEventSource(input.eventSource);
  const shape = dataType.eventHub;
  const category = shape.category;
  const partitionKey = subjectOf(input, dataType);
  const format = options.format ?? "defender";
  if (format === "xdr") return { body: xdrRecord(input, category), partitionKey, category };
  if (shape.defenderEvent !== undefined && format === "defender") return { body: shape.defenderEvent(input), partitionKey, category };
  if (shape.findings === true && (options.findingsShape ?? "camel") === "pascal") return { body: pascalFinding(input, dataType), partitionKey, category };
  return { body: armWithEnrichment(input, dataType), partitionKey, category };
}

/** The resource whose events must stay in order: what a record is about, else the record itself. */
function subjectOf(input: OutgoingRecord, dataType: RegisteredDataType): string {
  const subject = dataType.subject(input);
  return (subject !== undefined && subject !== "" ? subject : input.id).toLowerCase();
}

function enrichment(input: OutgoingRecord, dataType: RegisteredDataType): Json {
  return { action: enrichmentAction(input), apiVersion: dataType.apiVersion, isSnapshot: input.isSnapshot };
}

function armWithEnrichment(input: OutgoingRecord, dataType: RegisteredDataType): Json {
  const out: Json = {};
  const security = { ...enrichment(input, dataType), interval: "00:00:00" };
  const own = dataType.eventHub.enrichmentKey;
  if (own !== undefined) setOwn(out, own, enrichment(input, dataType));
  setOwn(out, "securityEventDataEnrichment", security);
  if (own !== undefined) {
    setOwn(out, "tenantId", tenantOf(input) ?? null);
    for (const key of ["kind", "location", "tags"]) setOwn(out, key, null);
  }
  for (const [k, v] of Object.entries(input.record)) setOwn(out, k, v);
  return out;
}

function pascalFinding(input: OutgoingRecord, dataType: RegisteredDataType): Json {
  const e = enrichment(input, dataType);
  const enrich = { Action: e["action"], ApiVersion: e["apiVersion"], IsSnapshot: e["isSnapshot"] };
  const out: Json = {};
  const own = dataType.eventHub.enrichmentKey;
  if (own !== undefined) setOwn(out, pascalName(own), enrich);
  setOwn(out, "SecurityEventDataEnrichment", enrich);
  setOwn(out, "TenantId", tenantOf(input) ?? null);
  for (const [k, v] of Object.entries(pascal(input.record) as Json)) setOwn(out, k, v);
  return out;
}

const pascalName = (key: string) => key[0]!.toUpperCase() + key.slice(1);

function xdrRecord(input: OutgoingRecord, category: string): Json {
  return { time: input.exportedAt, tenantId: tenantOf(input) ?? null, category, properties: input.record };
}
