// The Resource Graph tables the fake serves, each a list of row sources by type: a new Defender type is one
// more entry. Rows are made on demand from the synthetic dataset, as the ARM list routes make theirs, and say
// what Resource Graph holds for each type as the project's resource-graph.md §1 describes it; where no source
// says, the choice is marked "inferred".
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
 * A REST record as a Resource Graph row: lower-case type, the ARM id as it is, and the tenantId, subscriptionId
 * and resourceGroup columns (resourceGroup as the id writes it, "" for subscription-level records: whether
 * Resource Graph lower-cases it for security types is not documented).
 */
function row(dataset: SyntheticDataset, rest: Json, type: string, properties: Json): Json {
  const id = String(rest["id"]);
  return {
    id,
    name: rest["name"],
    type,
    tenantId: dataset.tenantId,
    ...EMPTY_COLUMNS,
    resourceGroup: /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? "",
    subscriptionId: /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] ?? dataset.subscriptionId,
    properties,
  };
}

/** The first letter upper-cased, as the legacy model names every field; `$` keys (JSON.NET markers) stay. */
const upperFirst = (key: string) => (key.startsWith("$") || key === "" ? key : key[0]!.toUpperCase() + key.slice(1));

/** Keys PascalCase all the way down. */
function pascalDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascalDeep);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [upperFirst(k), pascalDeep(v)]));
}

/**
 * Assessment i as Resource Graph holds it: resourceDetails keys in PascalCase (`Source`, `Id`, `AzureResourceId`;
 * `MachineName`, `VMUUID`, ... for other sources: securityresources.md samples and the Defender CSPM workbook)
 * and the metadata already embedded, except for custom assessments, whose metadata is the subscription's own:
 * Resource Graph rows without metadata cannot be ruled out (resource-graph.md; which ones lack it is inferred).
 */
export function graphAssessment(dataset: SyntheticDataset, i: number): Json {
  const rest = dataset.assessment(i);
  const p = { ...(rest["properties"] as Json) };
  const details = (p["resourceDetails"] ?? {}) as Json;
  const graphDetails: Json = {};
  for (const [k, v] of Object.entries(details)) graphDetails[k === "vmuuid" ? "VMUUID" : upperFirst(k)] = v;
  // Azure rows repeat the id as AzureResourceId (the workbooks read both).
  if (details["source"] === "Azure") graphDetails["AzureResourceId"] = details["id"];
  p["resourceDetails"] = graphDetails;
  const metadata = METADATA.get(String(rest["name"]));
  if (metadata !== undefined && p["metadata"] === undefined) p["metadata"] = structuredClone(metadata);
  return row(dataset, rest, "microsoft.security/assessments", p);
}

// The ARM alert fields whose values keep their own keys in the legacy model: ExtendedProperties holds the alert's
// own keys ("Compromised Host", event-hub-messages.md); ExtendedLinks are PascalCase in the REST example already.
const ALERT_BAGS = new Set(["extendedProperties", "extendedLinks"]);

/**
 * Alert i as Resource Graph holds it: the legacy PascalCase alert model, every field of the ARM alert kept.
 * Sourced (Microsoft's workbooks, resource-graph.md §1): top-level names are the ARM names with a capital
 * (`AlertDisplayName`, `SystemAlertId`, `Severity`, `Intent`, `IsIncident`, `AlertUri`, `TimeGeneratedUtc`,
 * `RemediationSteps`), `Status` keeps the ARM value (`Active`), `ResourceIdentifiers[]` and `Entities[]` have
 * PascalCase keys (`Type`, `AzureResourceId`, `HostName`). Inferred: that the other fields follow the same rule
 * (`ProcessingEndTimeUtc`, `SupportingEvidence` PascalCase all the way down, `Version`); that ExtendedProperties
 * and ExtendedLinks keep their keys; that the row also carries the legacy model's fields derived from the
 * identifiers (`ReportedSeverity`, `AzureResourceId`, `WorkspaceId`, ... as in the legacy event) and its
 * confidence fields, null (the ARM alert has none); and no `$id` markers.
 */
export function graphAlert(dataset: SyntheticDataset, i: number): Json {
  const rest = dataset.alert(i);
  const p = rest["properties"] as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(p)) out[upperFirst(k)] = ALERT_BAGS.has(k) ? structuredClone(v) : pascalDeep(v);
  const identifiers = Array.isArray(p["resourceIdentifiers"]) ? (p["resourceIdentifiers"] as Json[]) : [];
  const azure = identifiers.find((x) => String(x["type"]).toLowerCase() === "azureresource");
  const la = identifiers.find((x) => String(x["type"]).toLowerCase() === "loganalytics");
  const resourceId = azure?.["azureResourceId"];
  const legacy: Json = {
    ReportedSeverity: p["severity"] ?? null,
    AzureResourceId: resourceId ?? null,
    AzureResourceSubscriptionId: typeof resourceId === "string" ? (/^\/subscriptions\/([^/]+)/i.exec(resourceId)?.[1] ?? null) : null,
    WorkspaceId: la?.["workspaceId"] ?? null,
    WorkspaceSubscriptionId: la?.["workspaceSubscriptionId"] ?? null,
    WorkspaceResourceGroup: la?.["workspaceResourceGroup"] ?? null,
    AgentId: la?.["agentId"] ?? null,
    ConfidenceLevel: null,
    ConfidenceScore: null,
    ConfidenceReasons: null,
  };
  // An ARM field of the same name (an alert that has a confidence score) is the alert's own.
  for (const [k, v] of Object.entries(legacy)) if (!(k in out)) out[k] = v;
  return row(dataset, rest, "microsoft.security/locations/alerts", out);
}

/** Findings as REST returns them (securityresources.md samples: camelCase, resourceDetails.{source,id}). */
const graphSubAssessment = (d: SyntheticDataset, i: number) => {
  const rest = d.subAssessment(i);
  return row(d, rest, "microsoft.security/assessments/subassessments", rest["properties"] as Json);
};

/** The same properties as REST: scores as they are, controls with `definition` already expanded (securityresources.md). */
function sameAsRest(type: string, list: (d: SyntheticDataset) => Collection): RowSource {
  return {
    type,
    rows: (d) => {
      const c = list(d);
      return {
        count: c.count,
        at: (i) => {
          const rest = c.at(i);
          return row(d, rest, type, rest["properties"] as Json);
        },
      };
    },
  };
}

const COMPLIANCE_TYPES = {
  standards: "microsoft.security/regulatorycompliancestandards",
  controls: "microsoft.security/regulatorycompliancestandards/regulatorycompliancecontrols",
  assessments: "microsoft.security/regulatorycompliancestandards/regulatorycompliancecontrols/regulatorycomplianceassessments",
};

/** Standards, their controls and the controls' assessments, flattened in the order the nested ARM lists give them. */
function compliance(d: SyntheticDataset, level: keyof typeof COMPLIANCE_TYPES): Collection {
  const { standards, controlsPerStandard, assessmentsPerControl } = d.sizes;
  const perStandard = level === "standards" ? 1 : level === "controls" ? controlsPerStandard : controlsPerStandard * assessmentsPerControl;
  const type = COMPLIANCE_TYPES[level];
  return {
    count: standards * perStandard,
    at: (i) => {
      const standard = d.standards().at(Math.floor(i / perStandard));
      let rest = standard;
      if (level !== "standards") {
        const k = i % perStandard;
        const controls = d.controls(String(standard["name"]))!;
        const control = controls.at(level === "controls" ? k : Math.floor(k / assessmentsPerControl));
        rest = level === "controls" ? control : d.complianceAssessments(String(standard["name"]), String(control["name"]))!.at(k % assessmentsPerControl);
      }
      return row(d, rest, type, rest["properties"] as Json);
    },
  };
}

export const GRAPH_TABLES: Record<string, RowSource[]> = {
  securityresources: [
    { type: "microsoft.security/attackpaths", rows: (d) => d.attackPaths() },
    { type: "microsoft.security/assessments", rows: (d) => ({ count: d.sizes.assessments, at: (i) => graphAssessment(d, i) }) },
    { type: "microsoft.security/locations/alerts", rows: (d) => ({ count: d.sizes.alerts, at: (i) => graphAlert(d, i) }) },
    { type: "microsoft.security/assessments/subassessments", rows: (d) => ({ count: d.sizes.subAssessments, at: (i) => graphSubAssessment(d, i) }) },
    sameAsRest("microsoft.security/securescores", (d) => d.secureScores()),
    sameAsRest("microsoft.security/securescores/securescorecontrols", (d) => d.secureScoreControls(true)),
    ...(["standards", "controls", "assessments"] as const).map((level) => ({ type: COMPLIANCE_TYPES[level], rows: (d: SyntheticDataset) => compliance(d, level) })),
  ],
  // Each dataset is one subscription: what a management group holds is the fake's datasets in it.
  resourcecontainers: [{ type: "microsoft.resources/subscriptions", rows: (d) => ({ count: 1, at: () => subscriptionRow(d) }) }],
};

/** A subscription as Resource Graph's resourcecontainers holds it (the generic columns, properties.state). */
function subscriptionRow(d: SyntheticDataset): Json {
  return {
    id: d.subscriptionPath,
    name: d.subscriptionId,
    type: "microsoft.resources/subscriptions",
    tenantId: d.tenantId,
    ...EMPTY_COLUMNS,
    resourceGroup: "",
    subscriptionId: d.subscriptionId,
    properties: { state: "Enabled", subscriptionPolicies: { quotaId: "PayAsYouGo_2014-09-01", spendingLimit: "Off" } },
  };
}
