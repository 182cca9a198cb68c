import type { OutgoingRecord } from "../records/record.js";
import { cutToFit } from "./cut.js";
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
  const result = cutToFit(event.body, limit, (k) => EVENT_IDENTITY.has(k), pascalCase ? { flag: "IsTruncated", list: "TruncatedFields" } : { flag: "isTruncated", list: "truncatedFields" });
  return result.ok ? { ok: true, event: { ...event, body: result.value }, cut: result.cut, json: result.json } : { ok: false, event, reason: result.reason };
}
