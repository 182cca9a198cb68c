import { z } from "zod";
import { parentAssessmentKey } from "../datatypes/sub-assessment.js";
import { classifyRecord, definitionOf, type DataType } from "../datatypes/registry.js";
import { hasEmbeddedMetadata } from "../records/metadata.js";
import { setOwn, type Json, type RecordContext } from "../records/record.js";
import { isObject } from "../shared/object.js";

/**
 * Resource Graph rows (`securityresources`) brought to the wire shape the ARM reader yields, so that rules, change
 * detection, the 32 KB cut and every destination see the same record whichever reader read it
 * (the project's resource-graph.md §1 says how the two differ):
 * - the envelope is the ARM one: `id`, `name`, `type` as ARM spells it, `properties`. Resource Graph's own
 *   columns are dropped: REST items do not have them, and kept they would change every event and the size the
 *   cut measures. subscriptionId and resourceGroup are in the id; the others are empty for security types; the
 *   tenant is handed back beside the record (`tenantId`), for a reader to use where no tenant is configured;
 * - recommendations: `resourceDetails` keys camelCase; a row without metadata is marked (`needsMetadata`);
 * - alerts: from the legacy PascalCase model back to the ARM alert (see `armAlertProperties`);
 * - findings and compliance assessments carry the context the ARM reader gives them, from their ids;
 * - attack paths stay as Resource Graph holds them (no ARM list serves them; the reader exports rows as they are).
 */

export type GraphRowResult =
  | {
      kind: "record";
      dataType: DataType;
      record: Json;
      context?: RecordContext;
      /** A recommendation whose row has no metadata: join it from the metadata API (AssessmentMetadataIndex.embed), as the ARM reader does. */
      needsMetadata?: true;
      /** The row's tenant column. */
      tenantId?: string;
    }
  /** Rows that are not exported records: compliance standards and controls (hierarchy levels), unknown types. */
  | { kind: "skipped"; type: string; reason: string };

const rowSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  type: z.string().min(1),
  tenantId: z.string().nullish(),
  // Checked, not copied: properties are large and go on as they are.
  properties: z.custom<Json>(isObject, { error: "properties must be an object" }),
});

/** A Resource Graph row as the ARM reader's record; throws on a row without id, name, type or properties. */
export function fromGraphRow(row: unknown): GraphRowResult {
  if (!isObject(row)) throw new Error("malformed Resource Graph row: not an object");
  const parsed = rowSchema.safeParse(row);
  if (!parsed.success) throw new Error(`malformed Resource Graph row: ${parsed.error.issues.map((i) => `${i.path.join(".") || "row"}: ${i.message}`).join("; ")}`);
  const { id, name, type, tenantId, properties } = parsed.data;
  const cls = classifyRecord(parsed.data);
  if (cls.kind !== "exported") return { kind: "skipped", type, reason: cls.kind === "notExported" ? "not an exported record (a level of its hierarchy)" : "not a Defender data type" };
  const dataType = cls.dataType;
  const tenant = typeof tenantId === "string" && tenantId !== "" ? { tenantId } : {};
  if (dataType === "attackPath") return { kind: "record", dataType, record: row, ...tenant };
  const record: Json = { id, name, type: definitionOf(dataType).armTypes[0], properties };
  let context: RecordContext | undefined;
  switch (dataType) {
    case "alert":
      record["properties"] = armAlertProperties(properties);
      break;
    case "assessment":
    case "subAssessment":
      record["properties"] = withArmResourceDetails(properties);
      if (dataType === "subAssessment") {
        const key = parentAssessmentKey(id);
        if (key !== undefined) context = { parentAssessmentKey: key };
      }
      break;
    case "regulatoryComplianceAssessment": {
      // As Microsoft's own compliance query does: the names are in the id only, in camel-case segments.
      const m = /\/regulatoryComplianceStandards\/([^/]+)\/regulatoryComplianceControls\/([^/]+)\//i.exec(id);
      if (m !== null) context = { standard: m[1]!, control: m[2]! };
      break;
    }
    case "secureScore":
    case "secureScoreControl":
      // The same properties as REST; controls' definitions already expanded, as `$expand=definition` gives them.
      break;
  }
  const needsMetadata = dataType === "assessment" && !hasEmbeddedMetadata(record) ? { needsMetadata: true as const } : {};
  return { kind: "record", dataType, record, ...(context === undefined ? {} : { context }), ...needsMetadata, ...tenant };
}

/** The first letter lower-cased (REST's casing of the legacy model's names); `$` keys (JSON.NET markers) stay. */
const lowerFirst = (key: string) => (key.startsWith("$") || key === "" ? key : key[0]!.toLowerCase() + key.slice(1));

function camelDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelDeep);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) setOwn(out, lowerFirst(k), camelDeep(v));
  return out;
}

// Names whose ARM spelling is not the first letter lower-cased (Resource Graph writes `VMUUID`).
const RESOURCE_DETAIL_NAMES = new Map([["vmuuid", "vmuuid"]]);

/**
 * `resourceDetails` keys as REST spells them (`Source` → `source`, `VMUUID` → `vmuuid`). Resource Graph's
 * `AzureResourceId` repeats `id` on Azure resources, which REST's AzureResourceDetails do not have: dropped
 * when it says the same, kept (`azureResourceId`) when it does not.
 */
function withArmResourceDetails(properties: Json): Json {
  const details = properties["resourceDetails"];
  if (!isObject(details)) return properties;
  const out: Json = {};
  for (const [k, v] of Object.entries(details)) setOwn(out, RESOURCE_DETAIL_NAMES.get(k.toLowerCase()) ?? lowerFirst(k), v);
  if (typeof out["azureResourceId"] === "string" && typeof out["id"] === "string" && out["azureResourceId"].toLowerCase() === out["id"].toLowerCase()) delete out["azureResourceId"];
  return { ...properties, resourceDetails: out };
}

/** The ARM alert's properties (the REST spec's alerts.json AlertProperties): a legacy field not among them has no ARM counterpart. */
export const ARM_ALERT_PROPERTIES = [
  "version",
  "alertType",
  "systemAlertId",
  "productComponentName",
  "alertDisplayName",
  "description",
  "severity",
  "intent",
  "startTimeUtc",
  "endTimeUtc",
  "resourceIdentifiers",
  "remediationSteps",
  "vendorName",
  "status",
  "extendedLinks",
  "alertUri",
  "timeGeneratedUtc",
  "productName",
  "processingEndTimeUtc",
  "entities",
  "isIncident",
  "correlationKey",
  "extendedProperties",
  "compromisedEntity",
  "techniques",
  "subTechniques",
  "supportingEvidence",
] as const;
const ARM_ALERT_FIELDS = new Set<string>(ARM_ALERT_PROPERTIES.map((f) => f.toLowerCase()));

// The legacy event's names for two ARM fields.
const LEGACY_NAMES = new Map([
  ["timegenerated", "timeGeneratedUtc"],
  ["processingendtime", "processingEndTimeUtc"],
]);

// Values that keep their own keys: the alert's own fields ("Compromised Host"), and links, PascalCase in REST too.
const OWN_KEYS = new Set(["extendedproperties", "extendedlinks"]);

/**
 * An alert's properties from Resource Graph's legacy PascalCase model to the ARM alert's:
 * - every name with its first letter lower-cased (`AlertDisplayName` → `alertDisplayName`), values' keys too
 *   (entities, resource identifiers, supporting evidence), except ExtendedProperties and ExtendedLinks, whose
 *   keys are the alert's own; the legacy event's `TimeGenerated` and `ProcessingEndTime` to their ARM names;
 * - `Status` "New" (the legacy word) as ARM's "Active"; `IsIncident` as a boolean;
 * - fields the ARM alert derives from others (`ReportedSeverity`, `AzureResourceId`, `WorkspaceId`, ...: the
 *   alert type's rule aliases) dropped when they say what the ARM alert says, kept (camelCase) when they do not;
 * - other fields without an ARM counterpart kept in `properties`, camelCase as REST would name them, unless null
 *   (`ConfidenceLevel: null` carries nothing; the legacy event writes null for them anyway).
 * Lossy in one way: an entity key REST spells with a capital (the spec example's `OsVersion`) comes back with a
 * small letter; rules read keys without regard to case and the mappings PascalCase entities, so rows, legacy
 * events and rule results are the same.
 */
export function armAlertProperties(legacy: Json): Json {
  const out: Json = {};
  const derived: [string, string, unknown][] = [];
  for (const [key, value] of Object.entries(legacy)) {
    const lower = key.toLowerCase();
    if (ARM_ALERT_FIELDS.has(lower)) {
      setOwn(out, lowerFirst(key), OWN_KEYS.has(lower) ? value : lower === "status" && value === "New" ? "Active" : lower === "isincident" ? booleanOf(value) : camelDeep(value));
    } else if (LEGACY_NAMES.has(lower) || ALIASES.has(lower)) derived.push([lower, key, value]);
    else if (value !== null) setOwn(out, lowerFirst(key), camelDeep(value));
  }
  const alert = { properties: out };
  for (const [lower, key, value] of derived) {
    const armName = LEGACY_NAMES.get(lower);
    if (armName !== undefined && !Object.hasOwn(out, armName)) setOwn(out, armName, value);
    else if (value !== null && !sameValue(value, armName === undefined ? ALIASES.get(lower)!(alert) : out[armName])) setOwn(out, lowerFirst(key), camelDeep(value));
  }
  return out;
}

// The legacy names the alert type resolves on the ARM alert (src/datatypes/alert.ts): what they derive is dropped.
const ALIASES = definitionOf("alert").ruleAliases ?? new Map<string, (record: Json) => unknown>();

function booleanOf(value: unknown): unknown {
  return value === "true" || value === "True" ? true : value === "false" || value === "False" ? false : value;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase());
}
