import { COMMON, col, id, removed, type TableDefinition } from "../records/columns.js";
import { assessedResourceId, get, resourceGroupOf, resourceTypeOf, subscriptionOf, type OutgoingRecord } from "../records/record.js";
import { recommendationLink } from "./assessment.js";
import { dateAt, differs, fieldsHash, removedWithStatus } from "./change-rule.js";
import { defineDataType } from "./definition.js";

/** A finding's parent recommendation's key, from the finding's id (`.../assessments/<key>/subAssessments/<name>`). */
export function parentAssessmentKey(findingId: unknown): string | undefined {
  return /\/assessments\/([^/]+)\/subassessments\//i.exec(String(findingId))?.[1];
}

const parentOf = (i: OutgoingRecord) => i.context?.parentAssessmentKey ?? parentAssessmentKey(i.record["id"]);

const TABLE: TableDefinition<"SecurityNestedRecommendation"> = {
  table: "SecurityNestedRecommendation",
  description: "Findings (eventSource SubAssessments, SubAssessmentsSnapshot)",
  columns: [
    ...COMMON,
    id("NestedRecommendationId", "string", "The finding's name", (i) => i.record["name"]),
    id("ParentRecommendationId", "string", "The parent recommendation's key", parentOf),
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
    col("RecommendationLink", "string", "Link to the parent recommendation in the portal", (i, q) => recommendationLink(q, parentOf(i))),
    id("RecommendationSubscriptionId", "string", "Subscription of the finding", (i) => subscriptionOf(i.record["id"])),
    col("ResourceGroup", "string", "Resource group of the resource assessed", (i) => resourceGroupOf(assessedResourceId(i))),
    col("ResourceProviderType", "string", "Resource provider type of the resource assessed", (i) => resourceTypeOf(assessedResourceId(i))?.split("/")[0]),
    col("ResourceType", "string", "Resource type of the resource assessed (the native table's Type)", (i) => resourceTypeOf(assessedResourceId(i))),
  ],
};

const timeGenerated = dateAt("timeGenerated");

export const subAssessment = defineDataType({
  name: "subAssessment",
  label: "findings",
  eventSources: { stream: "SubAssessments", snapshot: "SubAssessmentsSnapshot" },
  cliNames: ["subAssessments", "findings"],
  armTypes: ["Microsoft.Security/assessments/subAssessments"],
  apiVersion: "2019-01-01-preview",
  read: {
    kind: "armList",
    list: "subAssessments",
    level: "scope",
    context: (record) => {
      const key = parentAssessmentKey(record["id"]);
      return key === undefined ? undefined : { parentAssessmentKey: key };
    },
  },
  graph: { type: "microsoft.security/assessments/subassessments", inResourceGroup: { column: "resourceGroup" } },
  // Status; a finding that disappears is a removal.
  change: {
    fingerprint: (r) => fieldsHash(get(r, "properties", "status", "code")),
    changed: differs,
    removable: true,
    removedRecord: removedWithStatus("Microsoft.Security/assessments/subAssessments"),
    changedAt: (r, isNew) => (isNew ? timeGenerated(r) : undefined),
  },
  table: TABLE,
  eventHub: { category: "SecurityNestedRecommendation", enrichmentKey: "subAssessmentEventDataEnrichment", findings: true },
  subject: assessedResourceId,
});
