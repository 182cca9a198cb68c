import { COMMON, col, id, removed, type TableDefinition } from "../records/columns.js";
import { assessedResourceId, get, type Json } from "../records/record.js";
import { dateAt, differs, fieldsHash, removedWithStatus } from "./change-rule.js";
import { defineDataType } from "./definition.js";

/** DateTime.MinValue, which the native table writes for "never resolved". */
const MIN_TIME = "0001-01-01T00:00:00Z";

/** A recommendation's page in the portal, by its key (findings link to their parent's). */
export const recommendationLink = (q: Json, key: unknown) =>
  get(q, "links", "azurePortal") ?? (typeof key === "string" ? `https://portal.azure.com/#view/Microsoft_Azure_Security/GenericRecommendationDetailsBlade/assessmentKey/${key}` : undefined);

const TABLE: TableDefinition<"SecurityRecommendation"> = {
  table: "SecurityRecommendation",
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
    col("RecommendationLink", "string", "Link to the recommendation in the portal", (i, q) => recommendationLink(q, i.record["name"])),
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

export const assessment = defineDataType({
  name: "assessment",
  label: "recommendations",
  eventSources: { stream: "Assessments", snapshot: "AssessmentsSnapshot" },
  cliNames: ["assessments", "recommendations"],
  armTypes: ["Microsoft.Security/assessments"],
  apiVersion: "2021-06-01",
  read: { kind: "armList", list: "assessments", level: "scope" },
  graph: { type: "microsoft.security/assessments", inResourceGroup: { column: "resourceGroup" } },
  // Severity is in the metadata, not in the list item: the built-in export embeds it, as `$expand=metadata` does.
  metadata: { list: "assessmentMetadata", armType: "Microsoft.Security/assessmentMetadata" },
  // Status; a recommendation that disappears is a removal.
  change: {
    fingerprint: (r) => fieldsHash(get(r, "properties", "status", "code")),
    changed: differs,
    removable: true,
    removedRecord: removedWithStatus("Microsoft.Security/assessments"),
    changedAt: dateAt("status", "statusChangeDate"),
  },
  table: TABLE,
  eventHub: { category: "SecurityRecommendation", enrichmentKey: "assessmentEventDataEnrichment" },
  subject: assessedResourceId,
});
