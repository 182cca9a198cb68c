// What the exporter sends, pinned: a fixed data set exported through the real engine (two passes, the second
// with changes and removals) to the local Logs Ingestion and Event Hubs endpoints, every row and event
// compared with a digest kept in test/fixtures/export-equality.json. Time columns come from an injected clock.
// A row's OverflowBlob is compared by its documented form, and the original it points to must be the record.
// After a deliberate change of a row or event: EXPORT_EQUALITY_UPDATE=1 npx vitest run <this file>.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import { BlobDeadLetterStore } from "../../src/destinations/dead-letter.js";
import { createSink } from "../../src/destinations/factory.js";
import { readOriginal } from "../../src/destinations/overflow.js";
import { readerSource } from "../../src/engine/pass.js";
import { runConfiguration } from "../../src/engine/runner.js";
import { ArmReader } from "../../src/sources/reader.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startFakeArm, type FakeArmServer } from "../../dev/fakes/arm/server.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startFakeEventHubs, type FakeEventHubs } from "../../dev/fakes/eventhubs.js";
import { startFakeLogsIngestion, type FakeLogsIngestion } from "../../dev/fakes/logs-ingestion.js";
import { BlobServiceClient } from "@azure/storage-blob";
import { staticCredential } from "../helpers/arm.js";
import { declaredStreams, RULE_ID } from "../helpers/destinations.js";
import { MemoryStateStore } from "../helpers/memory-state.js";

const GOLDEN = new URL("../fixtures/export-equality.json", import.meta.url);
const HUB = "equality";
type Json = Record<string, unknown>;

/** Records that exercise every way of cutting: long text, many columns, nested dynamic values, escapes, surrogates, an event over the hub's limit. */
function dataset(): SyntheticDataset {
  const d = new SyntheticDataset({ alerts: 60, assessments: 90, subAssessments: 600, standards: 2, controlsPerStandard: 3, assessmentsPerControl: 4 });
  const props = (r: Json) => r["properties"] as Json;
  for (let i = 0; i < 600; i += 50) d.patches.set(`subAssessment:${i}`, (r) => void (props(r)["description"] = `${i} ${"é€x".repeat(12_000)}`));
  for (let i = 0; i < 60; i += 50) d.patches.set(`alert:${i}`, (r) => void (props(r)["description"] = `${i} ${"é€x".repeat(12_000)}`));
  d.patches.set("subAssessment:7", (r) => {
    const p = props(r);
    p["description"] = "d".repeat(20_000);
    p["remediation"] = "r".repeat(15_000);
    p["additionalData"] = { ...(p["additionalData"] as Json), cve: Array.from({ length: 400 }, (_, k) => ({ link: `http://contoso.com/${k}`, title: `CVE-2019-${k} ${"t".repeat(40)}` })) };
  });
  d.patches.set("subAssessment:13", (r) => void (props(r)["description"] = `"\\\u0001\n😀\t`.repeat(5_000) + "\ud800 lone"));
  d.patches.set("subAssessment:21", (r) => void (props(r)["description"] = "€".repeat(400_000)));
  d.patches.set("subAssessment:33", (r) => {
    const p = props(r);
    p["additionalData"] = { nested: { deeper: { list: Array.from({ length: 300 }, (_, k) => ({ k, text: "n".repeat(200), more: ["a".repeat(30), { z: "é".repeat(90) }] })) } } };
  });
  d.patches.set("alert:3", (r) => {
    const p = props(r);
    p["entities"] = Array.from({ length: 200 }, (_, k) => ({ $id: String(k), type: "host", hostName: `host-${k}-${"h".repeat(100)}` }));
    p["extendedProperties"] = Object.fromEntries(Array.from({ length: 100 }, (_, k) => [`key${k}`, "v".repeat(150)]));
  });
  d.patches.set("alert:5", (r) => void (props(r)["remediationSteps"] = Array.from({ length: 100 }, (_, k) => `step ${k}: ${"s".repeat(500)}`)));
  return d;
}

let azurite: Azurite;
let arm: FakeArmServer;
let ingestion: FakeLogsIngestion;
let hubs: FakeEventHubs;
let data: SyntheticDataset;
beforeAll(async () => {
  data = dataset();
  [azurite, arm, ingestion, hubs] = await Promise.all([
    startAzurite(),
    startFakeArm({ dataset: data, pageSize: 40 }),
    startFakeLogsIngestion({ ruleId: RULE_ID, streams: declaredStreams() }),
    startFakeEventHubs({ hubs: [HUB], partitionCount: 3 }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([arm?.close(), ingestion?.close(), hubs?.close(), azurite?.stop()]);
});

async function exportOnce(state: MemoryStateStore, at: string): Promise<void> {
  const trustedHosts = [new URL(ingestion.url).host, `localhost:${hubs.port}`];
  const parsed = parseExportConfiguration(
    {
      scopes: [{ scopePath: data.subscriptionPath }],
      sources: ["Alerts", "Assessments", "SubAssessments", "SecureScores", "SecureScoreControls", "RegulatoryComplianceAssessment"].map((eventSource) => ({ eventSource })),
      actions: [
        { actionType: "Workspace", dataCollectionEndpoint: ingestion.url, dataCollectionRuleId: RULE_ID },
        { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_EQUALITY", eventHubName: HUB },
      ],
    },
    { allowedDestinations: { trustedHosts } },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const sinks = parsed.configuration.actions.map((action) =>
    createSink(action, {
      credential: staticCredential(),
      deadLetters: new BlobDeadLetterStore(service.getContainerClient("equality-dead-letters")),
      overflow: service.getContainerClient("equality-overflow"),
      allowedDestinations: { trustedHosts },
      destinationAppSettings: { DEFENDER_EXPORT_DEST_EQUALITY: hubs.connectionString(HUB) },
      tlsCa: ingestion.ca,
    }),
  );
  const clock = new Date(at);
  try {
    const passes = await runConfiguration({
      configurationName: "equality",
      configuration: parsed.configuration,
      read: readerSource(new ArmReader({ credential: staticCredential(), endpoint: arm.url, tlsCa: arm.ca })),
      sinks,
      state,
      now: () => clock,
      // Several checkpoints a pass: what is sent must not depend on where they fall.
      passOptions: { checkpointEvery: 100 },
    });
    for (const p of passes) expect(p.error, `${p.eventSource}: ${p.error}`).toBeUndefined();
  } finally {
    await Promise.all(sinks.map((s) => s.close()));
  }
}

/** The original a cut row points to, through the tool that fetches one. */
async function original(pointer: string): Promise<string> {
  return readOriginal(BlobServiceClient.fromConnectionString(azurite.connectionString), pointer);
}

/** The documented form of OverflowBlob (docs/guarantees.md): a blob of originals and the byte range of one, both ends included. */
const POINTER = /^equality-overflow\/[a-z]+\/\d{4}-\d{2}-\d{2}T\d{6}\d{3}Z-[0-9a-f]{9}\.jsonl#\d{10}-\d{10}$/;

const digest = (lines: string[]) => createHash("sha256").update(lines.sort().join("\n")).digest("hex");

describe("what the exporter sends, byte for byte", () => {
  it("sends the same rows and events as recorded, and keeps every cut row's original", async () => {
    const state = new MemoryStateStore();
    await exportOnce(state, "2026-11-22T03:04:05.678Z");
    // Changes, a removal of each kind that has one, and a record that grew over the limit.
    data.patches.set("alert:10", (r) => void ((r["properties"] as Json)["status"] = "Resolved"));
    data.patches.set("assessment:3", (r) => void (((r["properties"] as Json)["status"] as Json)["code"] = "Healthy"));
    data.patches.set("subAssessment:9", (r) => void ((r["properties"] as Json)["description"] = "x".repeat(40_000)));
    data.patches.set("subAssessment:11", (r) => void (((r["properties"] as Json)["status"] as Json)["code"] = "Healthy"));
    data.sizes.alerts = 58;
    data.sizes.subAssessments = 595;
    await exportOnce(state, "2026-11-22T05:06:07.089Z");

    // Each row and event as the JSON text that was sent: the fakes parse it, and JSON.stringify gives it back
    // exactly (it made it). OverflowBlob is left out of the text and checked below.
    const streams: Record<string, { rows: number; digest: string }> = {};
    const pointers: { pointer: string; id: unknown }[] = [];
    for (const [stream, rows] of [...ingestion.accepted].sort(([a], [b]) => a.localeCompare(b))) {
      const lines = rows.map((row) => {
        const { OverflowBlob: pointer, ...rest } = row;
        if (pointer !== undefined) pointers.push({ pointer: String(pointer), id: row["RecordId"] ?? row["AssessmentId"] ?? row["Id"] });
        return JSON.stringify({ ...rest, OverflowBlob: pointer === undefined ? undefined : String(pointer).length });
      });
      streams[stream] = { rows: rows.length, digest: digest(lines) };
    }
    const events = hubs.events.map((e) => `${e.partitionId} ${e.partitionKey ?? ""} ${JSON.stringify(e.body)}`);
    const actual = {
      streams,
      events: { count: events.length, digest: digest(events) },
      cutRows: pointers.length,
      truncatedEvents: hubs.events.filter((e) => (e.body as Json)["isTruncated"] === true || (e.body as Json)["IsTruncated"] === true).length,
    };

    for (const { pointer } of pointers) expect(pointer).toMatch(POINTER);
    // Every original, whole: the record as ARM served it in the pass that cut it.
    const kept = await Promise.all(pointers.map(async ({ pointer }) => (JSON.parse(await original(pointer)) as Json)["id"]));
    expect(kept.length).toBe(pointers.length);
    const originals = await Promise.all(
      pointers.map(async ({ pointer }) =>
        createHash("sha256")
          .update(await original(pointer))
          .digest("hex"),
      ),
    );
    const keptDigest = digest(originals);

    if (process.env["EXPORT_EQUALITY_UPDATE"] === "1") writeFileSync(GOLDEN, `${JSON.stringify({ ...actual, originals: keptDigest }, null, 2)}\n`);
    const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as typeof actual & { originals: string };
    expect(actual).toEqual({ streams: golden.streams, events: golden.events, cutRows: golden.cutRows, truncatedEvents: golden.truncatedEvents });
    expect(keptDigest).toBe(golden.originals);
    expect(actual.cutRows).toBeGreaterThan(15);
    expect(actual.truncatedEvents).toBeGreaterThan(0);
  }, 120_000);
});
