// The Resource Graph tables the fake serves, each a list of row sources by type: a new Defender type is one
// more entry. Rows are made on demand from the synthetic dataset, as the ARM list routes make theirs.
import { TEMPLATES, type Collection, type SyntheticDataset } from "./dataset.js";

type Json = Record<string, unknown>;

export interface RowSource {
  /** The row's `type`, lower case as Resource Graph writes it. */
  type: string;
  rows(dataset: SyntheticDataset): Collection;
}

// The generic columns every Resource Graph row has; their values for security types are not documented
// (empty, as the project's attack-path notes infer).
const EMPTY_COLUMNS = { kind: "", location: "", managedBy: "", sku: null, plan: null, tags: null, identity: null, zones: null, extendedLocation: null };

const METADATA = new Map(TEMPLATES.assessmentMetadata.map((m) => [String(m["name"]), m["properties"] as Json]));

/**
 * Assessment i as Resource Graph holds it (the project's resource-graph.md §1): lower-case type,
 * resourceDetails keys in PascalCase, the metadata already embedded, and the tenantId, subscriptionId and
 * resourceGroup columns taken from the id (resourceGroup as the id writes it: whether Resource Graph lower-cases
 * it for security types is not documented).
 */
export function graphAssessment(dataset: SyntheticDataset, i: number): Json {
  const rest = dataset.assessment(i);
  const id = String(rest["id"]);
  const p = { ...(rest["properties"] as Json) };
  const details = (p["resourceDetails"] ?? {}) as Json;
  const resourceId = String(details["id"] ?? "");
  p["resourceDetails"] = { Source: details["source"] ?? "Azure", Id: resourceId, AzureResourceId: resourceId };
  const metadata = METADATA.get(String(rest["name"]));
  if (metadata !== undefined && p["metadata"] === undefined) p["metadata"] = structuredClone(metadata);
  return {
    id,
    name: rest["name"],
    type: "microsoft.security/assessments",
    tenantId: dataset.tenantId,
    ...EMPTY_COLUMNS,
    resourceGroup: /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? "",
    subscriptionId: /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] ?? dataset.subscriptionId,
    properties: p,
  };
}

export const GRAPH_TABLES: Record<string, RowSource[]> = {
  securityresources: [
    { type: "microsoft.security/attackpaths", rows: (d) => d.attackPaths() },
    { type: "microsoft.security/assessments", rows: (d) => ({ count: d.sizes.assessments, at: (i) => graphAssessment(d, i) }) },
  ],
};
