import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { EVENT_SOURCES } from "../../src/config/enums.js";
import { PASS_RECORD_TAG } from "../../src/state/pass-log.js";
import { infraDocuments } from "../../src/mapping/infra.js";
import { defaultStreamName } from "../../src/records/columns.js";
import { TABLES } from "../../src/datatypes/registry.js";
import { toLogAnalyticsRow } from "../../src/mapping/to-row.js";
import { METRIC_NAMES, UNIT_PASS_MESSAGE } from "../../src/telemetry/metrics.js";
import { exampleRecords } from "../helpers/examples.js";
import { isReservedColumnName } from "../helpers/reserved-columns.js";
import { ROOT, settingsRead } from "../helpers/settings.js";
import { bicepFiles, infraText as infra } from "./bicep.js";

const bicep = bicepFiles();
const allBicep = [...bicep.values()].join("\n");

interface GeneratedTable {
  name: string;
  columns: { name: string; type: string }[];
}
interface GeneratedRule {
  streamDeclarations: Record<string, { columns: { name: string; type: string }[] }>;
  dataFlows: { streams: string[]; destinations: string[]; outputStream: string; transformKql: string }[];
}

describe("the Log Analytics tables and rule the deployment creates", () => {
  it("are what npm run infra:generate makes from the table definitions (run it after changing them)", () => {
    const documents = infraDocuments();
    expect(JSON.parse(infra("generated/tables.json"))).toEqual(documents.tables);
    expect(JSON.parse(infra("generated/data-collection-rule.json"))).toEqual(documents.dataCollectionRule);
    expect(infra("generated/tables.json")).toBe(`${JSON.stringify(documents.tables, null, 2)}\n`);
  });

  it("declare, per table, exactly the columns the mapper writes, in one stream that flows to that table", () => {
    const tables = JSON.parse(infra("generated/tables.json")) as GeneratedTable[];
    const rule = JSON.parse(infra("generated/data-collection-rule.json")) as GeneratedRule;
    expect(tables.map((t) => t.name)).toEqual(TABLES.map((t) => `${t.table}_CL`));
    for (const table of TABLES) {
      const columns = table.columns.map((c) => ({ name: c.name, type: c.type }));
      expect(tables.find((t) => t.name === `${table.table}_CL`)!.columns.map((c) => ({ name: c.name, type: c.type }))).toEqual(columns);
      expect(rule.streamDeclarations[defaultStreamName(table.table)]!.columns).toEqual(columns);
      expect(rule.dataFlows).toContainEqual({ streams: [defaultStreamName(table.table)], destinations: ["workspace"], transformKql: "source", outputStream: `Custom-${table.table}_CL` });
    }
    expect(allBicep).toContain("logAnalytics: [ { name: 'workspace'");
  });

  it("take every row the mapper makes of the real payloads: no column outside the stream", () => {
    const rule = JSON.parse(infra("generated/data-collection-rule.json")) as GeneratedRule;
    const cases = [
      ["alerts/GetAlertsSubscription_example.json", "Alerts"],
      ["assessments/ListAssessments_example.json", "Assessments"],
      ["subassessments/ListSubscriptionSubAssessments_example.json", "SubAssessments"],
      ["securescore/ListSecureScores_example.json", "SecureScores"],
      ["securescore/ListSecureScoreControls_example.json", "SecureScoreControls"],
      ["regulatorycompliance/getRegulatoryComplianceAssessmentList_example.json", "RegulatoryComplianceAssessment"],
    ] as const;
    let rows = 0;
    for (const [file, eventSource] of cases) {
      for (const record of exampleRecords(file)) {
        const row = toLogAnalyticsRow({ record, eventSource, id: String(record["id"]).toLowerCase(), isSnapshot: false, action: "Insert", exportedAt: "2026-11-22T00:00:00Z" });
        if (row === undefined || !row.ok) throw new Error(`${file}: no row`);
        const declared = rule.streamDeclarations[defaultStreamName(row.table.table)]!.columns.map((c) => c.name);
        expect(Object.keys(row.row).filter((k) => !declared.includes(k))).toEqual([]);
        rows++;
      }
    }
    expect(rows).toBeGreaterThanOrEqual(6);
  });

  it("use no column name reserved for custom tables, in any case (Id is id)", () => {
    const tables = JSON.parse(infra("generated/tables.json")) as GeneratedTable[];
    expect(tables.flatMap((t) => t.columns.filter((c) => isReservedColumnName(c.name)).map((c) => `${t.name}.${c.name}`))).toEqual([]);
    expect(isReservedColumnName("Id") && isReservedColumnName("_itemid") && !isReservedColumnName("RecordId")).toBe(true);
  });
});

describe("what the running app needs, in the templates", () => {
  it("every app setting the code reads is set by the Bicep (storage by identity, as shared keys are off)", () => {
    const api = infra("app/api.bicep") + infra("main.bicep");
    const missing = settingsRead().filter((name) => !new RegExp(`\\b${name}${name === "AzureWebJobsStorage" ? "__" : ":"}`).test(api));
    expect(missing).toEqual([]);
    for (const key of ["accountName", "blobServiceUri", "queueServiceUri", "tableServiceUri", "credential", "clientId"]) expect(api).toContain(`AzureWebJobsStorage__${key}:`);
    expect(api).toContain("runtime: { name: 'node', version: '22' }");
    expect(api).toContain("sku: { name: 'FC1', tier: 'FlexConsumption' }");
    expect(infra("core/storage.bicep")).toContain("allowSharedKeyAccess: false");
    expect(infra("core/monitoring.bicep")).toContain("DisableLocalAuth: true");
  });

  it("the Node types are the deployed runtime's, and the engines admit it and Node 20 (CI runs both)", () => {
    const runtime = /runtime: \{ name: 'node', version: '(\d+)' \}/.exec(infra("app/api.bicep"))![1]!;
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string }; devDependencies: Record<string, string> };
    expect(/^\^(\d+)\./.exec(pkg.devDependencies["@types/node"]!)?.[1]).toBe(runtime);
    // The range forms package.json uses: ^X.Y.Z and >=X[.Y.Z], joined by ||.
    const parts = (v: string) => [...v.split(".").map(Number), 0, 0].slice(0, 3);
    const atLeast = (a: number[], b: number[]) => {
      const i = a.findIndex((x, j) => x !== b[j]);
      return i < 0 || a[i]! > b[i]!;
    };
    const admits = (version: string) =>
      pkg.engines.node.split("||").some((range) => {
        const [, op, want] = /^\s*(\^|>=)(\d+(?:\.\d+){0,2})\s*$/.exec(range) ?? [];
        if (op === undefined) throw new Error(`engines: ${range} is not modelled`);
        const [have, least] = [parts(version), parts(want!)];
        return atLeast(have, least) && (op === ">=" || have[0] === least[0]);
      });
    expect(admits("21.7.0") || admits("20.18.0")).toBe(false);
    expect([`${runtime}.0.0`, "20.19.0", process.versions.node].filter((v) => !admits(v))).toEqual([]);
  });

  it("host.json sends telemetry through OpenTelemetry and sets nothing that mode ignores", () => {
    // In telemetryMode OpenTelemetry the host drops Host.Results and Host.Aggregator from its OpenTelemetry logger
    // (azure-functions-host, OpenTelemetryConfigurationExtensions.cs, AddDefaultOpenTelemetryFilters), and
    // applicationInsights.samplingSettings configures the Application Insights logger that mode replaces.
    const host = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as { telemetryMode: string; logging: { logLevel: Record<string, string>; applicationInsights?: unknown } };
    expect(host.telemetryMode).toBe("OpenTelemetry");
    expect(Object.keys(host.logging.logLevel).filter((k) => ["Host.Results", "Host.Aggregator"].includes(k))).toEqual([]);
    expect(host.logging.applicationInsights).toBeUndefined();
  });

  it("built-in role ids are their documented values, and nothing broader than needed is granted", () => {
    // From "Azure built-in roles" (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
    const documented: Record<string, string> = {
      securityReader: "39bc4728-0917-49c7-9d2c-d95423bc2eb4",
      monitoringMetricsPublisher: "3913510d-42f4-4e42-8a64-420c390055eb",
      eventHubsDataSender: "2b629674-e913-4c01-ae53-ef4638d8f975",
      storageBlobDataOwner: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
      storageQueueDataContributor: "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
      storageTableDataContributor: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    };
    const { "//": _comment, ...roles } = JSON.parse(infra("roles.json")) as Record<string, string>;
    expect(roles).toEqual(documented);
    const broad = ["8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42a0-ab88-20f7382dd24c", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"]; // Owner, Contributor, Reader, User Access Administrator
    const everything = allBicep + infra("roles.json");
    expect(broad.filter((id) => everything.includes(id))).toEqual([]);
    // Every assignment names its role through roles.json, never an inline id.
    const assignments = [...allBicep.matchAll(/roleDefinitionId: subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', ([^)]+)\)/g)].map((m) => m[1]);
    expect(assignments.length).toBeGreaterThanOrEqual(7);
    expect(assignments.every((a) => /^(roles\.\w+|role)$/.test(a!))).toBe(true);
  });

  it("the workbook reads the metric names and dimensions the code emits, and shows what operators need", () => {
    const workbook = JSON.parse(infra("workbook.json")) as { items: { type: number; content: { query?: string } }[] };
    const queries = workbook.items.flatMap((i) => (i.content.query ? [i.content.query] : []));
    const used = new Set(queries.filter((q) => q.startsWith("customMetrics")).flatMap((q) => [...q.matchAll(/"(defender_export\.[a-z_.]+)"/g)].map((m) => m[1]!)));
    const emitted = new Set<string>(Object.values(METRIC_NAMES));
    expect([...used].filter((n) => !emitted.has(n))).toEqual([]);
    for (const needed of [METRIC_NAMES.recordsExported, METRIC_NAMES.passFailures, METRIC_NAMES.recordsCut, METRIC_NAMES.recordsDeadLettered, METRIC_NAMES.exportLag]) expect(used).toContain(needed);
    const metricQueries = queries.filter((q) => q.startsWith("customMetrics"));
    const dimensions = new Set(metricQueries.flatMap((q) => [...q.matchAll(/customDimensions\.(\w+)/g)].map((m) => m[1]!)));
    expect([...dimensions].filter((d) => !["configuration", "eventSource", "mode", "action"].includes(d))).toEqual([]);
    // A management group per subscription: from the unit pass log records, with the attributes recordUnitPass gives them.
    const unitQueries = queries.filter((q) => /^(let \w+ = )?traces\n/.test(q));
    expect(unitQueries.length).toBeGreaterThanOrEqual(2);
    for (const q of unitQueries) expect(q).toContain(`where message == "${UNIT_PASS_MESSAGE}"`);
    const unitDimensions = new Set(unitQueries.flatMap((q) => [...q.matchAll(/customDimensions\.(\w+)/g)].map((m) => m[1]!)));
    expect([...unitDimensions].sort()).toEqual(["configuration", "departed", "eventSource", "outcome", "subscriptions", "unit"]);
    expect(queries.length).toBe(metricQueries.length + unitQueries.length);
    expect(queries.some((q) => /lastDelivery = max\(timestamp\) by configuration/.test(q))).toBe(true);
    expect(infra("app/workbook.bicep")).toContain("loadTextContent('../workbook.json')");
  });

  it("azd finds the app, the modules and files the Bicep loads exist, and the pass records carry the tag the lifecycle rule expires", () => {
    const azure = readFileSync(join(ROOT, "azure.yaml"), "utf8");
    expect(azure).toMatch(/services:\n {2}api:\n {4}project: \.\n {4}language: ts\n {4}host: function/);
    expect(infra("app/api.bicep")).toContain("'azd-service-name': 'api'");
    for (const [file, text] of bicep) {
      for (const m of text.matchAll(/(?:module \w+ '|load(?:Json|Text)Content\(')([^']+)'/g)) expect(existsSync(join(ROOT, "infra", dirname(file), m[1]!)), `${file}: ${m[1]}`).toBe(true);
    }
    const main = infra("main.bicep");
    const defaults = /param eventSources array = \[([^\]]+)\]/
      .exec(main)![1]!
      .match(/'(\w+)'/g)!
      .map((s) => s.slice(1, -1));
    expect([...defaults].sort()).toEqual([...EVENT_SOURCES].sort());
    expect(infra("core/storage.bicep")).toContain(`blobIndexMatch: [ { name: '${PASS_RECORD_TAG.name}', op: '==', value: '${PASS_RECORD_TAG.value}' } ]`);
  });
});
