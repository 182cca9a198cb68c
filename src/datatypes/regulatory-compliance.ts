import { COMMON, col, id, type TableDefinition } from "../records/columns.js";
import { assessedResourceId, get, resourceTypeOf, subscriptionOf } from "../records/record.js";
import { differs, fieldsHash } from "./change-rule.js";
import { defineDataType } from "./definition.js";

const TABLE: TableDefinition<"SecurityRegulatoryCompliance"> = {
  table: "SecurityRegulatoryCompliance",
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

export const regulatoryComplianceAssessment = defineDataType({
  name: "regulatoryComplianceAssessment",
  label: "regulatory compliance assessments",
  eventSources: { stream: "RegulatoryComplianceAssessment", snapshot: "RegulatoryComplianceAssessmentSnapshot" },
  cliNames: ["regulatoryCompliance"],
  armTypes: ["Microsoft.Security/regulatoryComplianceAssessment", "Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls/regulatoryComplianceAssessments"],
  notExportedArmTypes: [
    "Microsoft.Security/regulatoryComplianceStandard",
    "Microsoft.Security/regulatoryComplianceStandards",
    "Microsoft.Security/regulatoryComplianceControl",
    "Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls",
  ],
  apiVersion: "2019-01-01-preview",
  // Standards, their controls and the controls' assessments; each assessment carries its standard and control.
  read: {
    kind: "armNestedList",
    parents: "regulatoryComplianceStandards",
    children: "regulatoryComplianceControls",
    records: "regulatoryComplianceAssessments",
    context: (standard, control) => ({ standard, control }),
  },
  // The assessments alone (standards and controls are rows of their own types); names only in the id.
  graph: { type: "microsoft.security/regulatorycompliancestandards/regulatorycompliancecontrols/regulatorycomplianceassessments", inResourceGroup: { wholeSubscription: true } },
  // State or resource counts.
  change: {
    fingerprint: (r) => fieldsHash(get(r, "properties", "state"), get(r, "properties", "passedResources"), get(r, "properties", "failedResources"), get(r, "properties", "skippedResources")),
    changed: differs,
    removable: false,
  },
  table: TABLE,
  eventHub: { category: "SecurityRegulatoryCompliance" },
  subject: assessedResourceId,
});
