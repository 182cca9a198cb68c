import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startFakeArm, type FakeArmServer } from "../../dev/fakes/arm/server.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startFakeIdentity, type FakeIdentityEndpoint } from "../../dev/fakes/identity.js";
import { startFakeLogsIngestion, type FakeLogsIngestion } from "../../dev/fakes/logs-ingestion.js";
import { runBin } from "../helpers/bin.js";
import { declaredStreams, RULE_ID } from "../helpers/destinations.js";

const dataset = new SyntheticDataset({ alerts: 9, assessments: 15, subAssessments: 6 });
let arm: FakeArmServer;
let ingestion: FakeLogsIngestion;
let identity: FakeIdentityEndpoint;
let azurite: Azurite;

beforeAll(async () => {
  [arm, ingestion, identity, azurite] = await Promise.all([startFakeArm({ dataset }), startFakeLogsIngestion({ ruleId: RULE_ID, streams: declaredStreams() }), startFakeIdentity(), startAzurite()]);
}, 30_000);
afterAll(async () => {
  await Promise.all([arm.close(), ingestion.close(), identity.close(), azurite.stop()]);
});

function runExport(args: string[], env: Record<string, string> = {}) {
  return runBin(args, {
    NODE_EXTRA_CA_CERTS: arm.certFile,
    IDENTITY_ENDPOINT: identity.url,
    IDENTITY_HEADER: identity.header,
    DEFENDER_EXPORT_STORAGE: azurite.connectionString,
    DEFENDER_EXPORT_TRUSTED_HOSTS: new URL(ingestion.url).host,
    ARM_ENDPOINT: arm.url,
    ...env,
  });
}

describe("defender-export export", () => {
  const dir = mkdtempSync(join(tmpdir(), "defender-export-export-"));
  const config = join(dir, "my-export.json");

  it("runs a baseline, then only changes, with a summary line per pass", async () => {
    writeFileSync(
      config,
      JSON.stringify({
        scopes: [dataset.subscriptionPath],
        exportedDataTypes: ["Security recommendations", "Security alerts", "Overall secure score - snapshot"],
        actions: [{ actionType: "Workspace", dataCollectionEndpoint: ingestion.url, dataCollectionRuleId: RULE_ID }],
      }),
    );
    const first = await runExport(["export", "--config", config, "--once"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/ SubAssessments \/subscriptions\/.*: baseline; read 6, matched 6, changed 6, removed 0; workspace-[0-9a-f]{16}: sent 6, cut 0, dead-lettered 0/),
      expect.stringMatching(/ Assessments .*: baseline; read 15, matched 15, changed 15/),
      expect.stringMatching(/ Alerts .*: baseline; read 9, matched 7, changed 7/), // Informational alerts are not in the policy's severities
      expect.stringMatching(/ SecureScoresSnapshot .*: snapshot; read 1, matched 1, changed 1/),
    ]);
    expect(ingestion.accepted.get("Custom-SecurityRecommendation_CL")).toHaveLength(15);

    dataset.patches.set("assessment:2", (r) => ((r["properties"] as { status: { code: string } }).status.code = "Changed"));
    const second = await runExport(["export", "-c", config, "--once"]);
    expect(second.code).toBe(0);
    const again = second.stdout.trim().split("\n");
    // The weekly snapshot is not due again; the streaming sources send only the change.
    expect(again).toHaveLength(3);
    expect(again[1]).toMatch(/ Assessments .*: stream; read 15, matched 15, changed 1, removed 0/);
    expect(ingestion.accepted.get("Custom-SecurityRecommendation_CL")).toHaveLength(16);

    const onDemand = await runExport(["export", "-c", config, "--once", "--snapshot"]);
    expect(
      onDemand.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(": ")[1]!.split(";")[0]),
    ).toEqual(["snapshot", "snapshot", "snapshot", "snapshot"]);
  }, 60_000);

  it("reads only the settings it uses: the Functions app's own may be anything, and --arm-endpoint stands over ARM_ENDPOINT", async () => {
    const onlyAlerts = join(dir, "only-alerts.json");
    writeFileSync(
      onlyAlerts,
      JSON.stringify({
        scopes: [dataset.subscriptionPath],
        exportedDataTypes: ["Security alerts"],
        actions: [{ actionType: "Workspace", dataCollectionEndpoint: ingestion.url, dataCollectionRuleId: RULE_ID }],
      }),
    );
    const run = await runExport(["export", "-c", onlyAlerts, "--once", "--arm-endpoint", arm.url], {
      DEFENDER_EXPORT_PASS_TIME_LIMIT: "ten",
      DEFENDER_EXPORT_QUEUE: "Bad_Queue",
      ARM_ENDPOINT: "http://not-https",
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ Alerts .*: baseline; read 9, matched 7/);
    // A setting it does read is still checked, and named.
    const bad = await runExport(["export", "-c", onlyAlerts, "--once"], { DEFENDER_EXPORT_TRUSTED_HOSTS: "not a host!" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/DEFENDER_EXPORT_TRUSTED_HOSTS: expected host or host:port entries/);
  });

  it("refuses to export without an action or a scope", async () => {
    const bare = join(dir, "bare.json");
    writeFileSync(bare, JSON.stringify({ exportedDataTypes: ["Security alerts"] }));
    const run = await runExport(["export", "-c", bare, "--once"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/exporting needs at least one action and at least one scope/);
  });

  it("needs only a Blob endpoint in its storage connection string, and names the setting when storage cannot be reached", async () => {
    const onlyBlob = join(dir, "only-blob.json");
    writeFileSync(
      onlyBlob,
      JSON.stringify({
        scopes: [dataset.subscriptionPath],
        exportedDataTypes: ["Security alerts"],
        actions: [{ actionType: "Workspace", dataCollectionEndpoint: ingestion.url, dataCollectionRuleId: RULE_ID }],
      }),
    );
    const blobOnly = azurite.connectionString
      .split(";")
      .filter((p) => !/^(QueueEndpoint|TableEndpoint)=/.test(p))
      .join(";");
    const run = await runExport(["export", "-c", onlyBlob, "--once"], { DEFENDER_EXPORT_STORAGE: blobOnly });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ Alerts .*: baseline; read 9, matched 7, changed 7/);

    const closed = blobOnly.replace(/BlobEndpoint=http:\/\/[^/;]+/, "BlobEndpoint=http://127.0.0.1:9");
    const down = await runExport(["export", "-c", onlyBlob, "--once"], { DEFENDER_EXPORT_STORAGE: closed });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/ Alerts .*ERROR: the state's storage \(DEFENDER_EXPORT_STORAGE\) is unreachable: connect ECONNREFUSED/);
    expect(down.stdout + down.stderr).not.toContain("AccountKey");
  }, 120_000);
});
