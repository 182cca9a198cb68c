import type { OutgoingRecord } from "../records/record.js";
import { cutToFit, type CutMarkers } from "./cut.js";
import { toEvent, type EventHubShapeOptions, type MappedEvent } from "./eventhub.js";

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

export type EventResult = { ok: true; event: MappedEvent; cut: string[]; json: string } | { ok: false; event: MappedEvent; reason: string };

/** The record as its Event Hubs event, cut (as rows are) when its JSON is over `limit` bytes. */
export function toEventWithin(input: OutgoingRecord, limit: number, options: EventHubShapeOptions = {}): EventResult {
  const event = toEvent(input, options);
  const pascalCase = "SystemAlertId" in event.body || "SubAssessmentEventDataEnrichment" in event.body;
  const result = cutToFit(event.body, limit, isEventIdentity, pascalCase ? PASCAL_MARKERS : CAMEL_MARKERS);
  if (!result.ok) return { ok: false, event, reason: result.reason };
  // Most events fit: the event as it is, not a copy of it.
  return { ok: true, event: result.value === event.body ? event : { ...event, body: result.value }, cut: result.cut, json: result.json };
}

const isEventIdentity = (key: string) => EVENT_IDENTITY.has(key);
const PASCAL_MARKERS: CutMarkers = { flag: "IsTruncated", list: "TruncatedFields" };
const CAMEL_MARKERS: CutMarkers = { flag: "isTruncated", list: "truncatedFields" };
