import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { WorkspaceAction } from "../../src/config/model.js";
import { LogAnalyticsSink } from "../../src/destinations/log-analytics.js";
import { readOriginal, parsePointer } from "../../src/destinations/overflow.js";
import { replayDeadLetters } from "../../src/destinations/replay.js";
import { jsonBytes } from "../../src/mapping/cut.js";
import { toLogAnalyticsRow } from "../../src/mapping/to-row.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startFakeLogsIngestion, type FakeLogsIngestion } from "../../dev/fakes/logs-ingestion.js";
import { staticCredential } from "../helpers/arm.js";
import { declaredStreams, FAST, lettersOf, RULE_ID, SDK_FAST, storage, letterCount } from "../helpers/destinations.js";
import { input } from "../helpers/mapping.js";

let azurite: Azurite;
let ingestion: FakeLogsIngestion;
let run = 0;
beforeAll(async () => {
  azurite = await startAzurite();
  ingestion = await startFakeLogsIngestion({ ruleId: RULE_ID, streams: declaredStreams() });
}, 30_000);
afterAll(async () => {
  await ingestion.close();
  await azurite.stop();
});
beforeEach(() => {
  ingestion.clearFaults();
  ingestion.accepted.clear();
  ingestion.requests.length = 0;
  run++;
});

function workspaceAction(): WorkspaceAction {
  const result = parseExportConfiguration(
    { sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "Workspace", dataCollectionEndpoint: ingestion.url, dataCollectionRuleId: RULE_ID }] },
    { allowedDestinations: { trustedHosts: [new URL(ingestion.url).host] } },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.configuration.actions[0] as WorkspaceAction;
}

function sink(extra: { overflow?: boolean } = {}) {
  const s = storage(azurite, `la${run}`);
  const la = new LogAnalyticsSink(workspaceAction(), {
    credential: staticCredential(),
    deadLetters: s.deadLetters,
    allowedDestinations: { trustedHosts: [new URL(ingestion.url).host] },
    ...(extra.overflow ? { overflow: s.overflow } : {}),
    retry: FAST,
    tlsCa: ingestion.ca,
    sdkRetryOptions: SDK_FAST,
  });
  return { la, ...s };
}

const dataset = new SyntheticDataset({ alerts: 40, assessments: 30, subAssessments: 50 });
const mixed = () => [
  ...Array.from({ length: 40 }, (_, i) => input(dataset.alert(i), "Alerts")),
  ...Array.from({ length: 30 }, (_, i) => input(dataset.assessment(i), "AssessmentsSnapshot")),
  ...Array.from({ length: 50 }, (_, i) => input(dataset.subAssessment(i), "SubAssessments")),
  input(dataset.secureScores().at(0), "SecureScores"),
  input(dataset.secureScoreControls(true).at(3), "SecureScoreControlsSnapshot"),
  input(dataset.complianceAssessments("PCI-DSS-3.2", "1.1")!.at(0), "RegulatoryComplianceAssessment"),
];

describe("Log Analytics through @azure/monitor-ingestion", () => {
  it("delivers each record as its table's row to its stream, 204 only", async () => {
    const { la } = sink();
    const inputs = mixed();
    for (const i of inputs) await la.write(i);
    const report = await la.flush();
    expect(report).toMatchObject({ sent: inputs.length, deadLettered: 0, cut: 0 });
    expect([...ingestion.accepted.keys()].sort()).toEqual([
      "Custom-SecureScoreControls_CL",
      "Custom-SecureScores_CL",
      "Custom-SecurityAlert_CL",
      "Custom-SecurityNestedRecommendation_CL",
      "Custom-SecurityRecommendation_CL",
      "Custom-SecurityRegulatoryCompliance_CL",
    ]);
    const expected = (i: (typeof inputs)[number]) => (toLogAnalyticsRow(i) as { row: unknown }).row;
    expect(ingestion.accepted.get("Custom-SecurityAlert_CL")).toEqual(inputs.slice(0, 40).map(expected));
    expect(ingestion.accepted.get("Custom-SecurityRecommendation_CL")!.every((r) => r["IsSnapshot"] === true)).toBe(true);
    expect(ingestion.requests.every((r) => r.status === 204)).toBe(true);
    expect(report.requests).toBe(ingestion.requests.length);
  });

  it("sends byte-sized batches: one request per megabyte, each under the service's limit", async () => {
    const { la } = sink();
    const big = (i: number) => {
      const a = dataset.alert(i);
      return { ...a, properties: { ...(a["properties"] as object), description: `${i} ${"d".repeat(9_000)}` } };
    };
    let bytes = 0;
    for (let i = 0; i < 500; i++) {
      const one = input(big(i), "Alerts");
      bytes += jsonBytes((toLogAnalyticsRow(one) as { row: unknown }).row) + 1;
      await la.write(one);
    }
    await la.flush();
    expect(ingestion.accepted.get("Custom-SecurityAlert_CL")).toHaveLength(500);
    expect(ingestion.requests.length).toBe(Math.ceil(bytes / 1_000_000));
    for (const r of ingestion.requests) expect(r.inflatedBytes).toBeLessThanOrEqual(1_000_000);
  });

  it("never sends a row over 32 KB: cuts it, marks it, keeps the original in the overflow container", async () => {
    const { la, overflow, service } = sink({ overflow: true });
    const a = dataset.alert(0);
    const huge = { ...a, properties: { ...(a["properties"] as object), description: "€".repeat(40_000) } };
    await la.write(input(huge, "Alerts"));
    const report = await la.flush();
    expect(report).toMatchObject({ sent: 1, cut: 1 });
    const [row] = ingestion.accepted.get("Custom-SecurityAlert_CL")!;
    expect(jsonBytes(row)).toBeLessThanOrEqual(32_768);
    expect(row).toMatchObject({ IsTruncated: true, TruncatedColumns: ["Description"], SystemAlertId: (a["properties"] as { systemAlertId: string }).systemAlertId });
    expect(row!["OverflowBlob"]).toMatch(new RegExp(`^${overflow.containerName}/alerts/[^#]+\\.jsonl#0000000000-\\d{10}$`));
    expect(await readOriginal(service, String(row!["OverflowBlob"]))).toBe(JSON.stringify(huge));
  });

  it("keeps the originals of many cut rows as lines of a few blobs, each written before a row that points into it is sent", async () => {
    const s = storage(azurite, `la${run}`);
    // Slow writes: a row sent before its blob would be seen.
    const written = new Map<string, number>();
    const overflow = new Proxy(s.overflow, {
      get(target, key, receiver) {
        if (key !== "getBlockBlobClient") return Reflect.get(target, key, receiver) as unknown;
        return (name: string) => {
          const client = target.getBlockBlobClient(name);
          return Object.assign(Object.create(client) as typeof client, {
            upload: async (...args: Parameters<typeof client.upload>) => {
              await new Promise((r) => setTimeout(r, 200));
              const response = await client.upload(...args);
              written.set(`${target.containerName}/${name}`, ingestion.requests.length);
              return response;
            },
          });
        };
      },
    });
    const la = new LogAnalyticsSink(workspaceAction(), {
      credential: staticCredential(),
      deadLetters: s.deadLetters,
      allowedDestinations: { trustedHosts: [new URL(ingestion.url).host] },
      overflow,
      retry: FAST,
      tlsCa: ingestion.ca,
      sdkRetryOptions: SDK_FAST,
    });
    const huge = (i: number) => {
      const a = dataset.alert(i);
      return { ...a, properties: { ...(a["properties"] as object), description: `${i} ${"é".repeat(20_000 + i)}` } };
    };
    const records = Array.from({ length: 40 }, (_, i) => huge(i));
    for (const r of records) await la.write(input(r, "Alerts"));
    expect(await la.flush()).toMatchObject({ sent: 40, cut: 40 });
    const rows = ingestion.accepted.get("Custom-SecurityAlert_CL")!;
    const pointers = rows.map((r) => String(r["OverflowBlob"]));
    const blobs = new Set(pointers.map((p) => p.split("#")[0]!));
    expect(ingestion.requests.length).toBeGreaterThan(1);
    expect(blobs.size).toBeLessThanOrEqual(ingestion.requests.length);
    // Request k carried rows whose blobs were written while fewer than k + 1 requests had arrived.
    let row = 0;
    ingestion.requests.forEach((request, k) => {
      for (let n = 0; n < request.rows; n++, row++) expect(written.get(pointers[row]!.split("#")[0]!)).toBeLessThanOrEqual(k);
    });
    // Requests run side by side: rows arrive in any order.
    expect((await Promise.all(pointers.map((p) => readOriginal(s.service, p)))).sort()).toEqual(records.map((r) => JSON.stringify(r)).sort());
    // Each blob is JSON lines, which any line reader takes.
    for (const name of blobs) {
      const lines = (await s.overflow.getBlobClient(name.slice(s.overflow.containerName.length + 1)).downloadToBuffer()).toString("utf8").split("\n");
      expect(lines.pop()).toBe("");
      for (const line of lines) expect(records).toContainEqual(JSON.parse(line));
    }
  });

  it("reads a pointer written before originals shared blobs: the whole blob", async () => {
    const { overflow, service } = sink({ overflow: true });
    await overflow.createIfNotExists();
    const old = JSON.stringify(dataset.alert(7));
    await overflow.getBlockBlobClient("alerts/0123456789abcdef0123456789abcdef/2026-11-22T030405678Z.json").upload(old, Buffer.byteLength(old));
    expect(await readOriginal(service, `${overflow.containerName}/alerts/0123456789abcdef0123456789abcdef/2026-11-22T030405678Z.json`)).toBe(old);
    expect(parsePointer(`${overflow.containerName}/alerts/x.jsonl#0000000010-0000000019`)).toEqual({ container: overflow.containerName, blob: "alerts/x.jsonl", range: { offset: 10, count: 10 } });
    expect(parsePointer("no pointer")).toBeUndefined();
    await expect(readOriginal(service, "../x")).rejects.toThrow(/not an OverflowBlob pointer/);
  });

  it("recovers from 429 with Retry-After, 500 and a reset connection", async () => {
    const { la } = sink();
    ingestion.inject({ kind: "status", status: 429, retryAfter: 1 });
    ingestion.inject({ kind: "status", status: 500 });
    ingestion.inject({ kind: "reset" });
    const inputs = mixed();
    for (const i of inputs) await la.write(i);
    const report = await la.flush();
    expect(report).toMatchObject({ sent: inputs.length, deadLettered: 0 });
    expect([...ingestion.accepted.values()].flat()).toHaveLength(inputs.length);
    expect(ingestion.requests.filter((r) => r.fault !== undefined)).toHaveLength(3);
  });

  it("a partial failure: the failed chunk is retried after the SDK's retries, nothing is lost or doubled", async () => {
    const { la } = sink();
    // The first chunk of the alerts fails through all of the SDK's attempts; our retry then delivers it.
    ingestion.inject({ kind: "status", status: 500 }, { stream: "Custom-SecurityAlert_CL", times: 1 + SDK_FAST.maxRetries });
    const inputs = mixed();
    for (const i of inputs) await la.write(i);
    const report = await la.flush();
    expect(report).toMatchObject({ sent: inputs.length, deadLettered: 0 });
    const alerts = ingestion.accepted.get("Custom-SecurityAlert_CL")!;
    expect(new Set(alerts.map((r) => r["RecordId"])).size).toBe(40);
    expect(alerts).toHaveLength(40);
  });

  it("what keeps failing is dead-lettered with the reason; replay then delivers it exactly once more", async () => {
    const { la, deadLetters } = sink();
    ingestion.inject({ kind: "status", status: 500 }, { stream: "Custom-SecurityNestedRecommendation_CL", times: 100 });
    ingestion.inject({ kind: "status", status: 413 }, { stream: "Custom-SecureScores_CL", times: 100 });
    const inputs = mixed();
    for (const i of inputs) await la.write(i);
    const report = await la.flush();
    expect(report.sent + report.deadLettered).toBe(inputs.length);
    expect(report.deadLettered).toBe(51);
    const letters = await lettersOf(deadLetters);
    expect(letters.map((l) => l.reason).sort()).toEqual([expect.stringMatching(/^HTTP 413/), expect.stringMatching(/^HTTP 500/)]);
    expect(letters.flatMap((l) => l.items.map((i) => i.route)).filter((r) => r === "Custom-SecurityNestedRecommendation_CL")).toHaveLength(50);
    // A 500 is tried every time; a 413 refuses the rows themselves, so it is not tried again.
    expect(letters.every((l) => l.actionKey === la.actionKey)).toBe(true);
    expect(letters.find((l) => /^HTTP 500/.test(l.reason))!.attempts).toBe(FAST.attempts);
    expect(letters.find((l) => /^HTTP 413/.test(l.reason))!.attempts).toBe(1);

    // The service recovers: replay sends the dead letters, and only them, once.
    ingestion.clearFaults();
    const before = [...ingestion.accepted.values()].flat().length;
    const replay = await replayDeadLetters(deadLetters, [la]);
    expect(replay).toEqual({ letters: 2, resent: 51, failed: 0, skipped: 0 });
    expect([...ingestion.accepted.values()].flat().length - before).toBe(51);
    expect(ingestion.accepted.get("Custom-SecurityNestedRecommendation_CL")).toHaveLength(50);
    expect(ingestion.accepted.get("Custom-SecureScores_CL")).toHaveLength(1);
    expect(await letterCount(deadLetters)).toBe(0);
    expect(await replayDeadLetters(deadLetters, [la])).toEqual({ letters: 0, resent: 0, failed: 0, skipped: 0 });
  });

  it("sends rows as serialized once, in requests under the limit however many are resent; dead letters keep only the payload", async () => {
    const { la, deadLetters } = sink();
    const big = (i: number) => {
      const a = dataset.alert(i);
      return { ...a, properties: { ...(a["properties"] as object), description: `${i} ${"d".repeat(9_000)}` } };
    };
    ingestion.inject({ kind: "status", status: 500 }, { stream: "Custom-SecurityAlert_CL", times: 1_000 });
    for (let i = 0; i < 300; i++) await la.write(input(big(i), "Alerts"));
    expect(await la.flush()).toMatchObject({ sent: 0, deadLettered: 300 });
    const items = (await lettersOf(deadLetters)).flatMap((l) => l.items);
    expect(items).toHaveLength(300);
    expect(items.every((i) => !("json" in i))).toBe(true);

    ingestion.clearFaults();
    ingestion.requests.length = 0;
    // 2.7 MB of rows in one resend: the SDK split such a call; the sink now does.
    expect(await la.resend(items)).toEqual({ failed: [] });
    const least = Math.ceil(items.reduce((n, i) => n + jsonBytes(i.payload) + 1, 0) / 1_000_000);
    expect(least).toBeGreaterThan(1);
    expect(ingestion.requests.length).toBeGreaterThanOrEqual(least);
    expect(ingestion.requests.length).toBeLessThanOrEqual(least + 1);
    for (const r of ingestion.requests) expect(r.inflatedBytes).toBeLessThanOrEqual(1_000_000);
    expect(ingestion.accepted.get("Custom-SecurityAlert_CL")!.map((r) => r["Description"])).toEqual(items.map((i) => i.payload["Description"]));
  });
});
