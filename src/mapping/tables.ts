import type { LogAnalyticsTable } from "../config/model.js";
import type { DataType } from "../records/kinds.js";
import { legacyEntities, legacyLinks } from "./legacy-alert.js";
import { alertResourceId, assessedResourceId, get, logAnalyticsIdentifier, resourceGroupOf, resourceTypeOf, subscriptionOf, type Json, type MappingInput } from "./input.js";

/**
 * The six Log Analytics tables continuous export fills, defined once as data: the mapper, the data
 * collection rule's stream declarations and the custom table schemas all come from here.
 *
 * The Logs Ingestion API cannot write the native Security* tables, so rows go to `<Table>_CL` custom
 * tables with the native column names and types. Names reserved in custom tables are replaced:
 * TenantId → AzureTenantId, _SubscriptionId → AzureSubscriptionId, _ResourceId → AzureResourceId; `Type`
 * is set by Log Analytics itself (to `<Table>_CL`), SecurityNestedRecommendation's own `Type`
 * ("Resource type") becomes ResourceType, and its `Id` (the finding's ARM id; `id` is reserved) is not a
 * column of its own: the same value is every table's AzureResourceId.
 */

export type ColumnType = "string" | "int" | "long" | "real" | "boolean" | "datetime" | "dynamic";

export interface ColumnDefinition {
  name: string;
  type: ColumnType;
  description: string;
  /** Identity columns (ids, names, state, severity, times) are never cut to fit 32 KB. */
  identity?: boolean;
  /** The value from the record; `p` is the record's properties (looked up once per row). */
  from: (input: MappingInput, p: Json) => unknown;
}

export interface TableDefinition {
  table: LogAnalyticsTable;
  dataType: DataType;
  description: string;
  columns: readonly ColumnDefinition[];
}

/** The custom table a native table's rows go to. */
export const customTableName = (table: LogAnalyticsTable): string => `${table}_CL`;
/** The data collection rule stream that feeds it. */
export const defaultStreamName = (table: LogAnalyticsTable): string => `Custom-${table}_CL`;

/** DateTime.MinValue, which the native table writes for "never resolved". */
const MIN_TIME = "0001-01-01T00:00:00Z";

const col = (name: string, type: ColumnType, description: string, from: ColumnDefinition["from"], identity = false): ColumnDefinition =>
  identity ? { name, type, description, from, identity } : { name, type, description, from };
const id = (name: string, type: ColumnType, description: string, from: ColumnDefinition["from"]) => col(name, type, description, from, true);

/** Columns every table carries: time, snapshot marking, the stable id, and what the 32 KB cut did. */
const COMMON: readonly ColumnDefinition[] = [
  id("TimeGenerated", "datetime", "When this export observed the record (UTC)", (i) => i.exportedAt),
  id("IsSnapshot", "boolean", "True when the row belongs to a snapshot of the full current state", (i) => i.isSnapshot),
  id("RecordId", "string", "The record's ARM id, lower-cased: stable across exports, for deduplication", (i) => i.id),
  id("ExportAction", "string", "Insert, Update or Remove", (i) => i.action),
  col("SourceSystem", "string", "Constant 'Security'", () => "Security"),
  col("AzureTenantId", "string", "Entra tenant of the subscription (TenantId is reserved in custom tables)", (i) => i.tenantId),
  id("AzureSubscriptionId", "string", "Subscription of the record (_SubscriptionId is reserved)", (i) => subscriptionOf(i.record["id"])),
  id("AzureResourceId", "string", "The record's ARM id (_ResourceId is reserved)", (i) => i.record["id"]),
  id("IsTruncated", "boolean", "True when the row was cut to fit 32 KB", () => undefined),
  id("TruncatedColumns", "dynamic", "The columns the 32 KB cut shortened", () => undefined),
  id("OverflowBlob", "string", "Where the whole original record was kept when the row was cut", () => undefined),
];

const json = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : JSON.stringify(value));
const removed = (i: MappingInput, state: unknown) => (i.action === "Remove" ? "Removed" : state);
const portalLink = (q: Json, key: unknown) =>
  get(q, "links", "azurePortal") ?? (typeof key === "string" ? `https://portal.azure.com/#view/Microsoft_Azure_Security/GenericRecommendationDetailsBlade/assessmentKey/${key}` : undefined);

const ALERT: TableDefinition = {
  table: "SecurityAlert",
  dataType: "alert",
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
    id("ResourceId", "string", "The affected Azure resource", (i) => alertResourceId(i)),
    col("SourceComputerId", "string", "The agent of the affected machine", (i) => get(logAnalyticsIdentifier(i), "agentId")),
    id("Status", "string", "Active, InProgress, Resolved or Dismissed", (i, q) => get(q, "status")),
    id("SystemAlertId", "string", "Unique id of this alert instance", (i, q) => get(q, "systemAlertId") ?? i.record["name"]),
    col("Tactics", "string", "MITRE tactics (the alert's intent)", (i, q) => get(q, "intent")),
    col("Techniques", "string", "MITRE techniques as a JSON array", (i, q) => json(get(q, "techniques"))),
    col("SubTechniques", "string", "MITRE sub-techniques as a JSON array", (i, q) => json(get(q, "subTechniques"))),
    id("VendorName", "string", "The vendor that raised the alert", (i, q) => get(q, "vendorName")),
    col("VendorOriginalId", "string", "Unused", () => undefined),
    col("WorkspaceResourceGroup", "string", "Resource group of the reporting workspace", (i) => get(logAnalyticsIdentifier(i), "workspaceResourceGroup")),
    col("WorkspaceSubscriptionId", "string", "Subscription of the reporting workspace", (i) => get(logAnalyticsIdentifier(i), "workspaceSubscriptionId")),
  ],
};

const RECOMMENDATION: TableDefinition = {
  table: "SecurityRecommendation",
  dataType: "assessment",
  description: "Recommendations (eventSource Assessments, AssessmentsSnapshot)",
  columns: [
    ...COMMON,
    id("AssessedResourceId", "string", "The resource assessed; N/A for resources without an Azure id", (i, q) => get(q, "resourceDetails", "id") ?? "N/A"),
    id("RecommendationId", "string", "The assessment key", (i) => i.record["name"]),
    id("RecommendationName", "string", "Display name (as RecommendationDisplayName)", (i, q) => get(q, "displayName") ?? get(q, "metadata", "displayName")),
    id("RecommendationDisplayName", "string", "Display name of the recommendation", (i, q) => get(q, "displayName") ?? get(q, "metadata", "displayName")),
    id("RecommendationSeverity", "string", "Severity, from the recommendation's metadata", (i, q) => get(q, "metadata", "severity")),
    id("RecommendationState", "string", "Healthy, Unhealthy, NotApplicable or Removed", (i, q) => removed(i, get(q, "status", "code"))),
    col("Description", "string", "Description of the recommendation", (i, q) => get(q, "metadata", "description")),
    col("RemediationDescription", "string", "How to remediate", (i, q) => get(q, "metadata", "remediationDescription")),
    col("NotApplicableReason", "string", "Why the recommendation does not apply", (i, q) =>
      get(q, "status", "code") === "NotApplicable" ? (get(q, "status", "cause") ?? get(q, "status", "description")) : undefined,
    ),
    col("RecommendationLink", "string", "Link to the recommendation in the portal", (i, q) => portalLink(q, i.record["name"])),
    col("PolicyDefinitionId", "string", "The Azure Policy definition behind the assessment", (i, q) => get(q, "metadata", "policyDefinitionId")),
    col("RecommendationAdditionalData", "dynamic", "Additional data of the assessment", (i, q) => get(q, "additionalData")),
    col("Properties", "dynamic", "The assessment's properties", (_i, q) => q),
    id("DiscoveredTimeUTC", "datetime", "When this export observed the assessment", (i) => i.exportedAt),
    id("FirstEvaluationDate", "datetime", "First evaluation of the assessment", (i, q) => get(q, "status", "firstEvaluationDate")),
    id("StatusChangeDate", "datetime", "Last status change", (i, q) => get(q, "status", "statusChangeDate")),
    id("ResolvedTimeUTC", "datetime", "When it became healthy; DateTime.MinValue otherwise", (i, q) =>
      i.action !== "Remove" && get(q, "status", "code") === "Healthy" ? (get(q, "status", "statusChangeDate") ?? i.exportedAt) : MIN_TIME,
    ),
    col("Environment", "string", "Azure, AWS, GCP or OnPremise", (i, q) => get(q, "resourceDetails", "source")),
    col("ProviderName", "string", "Constant 'AzureSecurityCenter'", () => "AzureSecurityCenter"),
    col("DeviceId", "string", "Unused", () => undefined),
    col("ResourceRegion", "string", "Unused", () => undefined),
  ],
};

const NESTED: TableDefinition = {
  table: "SecurityNestedRecommendation",
  dataType: "subAssessment",
  description: "Findings (eventSource SubAssessments, SubAssessmentsSnapshot)",
  columns: [
    ...COMMON,
    id("NestedRecommendationId", "string", "The finding's name", (i) => i.record["name"]),
    id("ParentRecommendationId", "string", "The parent recommendation's key", (i) =>
      i.context?.parentAssessmentKey ?? /\/assessments\/([^/]+)\/subassessments\//i.exec(String(i.record["id"]))?.[1],
    ),
    id("VulnerabilityId", "string", "Vulnerability id", (i, q) => get(q, "id")),
    id("RecommendationName", "string", "Display name of the finding", (i, q) => get(q, "displayName")),
    id("RecommendationSeverity", "string", "Severity of the finding", (i, q) => get(q, "status", "severity")),
    id("RecommendationState", "string", "Healthy, Unhealthy, NotApplicable or Removed", (i, q) => removed(i, get(q, "status", "code"))),
    col("Cause", "string", "Cause of the status", (i, q) => get(q, "status", "cause")),
    col("Description", "string", "Description of the finding", (i, q) => get(q, "description") ?? get(q, "status", "description")),
    col("Category", "string", "Category", (i, q) => get(q, "category")),
    col("Impact", "string", "Impact", (i, q) => get(q, "impact")),
    col("RemediationDescription", "string", "How to remediate", (i, q) => get(q, "remediation")),
    col("RemidiationDescription", "string", "The native table's misspelt twin of RemediationDescription", (i, q) => get(q, "remediation")),
    col("AdditionalData", "dynamic", "Additional details", (i, q) => get(q, "additionalData")),
    col("ResourceDetails", "dynamic", "The resource assessed", (i, q) => get(q, "resourceDetails")),
    id("SubAssessmentTimeGeneration", "datetime", "When the finding was generated", (i, q) => get(q, "timeGenerated")),
    id("AssessedResourceId", "string", "The resource assessed", (i) => assessedResourceId(i) ?? "N/A"),
    col("RecommendationLink", "string", "Link to the parent recommendation in the portal", (i, q) =>
      portalLink(q, i.context?.parentAssessmentKey ?? /\/assessments\/([^/]+)\//i.exec(String(i.record["id"]))?.[1]),
    ),
    id("RecommendationSubscriptionId", "string", "Subscription of the finding", (i) => subscriptionOf(i.record["id"])),
    col("ResourceGroup", "string", "Resource group of the resource assessed", (i) => resourceGroupOf(assessedResourceId(i))),
    col("ResourceProviderType", "string", "Resource provider type of the resource assessed", (i) => resourceTypeOf(assessedResourceId(i))?.split("/")[0]),
    col("ResourceType", "string", "Resource type of the resource assessed (the native table's Type)", (i) => resourceTypeOf(assessedResourceId(i))),
  ],
};

const scoreColumns = (): ColumnDefinition[] => [
  id("AssessedResourceId", "string", "The id of the score", (i) => i.record["id"]),
  id("CurrentScore", "real", "Current score", (i, q) => get(q, "score", "current")),
  id("MaxScore", "int", "Maximum score", (i, q) => get(q, "score", "max")),
  id("PercentageScore", "real", "Current score divided by the maximum, 0 to 1", (i, q) => get(q, "score", "percentage")),
  id("Weight", "long", "Weight in the aggregated score", (i, q) => get(q, "weight")),
  col("Environment", "string", "Data source environment", () => "Azure"),
  col("Properties", "dynamic", "The record's properties", (_i, q) => q),
  col("ResourceProviderType", "string", "Resource provider type of the assessed scope", (i) => resourceTypeOf(i.record["id"])),
  id("SecureScoresSubscriptionId", "string", "The subscription", (i) => subscriptionOf(i.record["id"])),
];

const SCORES: TableDefinition = {
  table: "SecureScores",
  dataType: "secureScore",
  description: "Overall secure score (eventSource SecureScores, SecureScoresSnapshot)",
  columns: [...COMMON, ...scoreColumns(), id("DisplayName", "string", "The initiative's name", (i, q) => get(q, "displayName"))],
};

const CONTROLS: TableDefinition = {
  table: "SecureScoreControls",
  dataType: "secureScoreControl",
  description: "Secure score controls (eventSource SecureScoreControls, SecureScoreControlsSnapshot)",
  columns: [
    ...COMMON,
    ...scoreColumns(),
    id("ControlId", "string", "The control's id", (i) => i.record["name"]),
    id("ControlName", "string", "The control's display name", (i, q) => get(q, "displayName") ?? get(q, "definition", "properties", "displayName")),
    col("ControlType", "string", "BuiltIn or Custom", (i, q) => get(q, "definition", "properties", "source", "sourceType")),
    col("Description", "string", "The control's description", (i, q) => get(q, "definition", "properties", "description")),
    id("HealthyResources", "int", "Healthy resources", (i, q) => get(q, "healthyResourceCount")),
    id("UnhealthyResources", "int", "Unhealthy resources", (i, q) => get(q, "unhealthyResourceCount")),
    id("NotApplicableResources", "int", "Not applicable resources", (i, q) => get(q, "notApplicableResourceCount")),
    col("RecommendationResourceIds", "dynamic", "The recommendations the control assesses", (_i, q) => {
      const defs = get(q, "definition", "properties", "assessmentDefinitions");
      return Array.isArray(defs) ? defs.map((d) => get(d, "id")).filter((x) => x !== undefined) : undefined;
    }),
  ],
};

const COMPLIANCE: TableDefinition = {
  table: "SecurityRegulatoryCompliance",
  dataType: "regulatoryComplianceAssessment",
  description: "Regulatory compliance assessments (eventSource RegulatoryComplianceAssessment, ...Snapshot)",
  columns: [
    ...COMMON,
    id("ComplianceStandard", "string", "The standard's resource name", (i) => i.context?.standard ?? /\/regulatoryComplianceStandards\/([^/]+)/i.exec(String(i.record["id"]))?.[1]),
    id("ComplianceControl", "string", "The control's name", (i) => i.context?.control ?? /\/regulatoryComplianceControls\/([^/]+)/i.exec(String(i.record["id"]))?.[1]),
    id("RecommendationId", "string", "The assessment's name", (i) => i.record["name"]),
    id("RecommendationName", "string", "The assessment's display name", (i, q) => get(q, "description")),
    col("RecommendationLink", "string", "Link to the assessment's details", (i, q) => get(q, "assessmentDetailsLink")),
    id("State", "string", "Passed, Failed, Skipped or Unsupported", (i, q) => get(q, "state")),
    id("PassedResources", "int", "Resources that passed", (i, q) => get(q, "passedResources")),
    id("FailedResources", "int", "Resources that failed", (i, q) => get(q, "failedResources")),
    id("SkippedResources", "int", "Resources skipped", (i, q) => get(q, "skippedResources")),
    id("RegulatoryComplianceSubscriptionId", "string", "The subscription", (i) => subscriptionOf(i.record["id"])),
    id("AssessedResourceId", "string", "The assessment's id", (i) => i.record["id"]),
    col("Properties", "dynamic", "The record's properties", (_i, q) => q),
    col("ResourceProviderType", "string", "Resource provider type", (i) => resourceTypeOf(i.record["id"])),
  ],
};

export const TABLES: readonly TableDefinition[] = [ALERT, RECOMMENDATION, NESTED, SCORES, CONTROLS, COMPLIANCE];

const BY_DATA_TYPE = new Map<DataType, TableDefinition>(TABLES.map((t) => [t.dataType, t]));

export function tableFor(dataType: DataType): TableDefinition | undefined {
  return BY_DATA_TYPE.get(dataType);
}
