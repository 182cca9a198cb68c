import { COMMON, col, id, type TableDefinition } from "../records/columns.js";
import { assessedResourceId, get } from "../records/record.js";
import { defineDataType } from "./definition.js";
import { scoreChange, scoreColumns, secureScore } from "./secure-score.js";

const TABLE: TableDefinition<"SecureScoreControls"> = {
  table: "SecureScoreControls",
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

export const secureScoreControl = defineDataType({
  name: "secureScoreControl",
  label: "secure score controls",
  eventSources: { stream: "SecureScoreControls", snapshot: "SecureScoreControlsSnapshot" },
  cliNames: ["secureScoreControls"],
  armTypes: ["Microsoft.Security/secureScores/secureScoreControls", "Microsoft.Security/secureScoreControls"],
  notExportedArmTypes: ["Microsoft.Security/secureScoreControlDefinitions"],
  // Read with their definitions (display name, max score, assessments).
  apiVersion: secureScore.apiVersion,
  read: { kind: "armList", list: "secureScoreControls", query: "$expand=definition", level: "subscription" },
  graph: { type: "microsoft.security/securescores/securescorecontrols", inResourceGroup: { wholeSubscription: true } },
  change: scoreChange,
  table: TABLE,
  eventHub: { category: "SecureScoreControls" },
  subject: assessedResourceId,
});
