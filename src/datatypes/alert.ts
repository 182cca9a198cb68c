import { COMMON, col, id, json, type TableDefinition } from "../records/columns.js";
import { get, pascal, props, subscriptionOf, type Json, type OutgoingRecord } from "../records/record.js";
import { isObject } from "../shared/object.js";
import { dateAt, differs, fieldsHash } from "./change-rule.js";
import { defineDataType } from "./definition.js";

/** One of an alert's resource identifiers, by its type (any casing: `AzureResource`, `LogAnalytics`). */
export function alertIdentifier(alert: unknown, type: "azureresource" | "loganalytics"): Json | undefined {
  const list = get(alert, "properties", "resourceIdentifiers");
  if (!Array.isArray(list)) return undefined;
  return list.find((item): item is Json => isObject(item) && typeof item["type"] === "string" && item["type"].toLowerCase() === type);
}

/** The Azure resource an alert is about. */
export function alertResourceId(alert: unknown): string | undefined {
  const id = alertIdentifier(alert, "azureresource")?.["azureResourceId"];
  return typeof id === "string" ? id : undefined;
}

const TABLE: TableDefinition<"SecurityAlert"> = {
  table: "SecurityAlert",
  description: "Security alerts (eventSource Alerts)",
  columns: [
    ...COMMON,
    id("AlertName", "string", "Alert display name", (i, q) => get(q, "alertDisplayName")),
    id("DisplayName", "string", "The alert's display name", (i, q) => get(q, "alertDisplayName")),
    id("AlertSeverity", "string", "High, Medium, Low or Informational", (i, q) => get(q, "severity")),
    id("AlertType", "string", "The alert type", (i, q) => get(q, "alertType")),
    col("AlertLink", "string", "Link to the alert in the portal", (i, q) => get(q, "alertUri")),
    id("CompromisedEntity", "string", "The compromised entity", (i, q) => get(q, "compromisedEntity")),
    col("ConfidenceLevel", "string", "Not in the current alerts API", () => undefined),
    col("ConfidenceScore", "real", "Not in the current alerts API", () => undefined),
    col("Description", "string", "Description text for the alert", (i, q) => get(q, "description")),
    id("StartTime", "datetime", "Impact start time", (i, q) => get(q, "startTimeUtc")),
    id("EndTime", "datetime", "Impact end time", (i, q) => get(q, "endTimeUtc")),
    id("ProcessingEndTime", "datetime", "When the alert was created", (i, q) => get(q, "processingEndTimeUtc")),
    col("Entities", "string", "Related entities as JSON, in the legacy PascalCase entity shape", (i) => json(legacyEntities(i))),
    col("ExtendedLinks", "string", "Links as JSON", (i) => json(legacyLinks(i))),
    col("ExtendedProperties", "string", "The alert's own fields as JSON, original keys", (i, q) => json(get(q, "extendedProperties"))),
    id("IsIncident", "boolean", "Incident (a group of alerts) or alert", (i, q) => get(q, "isIncident")),
    col("ProductComponentName", "string", "Component of the product", (i, q) => get(q, "productComponentName")),
    id("ProductName", "string", "The product that raised the alert", (i, q) => get(q, "productName")),
    col("ProviderName", "string", "Constant 'Azure Security Center'", () => "Azure Security Center"),
    col("RemediationSteps", "string", "Remediation steps as a JSON array", (i, q) => json(get(q, "remediationSteps"))),
    id("ResourceId", "string", "The affected Azure resource", (i) => alertResourceId(i.record)),
    col("SourceComputerId", "string", "The agent of the affected machine", (i) => get(alertIdentifier(i.record, "loganalytics"), "agentId")),
    id("Status", "string", "Active, InProgress, Resolved or Dismissed", (i, q) => get(q, "status")),
    id("SystemAlertId", "string", "Unique id of this alert instance", (i, q) => get(q, "systemAlertId") ?? i.record["name"]),
    col("Tactics", "string", "MITRE tactics (the alert's intent)", (i, q) => get(q, "intent")),
    col("Techniques", "string", "MITRE techniques as a JSON array", (i, q) => json(get(q, "techniques"))),
    col("SubTechniques", "string", "MITRE sub-techniques as a JSON array", (i, q) => json(get(q, "subTechniques"))),
    id("VendorName", "string", "The vendor that raised the alert", (i, q) => get(q, "vendorName")),
    col("VendorOriginalId", "string", "Unused", () => undefined),
    col("WorkspaceResourceGroup", "string", "Resource group of the reporting workspace", (i) => get(alertIdentifier(i.record, "loganalytics"), "workspaceResourceGroup")),
    col("WorkspaceSubscriptionId", "string", "Subscription of the reporting workspace", (i) => get(alertIdentifier(i.record, "loganalytics"), "workspaceSubscriptionId")),
  ],
};

/**
 * The legacy alert event model the built-in export puts on Event Hubs (and that the native SecurityAlert
 * table's Entities column holds): PascalCase, no ARM envelope, entities with `$id` and `Type`.
 * Fields the ARM alert lacks are null, as in the real messages.
 */
function alertToLegacyEvent(input: OutgoingRecord): Json {
  const p = props(input);
  const la = alertIdentifier(input.record, "loganalytics");
  const resourceId = alertResourceId(input.record);
  const counter = { next: 1 };
  const status = p["status"];
  return {
    VendorName: p["vendorName"] ?? null,
    AlertType: p["alertType"] ?? null,
    ProductName: p["productName"] ?? null,
    ProductComponentName: p["productComponentName"] ?? null,
    StartTimeUtc: p["startTimeUtc"] ?? null,
    EndTimeUtc: p["endTimeUtc"] ?? null,
    TimeGenerated: p["timeGeneratedUtc"] ?? null,
    ProcessingEndTime: p["processingEndTimeUtc"] ?? null,
    Severity: p["severity"] ?? null,
    ReportedSeverity: p["severity"] ?? null,
    // The legacy model calls an active alert "New".
    Status: status === "Active" ? "New" : (status ?? null),
    ProviderAlertStatus: status ?? null,
    ConfidenceLevel: null,
    ConfidenceScore: null,
    ConfidenceReasons: null,
    IsIncident: p["isIncident"] ?? null,
    SystemAlertId: p["systemAlertId"] ?? input.record["name"] ?? null,
    CorrelationKey: p["correlationKey"] ?? null,
    Intent: p["intent"] ?? null,
    Techniques: p["techniques"] ?? null,
    SubTechniques: p["subTechniques"] ?? null,
    AzureResourceId: resourceId ?? null,
    AzureResourceSubscriptionId: subscriptionOf(resourceId) ?? null,
    WorkspaceId: get(la, "workspaceId") ?? null,
    WorkspaceSubscriptionId: get(la, "workspaceSubscriptionId") ?? null,
    WorkspaceResourceGroup: get(la, "workspaceResourceGroup") ?? null,
    AgentId: get(la, "agentId") ?? null,
    CompromisedEntity: p["compromisedEntity"] ?? null,
    AlertDisplayName: p["alertDisplayName"] ?? null,
    Description: p["description"] ?? null,
    Entities: legacyEntities(input, counter),
    ExtendedLinks: legacyLinks(input),
    ResourceIdentifiers: Array.isArray(p["resourceIdentifiers"]) ? p["resourceIdentifiers"].map((r) => withId(pascal(r), counter)) : [],
    RemediationSteps: p["remediationSteps"] ?? null,
    // The alert's own keys, as they are: consumers read "Compromised Host", "User Name".
    ExtendedProperties: isObject(p["extendedProperties"]) ? p["extendedProperties"] : {},
    AlertUri: p["alertUri"] ?? null,
  };
}

/** The alert's entities in the legacy shape: PascalCase, each with `$id` (numbered from 1). */
function legacyEntities(input: OutgoingRecord, counter = { next: 1 }): unknown[] {
  const entities = props(input)["entities"];
  return Array.isArray(entities) ? entities.map((e) => withId(pascal(e), counter)) : [];
}

function legacyLinks(input: OutgoingRecord): unknown[] | null {
  const links = props(input)["extendedLinks"];
  return Array.isArray(links) ? links.map(pascal) : null;
}

function withId(value: unknown, counter: { next: number }): unknown {
  if (!isObject(value)) return value;
  return { $id: String(counter.next++), ...value };
}

/**
 * Real automation rules on alerts use the legacy alert event model's top-level names (`Severity`,
 * `AlertType`, `Intent`, `CompromisedEntity`, ...). Most are the ARM alert's `properties` fields under
 * another casing, which the fallback into `properties` resolves; these are the ones whose ARM name differs.
 */
type Resolver = (alert: Json) => unknown;

const azureResourceId: Resolver = (a) => alertIdentifier(a, "azureresource")?.["azureResourceId"];

const RULE_ALIASES: ReadonlyMap<string, Resolver> = new Map<string, Resolver>([
  ["timegenerated", (a) => get(a, "properties", "timeGeneratedUtc")],
  ["processingendtime", (a) => get(a, "properties", "processingEndTimeUtc")],
  ["reportedseverity", (a) => get(a, "properties", "severity")],
  ["azureresourceid", azureResourceId],
  ["azureresourcesubscriptionid", (a) => subscriptionOf(azureResourceId(a))],
  ["workspaceid", (a) => alertIdentifier(a, "loganalytics")?.["workspaceId"]],
  ["workspacesubscriptionid", (a) => alertIdentifier(a, "loganalytics")?.["workspaceSubscriptionId"]],
  ["workspaceresourcegroup", (a) => alertIdentifier(a, "loganalytics")?.["workspaceResourceGroup"]],
  ["agentid", (a) => alertIdentifier(a, "loganalytics")?.["agentId"]],
]);

const timeGeneratedUtc = dateAt("timeGeneratedUtc");

export const alert = defineDataType({
  name: "alert",
  label: "alerts",
  eventSources: { stream: "Alerts" },
  cliNames: ["alerts"],
  armTypes: ["Microsoft.Security/Locations/alerts"],
  apiVersion: "2021-11-01",
  read: { kind: "armList", list: "alerts", level: "scope" },
  graph: { type: "microsoft.security/locations/alerts", inResourceGroup: { column: "resourceGroup" } },
  // Status or severity.
  change: {
    fingerprint: (r) => fieldsHash(get(r, "properties", "status"), get(r, "properties", "severity")),
    changed: differs,
    removable: false,
    changedAt: (r, isNew) => (isNew ? timeGeneratedUtc(r) : undefined),
  },
  table: TABLE,
  eventHub: { category: "SecurityAlert", defenderEvent: alertToLegacyEvent },
  subject: (input) => alertResourceId(input.record),
  ruleAliases: RULE_ALIASES,
});
