import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ndjson, runCli } from "../helpers/cli.js";
import { exampleRecords } from "../helpers/examples.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";

const dir = mkdtempSync(join(tmpdir(), "defender-export-preview-"));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}
const toNdjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n") + "\n";

const alerts = [...exampleRecords("alerts/GetAlertsSubscription_example.json"), ...exampleRecords("alerts/GetAlertsResourceGroup_example.json")];
const metadata = exampleRecords("assessments/ListAssessmentsMetadata_example.json");
const assessments = exampleRecords("assessments/ListAssessments_example.json");
const findings = exampleRecords("subassessments/ListSubscriptionSubAssessments_example.json");
const standards = exampleRecords("regulatorycompliance/getRegulatoryComplianceStandardList_example.json");
const severityOf = (a: Record<string, unknown>) => (a["properties"] as { severity: string }).severity;

const highAlerts = file("high-alerts.json", { exportedDataTypes: ["Security alerts"], alertSeverities: ["High"], isSecurityFindingsEnabled: false });
const mediumRecommendations = file("medium.json", { exportedDataTypes: ["Security recommendations", "Security recommendations - snapshot"], recommendationSeverities: ["Medium"] });

describe("defender-export preview", () => {
  it("prints one line per exported record: eventSource, the lower-cased ARM id, the body", async () => {
    const run = await runCli(["preview", "--config", highAlerts, file("alerts.ndjson", toNdjson(alerts))]);
    expect(run.code).toBe(0);
    const lines = ndjson(run.stdout);
    const expected = alerts.filter((a) => severityOf(a) === "High");
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(alerts.length);
    expect(lines).toEqual(expected.map((a) => ({ eventSource: "Alerts", id: String(a["id"]).toLowerCase(), body: a })));
  });

  it("reads NDJSON, JSON arrays and ARM list bodies, from files and stdin, the same", async () => {
    const fromArray = await runCli(["preview", "-c", highAlerts, file("alerts-array.json", JSON.stringify(alerts, null, 2))]);
    const fromList = await runCli(["preview", "-c", highAlerts, file("alerts-list.json", JSON.stringify({ value: alerts }, null, 2))]);
    const fromOneLineList = await runCli(["preview", "-c", highAlerts, file("alerts-list-line.json", JSON.stringify({ value: alerts }))]);
    const fromStdin = await runCli(["preview", "-c", highAlerts], { stdin: toNdjson(alerts) });
    const split = await runCli(["preview", "-c", highAlerts, file("a1.json", { value: alerts.slice(0, 2) }), "-"], { stdin: toNdjson(alerts.slice(2)) });
    const reference = (await runCli(["preview", "-c", highAlerts, file("alerts2.ndjson", toNdjson(alerts))])).stdout;
    expect(reference).not.toBe("");
    for (const run of [fromArray, fromList, fromOneLineList, fromStdin, split]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(reference);
    }
  });

  it("joins assessment metadata by name so that severity rules apply, in either order", async () => {
    const metadataFirst = await runCli(["preview", "-c", mediumRecommendations, file("m.json", { value: metadata }), file("a.json", { value: assessments })]);
    const metadataLast = await runCli(["preview", "-c", mediumRecommendations, file("a2.json", { value: assessments }), file("m2.json", { value: metadata })]);
    for (const run of [metadataFirst, metadataLast]) {
      expect(run.code).toBe(0);
      const lines = ndjson(run.stdout);
      // Both assessments have Medium metadata; each goes out once per event source.
      expect(lines.map((l) => l["eventSource"])).toEqual(["Assessments", "AssessmentsSnapshot", "Assessments", "AssessmentsSnapshot"]);
      for (const line of lines) expect((line["body"] as { properties: { metadata: { severity: string } } }).properties.metadata.severity).toBe("Medium");
    }
    expect(metadataFirst.stdout).toBe(metadataLast.stdout);
  });

  it("an assessment without metadata is evaluated without it, with a warning", async () => {
    const run = await runCli(["preview", "-c", mediumRecommendations, file("only-a.json", { value: assessments })]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/only-a\.json:1: no assessment metadata for \/subscriptions\/20ff7fc3-e762-44dd-bd96-b71116dcdc23\/resourcegroups\/myrg\/.*severity rules cannot match it/);
  });

  it("findings travel by their parent recommendation's id", async () => {
    const config = file("findings.json", { exportedDataTypes: ["Security recommendations"], recommendationNames: ["dbd0cb49-b563-45e7-9724-889e799fa648"] });
    const run = await runCli(["preview", "-c", config, file("f.json", { value: findings })]);
    expect(ndjson(run.stdout).map((l) => [l["eventSource"], l["id"]])).toEqual(
      findings.filter((f) => String(f["id"]).includes("/assessments/dbd0cb49-b563-45e7-9724-889e799fa648/")).map((f) => ["SubAssessments", String(f["id"]).toLowerCase()]),
    );
  });

  it("attack paths as Resource Graph returns them (what read -t attackPaths prints), filtered by attackPath.riskLevel as portal automations write it, to their table", async () => {
    const dataset = new SyntheticDataset({ attackPaths: 8 });
    const paths = Array.from({ length: 8 }, (_, i) => dataset.attackPath(i));
    const riskOf = (r: Record<string, unknown>) => (r["properties"] as { riskLevel: string }).riskLevel;
    const config = file("critical-paths.json", {
      scopes: [{ scopePath: dataset.subscriptionPath }],
      sources: [{ eventSource: "AttackPaths", ruleSets: [{ rules: [{ propertyJPath: "attackPath.riskLevel", propertyType: "String", expectedValue: "Critical", operator: "Equals" }] }] }],
    });
    const run = await runCli(["preview", "-c", config, "--format", "log-analytics", file("paths.ndjson", toNdjson(paths))]);
    expect(run.code).toBe(0);
    const lines = ndjson(run.stdout);
    const critical = paths.filter((r) => riskOf(r) === "Critical");
    expect(critical.length).toBeGreaterThan(0);
    expect(lines.map((l) => l["id"])).toEqual(critical.map((r) => String(r["id"]).toLowerCase()));
    expect(lines.every((l) => l["table"] === "SecurityAttackPathData_CL" && (l["body"] as Record<string, unknown>)["RiskLevel"] === "Critical")).toBe(true);
  });

  it("skips records of unknown or non-exported types with a warning naming file and line", async () => {
    const input = toNdjson([{ id: "/x", type: "Microsoft.Compute/virtualMachines" }, { id: "/y" }, standards[0], alerts[0]]);
    const all = file("all-alerts.json", { sources: [{ eventSource: "Alerts" }] });
    const run = await runCli(["preview", "-c", all, file("mixed.ndjson", input)]);
    expect(run.code).toBe(0);
    expect(ndjson(run.stdout)).toHaveLength(1);
    expect(run.stderr).toContain('mixed.ndjson:1: a record of unknown type "Microsoft.Compute/virtualMachines" is skipped');
    expect(run.stderr).toContain("mixed.ndjson:2: a record without an ARM type is skipped");
    expect(run.stderr).toContain("mixed.ndjson:3: Microsoft.Security/regulatoryComplianceStandard records are not exported");
  });

  it("a malformed line is an error naming the file and line, exit 2", async () => {
    const bad = file("bad.ndjson", `${JSON.stringify(alerts[0])}\n\n${JSON.stringify(alerts[1])}\n{"id": "/broken",\n`);
    const run = await runCli(["preview", "-c", highAlerts, bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bad\.ndjson:4: invalid JSON/);
    const badDocument = file("bad-doc.json", `[\n  ${JSON.stringify(alerts[0])},\n  {"id": }\n]`);
    const doc = await runCli(["preview", "-c", highAlerts, badDocument]);
    expect(doc).toMatchObject({ code: 2, stderr: expect.stringMatching(/bad-doc\.json:3: invalid JSON/) });
  });

  it("bad configuration, missing --config or a missing file exit 2 before reading records", async () => {
    const badConfig = file("bad-config.json", { sources: [{ eventSource: "Nope" }] });
    expect(await runCli(["preview", "-c", badConfig], { stdin: toNdjson(alerts) })).toMatchObject({ code: 2, stdout: "", stderr: expect.stringMatching(/\$\.sources\[0\]\.eventSource/) });
    expect(await runCli(["preview", file("x.json", "[]")])).toMatchObject({ code: 2, stderr: expect.stringMatching(/preview needs --config/) });
    expect(await runCli(["preview", "-c", highAlerts, join(dir, "absent.json")])).toMatchObject({ code: 2, stderr: expect.stringMatching(/absent\.json: cannot read \(ENOENT\)/) });
  });

  it("--format log-analytics prints each record's row and table; event-hub prints the message body", async () => {
    const la = await runCli(["preview", "-c", highAlerts, "--format", "log-analytics", file("la.ndjson", toNdjson(alerts))]);
    expect(la.code).toBe(0);
    const rows = ndjson(la.stdout);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row).toMatchObject({ eventSource: "Alerts", table: "SecurityAlert_CL", body: { AlertSeverity: "High", RecordId: row["id"], IsSnapshot: false } });
    }
    const eh = await runCli(["preview", "-c", highAlerts, "-f", "event-hub", file("eh.ndjson", toNdjson(alerts))]);
    expect(ndjson(eh.stdout).map((b) => [b["Severity"], b["SystemAlertId"]])).toEqual(
      alerts.filter((a) => severityOf(a) === "High").map((a) => ["High", (a["properties"] as { systemAlertId: string }).systemAlertId]),
    );
    const api = await runCli(["preview", "-c", highAlerts, "-f", "event-hub", "--event-hub-format", "xdr", file("xdr.ndjson", toNdjson(alerts))]);
    expect(ndjson(api.stdout)[0]).toMatchObject({ category: "SecurityAlert", properties: { type: "Microsoft.Security/Locations/alerts" } });
    expect(await runCli(["preview", "-c", highAlerts, "-f", "csv"], { stdin: "" })).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--format "csv": expected api, log-analytics or event-hub/),
    });
  });

  it("event-hub previews findings in the shape the configuration's Event Hubs action sends (its findingsShape), or the one asked for", async () => {
    const pascal = file("pascal.json", {
      sources: [{ eventSource: "SubAssessments" }],
      actions: [{ actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net", eventHubName: "h", findingsShape: "pascal" }],
    });
    const records = file("findings.ndjson", toNdjson(findings));
    const configured = ndjson((await runCli(["preview", "-c", pascal, "-f", "event-hub", records])).stdout);
    expect(configured.length).toBe(findings.length);
    expect(configured.every((b) => "SubAssessmentEventDataEnrichment" in b)).toBe(true);
    const asked = ndjson((await runCli(["preview", "-c", pascal, "-f", "event-hub", "--findings-shape", "camel", records])).stdout);
    expect(asked.every((b) => !("SubAssessmentEventDataEnrichment" in b))).toBe(true);
    expect(await runCli(["preview", "-c", pascal, "-f", "event-hub", "--findings-shape", "snake"], { stdin: "" })).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--findings-shape "snake": expected camel or pascal/),
    });
  });

  it("the bundled example runs: every data type of the README's quick start", async () => {
    const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
    const run = await runCli(["preview", "--config", join(examples, "policy-defaults.json"), join(examples, "records")]);
    expect(run.code).toBe(0);
    const sources = new Set(ndjson(run.stdout).map((l) => l["eventSource"]));
    expect([...sources].sort()).toEqual(
      [
        "Alerts",
        "Assessments",
        "RegulatoryComplianceAssessment",
        "RegulatoryComplianceAssessmentSnapshot",
        "SecureScoreControls",
        "SecureScoreControlsSnapshot",
        "SecureScores",
        "SecureScoresSnapshot",
        "SubAssessments",
      ].sort(),
    );
  });
});
