import type { Json, OutgoingRecord } from "../records/record.js";
import { cutToFit, fitsIn, NOTHING_CUT, type CutMarkers } from "./cut.js";
import { eventAsJson, splicedEventBytes, toEvent, type EventCategory, type EventHubShapeOptions, type SplicedEvent } from "./eventhub.js";

// Fields of an event that say what it is; the guard never cuts them.
const EVENT_IDENTITY = new Set([
  "id",
  "name",
  "type",
  "tenantId",
  "assessmentEventDataEnrichment",
  "subAssessmentEventDataEnrichment",
  "securityEventDataEnrichment",
  "SystemAlertId",
  "AlertType",
  "Severity",
  "Status",
  "AlertDisplayName",
  "TimeGenerated",
  "StartTimeUtc",
  "EndTimeUtc",
  "AzureResourceId",
  "VendorName",
  "ProductName",
  "CompromisedEntity",
  "Id",
  "Name",
  "Type",
  "TenantId",
  "SubAssessmentEventDataEnrichment",
  "SecurityEventDataEnrichment",
  "time",
  "category",
]);

/** `body`: the event's object, where it was made (a cut, a shape written from its object); else it is its JSON's. */
export type EventResult =
  | { ok: true; json: string; cut: string[]; partitionKey: string; category: EventCategory; body: Json | undefined; spliced?: SplicedEvent }
  | { ok: false; reason: string; partitionKey: string; category: EventCategory; body: Json };

/** The record as its Event Hubs event, cut (as rows are) when its JSON is over `limit` bytes. */
export function toEventWithin(input: OutgoingRecord, limit: number, options: EventHubShapeOptions = {}): EventResult {
  // Most events are the record's own JSON after the enrichment's, and fit: no object, no second serialization.
  const spliced = eventAsJson(input, options);
  if (spliced !== undefined && fitsIn(spliced.json, limit)) {
    return { ok: true, json: spliced.json, cut: NOTHING_CUT, partitionKey: spliced.partitionKey, category: spliced.category, body: undefined, spliced: spliced.spliced };
  }
  const event = toEvent(input, options);
  const pascalCase = "SystemAlertId" in event.body || "SubAssessmentEventDataEnrichment" in event.body;
  const result = cutToFit(event.body, limit, isEventIdentity, pascalCase ? PASCAL_MARKERS : CAMEL_MARKERS);
  const { partitionKey, category } = event;
  if (!result.ok) return { ok: false, reason: result.reason, partitionKey, category, body: event.body };
  return { ok: true, json: result.json, cut: result.cut, partitionKey, category, body: result.value };
}

/** The event's JSON as UTF-8, as it is sent. */
export function eventBytes(result: Extract<EventResult, { ok: true }>): Buffer {
  return result.spliced === undefined ? Buffer.from(result.json, "utf8") : splicedEventBytes(result.spliced);
}

/** The event's object: as made, or read back from its JSON (the same object). */
export function eventBody(result: Extract<EventResult, { ok: true }>): Json {
  return result.body ?? (JSON.parse(result.json) as Json);
}

const isEventIdentity = (key: string) => EVENT_IDENTITY.has(key);
const PASCAL_MARKERS: CutMarkers = { flag: "IsTruncated", list: "TruncatedFields" };
const CAMEL_MARKERS: CutMarkers = { flag: "isTruncated", list: "truncatedFields" };
