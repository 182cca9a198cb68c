import { COMMON, col, id, json, type TableDefinition } from "../records/columns.js";
import { get, type Json } from "../records/record.js";
import { differs, fieldsHash } from "./change-rule.js";
import { defineDataType } from "./definition.js";

/** The type Resource Graph gives attack path rows (lower case); a removed path carries it too. */
const GRAPH_TYPE = "microsoft.security/attackpaths";

const GRAPH_ROWS = { type: GRAPH_TYPE, inResourceGroup: { mentionedIn: "tostring(properties.graphComponent.entities)" } };

/** Arrays of text the native table keeps as text: one line each. */
const lines = (value: unknown): unknown => (Array.isArray(value) && value.every((v) => typeof v === "string") ? value.join("\n") : typeof value === "string" ? value : json(value));

/**
 * The entry point or target as text: its internal id in the path's graph, or, in rows from Microsoft Security
 * Exposure Management (objects instead of internal ids), the entity's name. Never the object itself: these
 * columns are never cut, and the change rule compares what they show.
 */
function entityText(q: unknown, internalId: string, object: string): string | undefined {
  const id = get(q, internalId);
  if (typeof id === "string") return id;
  const named = get(q, object, "entityName") ?? get(q, object, "entityInternalId");
  return typeof named === "string" ? named : undefined;
}
const entryPoint = (q: unknown) => entityText(q, "entryPointEntityInternalID", "entryPoint");
const target = (q: unknown) => entityText(q, "targetEntityInternalID", "target");
/** Risk factors as a set: their order is not a change. */
const riskFactorSet = (value: unknown) => (Array.isArray(value) ? value.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).sort() : value);

/**
 * SecurityAttackPathData's columns (azure-monitor-ref securityattackpathdata), filled from the Resource
 * Graph record; which field feeds which column is not published: the README gives this mapping.
 */
const TABLE: TableDefinition<"SecurityAttackPathData"> = {
  table: "SecurityAttackPathData",
  description: "Attack paths (eventSource AttackPaths, AttackPathsSnapshot)",
  columns: [
    ...COMMON,
    id("AttackPathId", "string", "The attack path instance's id (its name)", (i) => i.record["name"]),
    id("DisplayName", "string", "The attack path scenario's name", (i, q) => get(q, "displayName")),
    col("Description", "string", "This instance, naming its resources", (i, q) => get(q, "description")),
    id("RiskLevel", "string", "Critical, High, Medium or Low; Removed when the path is gone", (i, q) => (i.action === "Remove" ? "Removed" : get(q, "riskLevel"))),
    col("RiskFactors", "dynamic", "Risk factors", (i, q) => get(q, "riskFactors")),
    col("PotentialImpact", "string", "Impact if the path is exploited", (i, q) => get(q, "potentialImpact")),
    col("AttackStory", "string", "Narrative of the attack", (i, q) => get(q, "attackStory")),
    col("Mitre", "string", "MITRE ATT&CK tactics and techniques (JSON)", (i, q) => json(get(q, "mITRETacticsAndTechniques"))),
    id("EntrypointId", "string", "The entry point entity (its internal id in the path's graph)", (i, q) => entryPoint(q)),
    id("TargetId", "string", "The target entity (its internal id in the path's graph)", (i, q) => target(q)),
    col("Path", "dynamic", "The path's graph: entities, connections and insights", (i, q) => get(q, "graphComponent")),
    col("Assessments", "dynamic", "Recommendations on the path's entities, by entity", (i, q) => get(q, "assessments")),
    col("AdditionalRemediationSteps", "string", "Manual remediation steps, one a line", (i, q) => lines(get(q, "manualRemediationSteps"))),
  ],
};

export const attackPath = defineDataType({
  name: "attackPath",
  label: "attack paths",
  eventSources: { stream: "AttackPaths", snapshot: "AttackPathsSnapshot" },
  cliNames: ["attackPaths"],
  armTypes: ["Microsoft.Security/attackPaths"],
  // The Resource Graph api-version of the query (no Microsoft.Security api serves attack paths).
  apiVersion: "2024-04-01",
  // Paths belong to no resource group: a group's paths are those through one of its resources.
  read: { kind: "resourceGraph", ...GRAPH_ROWS },
  graph: GRAPH_ROWS,
  // Paths carry no timestamps and are re-evaluated about daily, rewriting their graphs: a change is what an
  // analyst acts on (risk, where it starts, what it reaches, why it is risky), not a redrawn graph.
  change: {
    fingerprint: (r) => {
      const p = get(r, "properties");
      return fieldsHash(get(p, "riskLevel"), entryPoint(p), target(p), riskFactorSet(get(p, "riskFactors")));
    },
    changed: differs,
    removable: true,
    removedRecord: (recordId) => ({ id: recordId, name: recordId.split("/").pop() ?? recordId, type: GRAPH_TYPE, properties: {} }),
  },
  table: TABLE,
  eventHub: { category: "SecurityAttackPathData" },
  subject: (input) => (typeof input.record["id"] === "string" ? input.record["id"] : undefined),
  // Automations made in the portal filter on `attackPath.riskLevel`: the path's own properties.
  ruleAliases: new Map([["attackpath", (record: Json) => record["properties"]]]),
});
