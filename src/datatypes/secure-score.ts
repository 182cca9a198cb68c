import { COMMON, col, id, type ColumnDefinition, type TableDefinition } from "../records/columns.js";
import { assessedResourceId, get, resourceTypeOf, subscriptionOf, type Json } from "../records/record.js";
import { scoreMoved, type ChangeRule } from "./change-rule.js";
import { defineDataType } from "./definition.js";

/** Scores and controls: the score, when it moved by 0.01 or more since its last export. */
export const scoreChange: ChangeRule = {
  fingerprint: (record: Json) => {
    const current = get(record, "properties", "score", "current");
    return typeof current === "number" && Number.isFinite(current) ? current : Number.NaN;
  },
  changed: scoreMoved,
  removable: false,
};

/** The columns both score tables share. */
export const scoreColumns = (): ColumnDefinition[] => [
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

const TABLE: TableDefinition<"SecureScores"> = {
  table: "SecureScores",
  description: "Overall secure score (eventSource SecureScores, SecureScoresSnapshot)",
  columns: [...COMMON, ...scoreColumns(), id("DisplayName", "string", "The initiative's name", (i, q) => get(q, "displayName"))],
};

export const secureScore = defineDataType({
  name: "secureScore",
  label: "secure scores",
  eventSources: { stream: "SecureScores", snapshot: "SecureScoresSnapshot" },
  cliNames: ["secureScores"],
  armTypes: ["Microsoft.Security/secureScores"],
  apiVersion: "2020-01-01",
  read: { kind: "armList", list: "secureScores", level: "subscription" },
  graph: { type: "microsoft.security/securescores", inResourceGroup: { wholeSubscription: true } },
  change: scoreChange,
  table: TABLE,
  eventHub: { category: "SecureScores" },
  subject: assessedResourceId,
});
