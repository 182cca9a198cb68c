import { alertResourceId, get, isObject, setOwn, logAnalyticsIdentifier, props, subscriptionOf, type Json, type MappingInput } from "./input.js";

/**
 * The legacy alert event model the built-in export puts on Event Hubs (and that the native SecurityAlert
 * table's Entities column holds): PascalCase, no ARM envelope, entities with `$id` and `Type`.
 * Fields the ARM alert lacks are null, as in the real messages.
 */
export function alertToLegacyEvent(input: MappingInput): Json {
  const p = props(input);
  const la = logAnalyticsIdentifier(input);
  const resourceId = alertResourceId(input);
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
export function legacyEntities(input: MappingInput, counter = { next: 1 }): unknown[] {
  const entities = props(input)["entities"];
  return Array.isArray(entities) ? entities.map((e) => withId(pascal(e), counter)) : [];
}

export function legacyLinks(input: MappingInput): unknown[] | null {
  const links = props(input)["extendedLinks"];
  return Array.isArray(links) ? links.map(pascal) : null;
}

/** camelCase keys to PascalCase, all the way down; `$id`-style keys stay as they are. */
export function pascal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascal);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) setOwn(out, k.startsWith("$") || k === "" ? k : k[0]!.toUpperCase() + k.slice(1), pascal(v));
  return out;
}

function withId(value: unknown, counter: { next: number }): unknown {
  if (!isObject(value)) return value;
  return { $id: String(counter.next++), ...value };
}
