// The same synthetic subscription read both ways: every record the ARM reader yields (through the real ArmReader and
// @azure/arm-security against the fake ARM server) equals the converted Resource Graph row of the same record (through
// the real @azure/arm-resourcegraph client against the fake's Resource Graph endpoint), and the rows, events, cuts,
// fingerprints and rule results made from both are identical.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { GRAPH_TABLES } from "../../dev/fakes/arm/graph-tables.js";
import { startFakeArm, type FakeArmServer } from "../../dev/fakes/arm/server.js";
import type { Rule } from "../../src/config/model.js";
import { DATA_TYPES, definitionOf, type DataType } from "../../src/datatypes/registry.js";
import { eventBody, toEventWithin, type EventResult } from "../../src/mapping/to-event.js";
import { toLogAnalyticsRow } from "../../src/mapping/to-row.js";
import { AssessmentMetadataIndex } from "../../src/records/metadata.js";
import { get, resourceGroupOf, stableId, type Json, type OutgoingRecord, type RecordContext } from "../../src/records/record.js";
import { compileRule } from "../../src/rules/compile.js";
import { ArmPager, ArmTraffic } from "../../src/sources/arm.js";
import { ARM_ALERT_PROPERTIES, armAlertProperties, fromGraphRow, type GraphRowResult } from "../../src/sources/graph-shapes.js";
import { ArmReader } from "../../src/sources/reader.js";
import { GraphPager, rowsQuery } from "../../src/sources/resource-graph.js";
import { collect, FAST_RETRIES, staticCredential } from "../helpers/arm.js";

const BUILT_IN = ["21300918-b2e3-0346-785f-c77ff57d243b", "bc303248-3d14-44c2-96a0-55f5c326b5fe", "ca039e75-a276-4175-aebc-bcd41e4b14b7"];
const CUSTOM = ["c0570000-0000-4000-8000-000000000001", "c0570000-0000-4000-8000-000000000002"];
// A key whose metadata neither Resource Graph nor the metadata API has.
const ORPHAN = "0bfa0000-0000-4000-8000-000000000009";

const dataset = new SyntheticDataset({
  resourceGroups: ["rg-web", "rg-data", "Rg-Jobs"],
  alerts: 9,
  assessments: 24,
  assessmentKeys: [...BUILT_IN, ...CUSTOM, ORPHAN],
  customAssessmentKeys: CUSTOM,
  onPremiseAssessmentEvery: 5,
  subAssessments: 10,
  standards: 5,
  controlsPerStandard: 3,
  assessmentsPerControl: 2,
});
// An alert with fields the REST spec does not define (one of them a legacy model's name): kept either way.
dataset.patches.set("alert:4", (a) => Object.assign(a["properties"] as Json, { confidenceScore: 0.7, riskAssessment: { riskLevel: "High", factors: [{ factorName: "x" }] } }));

const SUB = dataset.subscriptionPath;
const EXPORTED_AT = "2026-03-04T05:06:07.000Z";
const TYPES = DATA_TYPES.map((d) => d.name).filter((d): d is Exclude<DataType, "attackPath"> => d !== "attackPath");
const credential = staticCredential();
let fake: FakeArmServer;

interface Read {
  dataType: DataType;
  record: Json;
  context?: RecordContext;
}
const armRead = new Map<string, Read>();
const graphRead = new Map<string, Read>();
const graphResults: GraphRowResult[] = [];
let fellBack = 0;

beforeAll(async () => {
  fake = await startFakeArm({ dataset, pageSize: 4, resourceGraph: { quota: { queries: 1000, windowMs: 1000 } } });
  const options = { credential, endpoint: fake.url, tlsCa: fake.ca, retryOptions: FAST_RETRIES };
  for (const item of await collect(new ArmReader(options).read([SUB], TYPES))) {
    armRead.set(String(item.record["id"]), { dataType: item.dataType, record: item.record, ...(item.context ? { context: item.context } : {}) });
  }
  // The metadata API, for the rows that lack it (the join the reader falls back to).
  const pager = new ArmPager(dataset.subscriptionId, options, new ArmTraffic());
  const metadata = new AssessmentMetadataIndex();
  for (const path of ["/providers/Microsoft.Security/assessmentMetadata", `${SUB}/providers/Microsoft.Security/assessmentMetadata`]) {
    for await (const page of pager.pages(`${path}?api-version=2021-06-01`, { scope: SUB, dataType: "assessmentMetadata" })) for (const m of page.value) metadata.add(m);
  }
  const graph = new GraphPager({ ...options, pageRows: 7 }, new ArmTraffic());
  for (const source of GRAPH_TABLES["securityresources"]!) {
    const query = rowsQuery({ type: source.type, inResourceGroup: { column: "resourceGroup" } });
    for await (const rows of graph.pages({ query, subscriptions: [dataset.subscriptionId] }, { scope: SUB, dataType: source.type })) {
      for (const row of rows) {
        const result = fromGraphRow(row);
        graphResults.push(result);
        if (result.kind !== "record" || result.dataType === "attackPath") continue;
        let record = result.record;
        if (result.needsMetadata) {
          fellBack++;
          record = metadata.embed(record) as Json;
        }
        graphRead.set(String(record["id"]), { dataType: result.dataType, record, ...(result.context ? { context: result.context } : {}) });
      }
    }
  }
});
afterAll(async () => {
  await fake.close();
});

/** The first letter of every entity key lower-cased: the one documented loss (armAlertProperties). */
function entityKeysAsGraphReturns(record: Json): Json {
  const p = record["properties"] as Json;
  if (!Array.isArray(p["entities"])) return record;
  const lower = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(lower)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.startsWith("$") ? k : k[0]!.toLowerCase() + k.slice(1), lower(x)]))
        : v;
  return { ...record, properties: { ...p, entities: lower(p["entities"]) } };
}

function outgoing(read: Read, overrides: Partial<OutgoingRecord> = {}): OutgoingRecord {
  const definition = definitionOf(read.dataType);
  return {
    record: read.record,
    eventSource: definition.eventSources.stream,
    id: stableId(read.record)!,
    isSnapshot: false,
    action: "Insert",
    exportedAt: EXPORTED_AT,
    tenantId: dataset.tenantId,
    ...(read.context ? { context: read.context } : {}),
    ...overrides,
  };
}

const pairs = () => [...armRead].map(([id, arm]) => ({ id, arm, graph: graphRead.get(id)! }));

describe("the synthetic subscription read both ways", () => {
  it("covers every data type, resource groups, custom and orphan recommendations, on-premises machines and compliance", () => {
    const count = (m: Map<string, Read>, t: DataType) => [...m.values()].filter((r) => r.dataType === t).length;
    expect(Object.fromEntries(TYPES.map((t) => [t, count(armRead, t)]))).toEqual({
      alert: 9,
      assessment: 24,
      subAssessment: 10,
      secureScore: 1,
      secureScoreControl: 12,
      regulatoryComplianceAssessment: 30,
    });
    expect(new Set([...armRead.values()].map((r) => resourceGroupOf(r.record["id"]) ?? "(subscription)"))).toEqual(new Set(["rg-web", "rg-data", "Rg-Jobs", "(subscription)"]));
    const assessments = [...armRead.values()].filter((r) => r.dataType === "assessment").map((r) => ({ key: String(r.record["name"]), p: r.record["properties"] as Json }));
    expect(assessments.filter((a) => a.p["metadata"] === undefined).map((a) => a.key)).toEqual(Array<string>(4).fill(ORPHAN));
    // The custom ones have the subscription's own metadata, which Resource Graph's rows lack.
    expect(assessments.filter((a) => CUSTOM.includes(a.key) && get(a.p, "metadata", "description") === "A custom assessment")).toHaveLength(8);
    expect(assessments.filter((a) => get(a.p, "resourceDetails", "source") === "OnPremise").length).toBeGreaterThan(2);
    // Rows without metadata: the custom ones and the orphans, joined from the metadata API where it has them.
    expect(fellBack).toBe(12);
    // Every field the alerts API defines is in the data: a converter that drops one is seen.
    const fields = new Set([...armRead.values()].filter((r) => r.dataType === "alert").flatMap((r) => Object.keys(r.record["properties"] as Json)));
    expect(ARM_ALERT_PROPERTIES.filter((f) => !fields.has(f))).toEqual([]);
  });

  it("gives the same records, record for record, with the same context", () => {
    expect([...graphRead.keys()].sort()).toEqual([...armRead.keys()].sort());
    for (const { id, arm, graph } of pairs()) {
      expect(graph.dataType, id).toBe(arm.dataType);
      const expected = arm.dataType === "alert" ? entityKeysAsGraphReturns(arm.record) : arm.record;
      expect(graph.record, id).toStrictEqual(expected);
      expect(graph.context, id).toStrictEqual(arm.context);
    }
    // The one difference, where it is: entity keys REST spells with a capital (the spec example's OsVersion).
    const differing = pairs().filter((p) => JSON.stringify(p.arm.record) !== JSON.stringify(entityKeysAsGraphReturns(p.arm.record)));
    expect(differing.length).toBeGreaterThan(0);
    expect(differing.every((p) => p.arm.dataType === "alert" && JSON.stringify((p.arm.record["properties"] as Json)["entities"]).includes('"OsVersion"'))).toBe(true);
  });

  // What an event says, whether its JSON was written from its object or spliced from the record's (the order of
  // members may differ: the documented difference).
  const asSent = (e: EventResult) => (e.ok ? { ok: e.ok, cut: e.cut, partitionKey: e.partitionKey, category: e.category, body: eventBody(e) } : e);

  it("makes identical Log Analytics rows and Event Hubs events, cut alike at 32 KB and below", () => {
    for (const { id, arm, graph } of pairs()) {
      for (const action of ["Insert", "Remove"] as const) {
        const a = outgoing(arm, { action });
        const g = outgoing(graph, { action });
        for (const limit of [32 * 1024, 1500]) {
          const rowA = toLogAnalyticsRow(a, { limit, overflowBlob: "blob" })!;
          const rowG = toLogAnalyticsRow(g, { limit, overflowBlob: "blob" })!;
          expect(rowG, `${id} ${limit}`).toStrictEqual({ ...rowA, ...(rowA.ok ? { json: expect.any(String) } : {}) });
          if (rowA.ok && rowG.ok) expect(Buffer.byteLength(rowG.json), id).toBe(Buffer.byteLength(rowA.json));
          for (const format of ["defender", "xdr", "api"] as const) {
            // Formats that send the record as it is show the entity keys' casing (the documented difference).
            const raw = format !== "defender" && arm.dataType === "alert";
            const eventA = toEventWithin(raw ? { ...a, record: entityKeysAsGraphReturns(arm.record) } : a, limit, { format });
            const eventG = toEventWithin(g, limit, { format });
            expect(asSent(eventG), `${id} ${format} ${limit}`).toStrictEqual(asSent(eventA));
            if (eventA.ok && eventG.ok) expect(Buffer.byteLength(eventG.json)).toBe(Buffer.byteLength(eventA.json));
          }
        }
      }
    }
    // Some rows and events were cut at the small limit: the cut was exercised, not only the pass-through.
    const cut = pairs().filter((p) => {
      const r = toLogAnalyticsRow(outgoing(p.graph), { limit: 1500 });
      return r?.ok === true && r.cut.length > 0;
    });
    expect(cut.length).toBeGreaterThan(5);
  });

  it("gives the same fingerprints, change dates and rule results", () => {
    const rule = (propertyJPath: string, operator: Rule["operator"], expectedValue: string, propertyType: Rule["propertyType"] = "String"): Rule => ({
      propertyJPath,
      propertyType,
      operator,
      expectedValue,
    });
    const rules = [
      rule("Severity", "Equals", "High"),
      rule("properties.severity", "NotEquals", "Low"),
      rule("AzureResourceId", "Contains", "rg-web"),
      rule("Entities[0].HostName", "Equals", "vm2"),
      rule("properties.entities[0].OsVersion", "Equals", ""),
      rule("properties.metadata.severity", "Equals", "High"),
      rule("properties.metadata.assessmentType", "Equals", "CustomerManaged"),
      rule("properties.resourceDetails.Source", "Equals", "OnPremise"),
      rule("properties.status.code", "Equals", "Unhealthy"),
      rule("properties.status.severity", "Equals", "Medium"),
      rule("properties.score.current", "GreaterThan", "10", "Number"),
      rule("properties.definition.properties.maxScore", "GreaterThan", "1", "Integer"),
      rule("properties.state", "Equals", "Failed"),
      rule("id", "Contains", "/regulatoryComplianceControls/1.1/"),
    ];
    let matched = 0;
    for (const { id, arm, graph } of pairs()) {
      const change = definitionOf(arm.dataType).change;
      expect(change.fingerprint(graph.record), id).toBe(change.fingerprint(arm.record));
      for (const isNew of [true, false]) expect(change.changedAt?.(graph.record, isNew), id).toBe(change.changedAt?.(arm.record, isNew));
      for (const r of rules) {
        const test = compileRule(r, arm.dataType);
        expect(test(graph.record), `${id} ${r.propertyJPath}`).toBe(test(arm.record));
        if (test(arm.record)) matched++;
      }
    }
    expect(matched).toBeGreaterThan(50);
  });

  it("skips the compliance hierarchy's standards and controls, and hands back the row's tenant", () => {
    const skipped = graphResults.filter((r) => r.kind === "skipped");
    const countOf = (type: string) => skipped.filter((r) => r.type === type).length;
    expect(skipped).toHaveLength(20);
    expect(countOf("microsoft.security/regulatorycompliancestandards")).toBe(5);
    expect(countOf("microsoft.security/regulatorycompliancestandards/regulatorycompliancecontrols")).toBe(15);
    const records = graphResults.filter((r) => r.kind === "record");
    expect(records.every((r) => r.tenantId === dataset.tenantId)).toBe(true);
    // Attack paths stay as Resource Graph holds them.
    const paths = records.filter((r) => r.dataType === "attackPath");
    expect(paths.map((r) => r.record)).toStrictEqual(Array.from({ length: dataset.sizes.attackPaths }, (_, i) => dataset.attackPath(i)).sort((a, b) => String(a["id"]).localeCompare(String(b["id"]))));
  });
});

describe("fromGraphRow", () => {
  const row = (type: string, properties: Json, extra: Json = {}) => ({
    id: `${SUB}/resourceGroups/rg/providers/Microsoft.Security/assessments/k`,
    name: "k",
    type,
    tenantId: "t",
    resourceGroup: "rg",
    subscriptionId: dataset.subscriptionId,
    location: "westeurope",
    tags: { a: "b" },
    properties,
    ...extra,
  });

  it("drops Resource Graph's own columns and spells the type as ARM does", () => {
    const result = fromGraphRow(row("microsoft.security/assessments", { status: { code: "Healthy" }, metadata: { severity: "Low" } }));
    expect(result).toStrictEqual({
      kind: "record",
      dataType: "assessment",
      record: {
        id: `${SUB}/resourceGroups/rg/providers/Microsoft.Security/assessments/k`,
        name: "k",
        type: "Microsoft.Security/assessments",
        properties: { status: { code: "Healthy" }, metadata: { severity: "Low" } },
      },
      tenantId: "t",
    });
  });

  it("brings resourceDetails to REST's keys, keeping an AzureResourceId that says something else", () => {
    const convert = (details: Json) => ((fromGraphRow(row("microsoft.security/assessments", { resourceDetails: details })) as { record: Json }).record["properties"] as Json)["resourceDetails"];
    expect(convert({ Source: "Azure", Id: "/subscriptions/s/x", AzureResourceId: "/SUBSCRIPTIONS/s/X" })).toStrictEqual({ source: "Azure", id: "/subscriptions/s/x" });
    expect(convert({ Source: "Azure", Id: "/subscriptions/s/x", AzureResourceId: "/subscriptions/s/y" })).toStrictEqual({
      source: "Azure",
      id: "/subscriptions/s/x",
      azureResourceId: "/subscriptions/s/y",
    });
    expect(convert({ Source: "OnPremise", WorkspaceId: "w", VMUUID: "u", SourceComputerId: "c", MachineName: "m" })).toStrictEqual({
      source: "OnPremise",
      workspaceId: "w",
      vmuuid: "u",
      sourceComputerId: "c",
      machineName: "m",
    });
    expect(convert({ Source: "Aws", ConnectorId: "c", AwsResourceId: "arn", ResourceType: "Ec2" })).toStrictEqual({ source: "Aws", connectorId: "c", awsResourceId: "arn", resourceType: "Ec2" });
  });

  it("marks a recommendation without metadata for the metadata API", () => {
    expect(fromGraphRow(row("microsoft.security/assessments", { status: { code: "Healthy" } }))).toMatchObject({ kind: "record", needsMetadata: true });
    expect(fromGraphRow(row("microsoft.security/assessments", { metadata: {} }))).not.toHaveProperty("needsMetadata");
  });

  it("converts the legacy alert model's own words and keeps what has no ARM counterpart", () => {
    const p = armAlertProperties({
      Status: "New",
      IsIncident: "true",
      Severity: "High",
      ReportedSeverity: "High",
      TimeGenerated: "2026-01-01T00:00:00Z",
      ProcessingEndTime: "2026-01-01T00:01:00Z",
      ResourceIdentifiers: [{ Type: "AzureResource", AzureResourceId: "/subscriptions/s/vm" }],
      AzureResourceId: "/subscriptions/s/other",
      WorkspaceId: null,
      ConfidenceLevel: null,
      ConfidenceReasons: ["a"],
      ExtendedProperties: { "Compromised Host": "vm" },
      ExtendedLinks: [{ Href: "h", Category: "c" }],
      Entities: [{ $id: "1", Type: "host", HostName: "vm", Location: { CountryCode: "gb" } }],
    });
    expect(p).toStrictEqual({
      status: "Active",
      isIncident: true,
      severity: "High",
      resourceIdentifiers: [{ type: "AzureResource", azureResourceId: "/subscriptions/s/vm" }],
      confidenceReasons: ["a"],
      extendedProperties: { "Compromised Host": "vm" },
      extendedLinks: [{ Href: "h", Category: "c" }],
      entities: [{ $id: "1", type: "host", hostName: "vm", location: { countryCode: "gb" } }],
      timeGeneratedUtc: "2026-01-01T00:00:00Z",
      processingEndTimeUtc: "2026-01-01T00:01:00Z",
      // Says something the identifiers do not: kept.
      azureResourceId: "/subscriptions/s/other",
    });
  });

  it("refuses a malformed row, and skips types that are not exported", () => {
    expect(() => fromGraphRow({ id: "x", name: "x", type: "microsoft.security/assessments" })).toThrow(/properties/);
    expect(() => fromGraphRow([1])).toThrow(/not an object/);
    expect(fromGraphRow(row("microsoft.compute/virtualmachines", {}))).toMatchObject({ kind: "skipped", reason: "not a Defender data type" });
  });
});
