import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { EventHubAction } from "../../src/config/model.js";
import { EventHubSink, partitionIndex } from "../../src/destinations/event-hubs.js";
import { replayDeadLetters } from "../../src/destinations/replay.js";
import { jsonBytes } from "../../src/mapping/cut.js";
import { toEvent } from "../../src/mapping/eventhub.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startFakeEventHubs, type FakeEventHubs } from "../../dev/fakes/eventhubs.js";
import { staticCredential } from "../helpers/arm.js";
import { FAST, lettersOf, SDK_FAST, storage, letterCount } from "../helpers/destinations.js";
import { input } from "../helpers/mapping.js";

let azurite: Azurite;
let hubs: FakeEventHubs;
let run = 0;
const MAX = 64 * 1024;
beforeAll(async () => {
  azurite = await startAzurite();
  hubs = await startFakeEventHubs({ hubs: ["defender", "alerts", "recommendations"], partitionCount: 4, maxMessageSize: MAX });
}, 30_000);
afterAll(async () => {
  await hubs.close();
  await azurite.stop();
});
beforeEach(() => {
  hubs.clearFaults();
  hubs.events.length = 0;
  hubs.deliveries.length = 0;
  run++;
});

function action(extra: Record<string, unknown> = {}): EventHubAction {
  const result = parseExportConfiguration(
    { sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "EventHub", connectionString: hubs.connectionString("defender"), ...extra }] },
    { allowedDestinations: { trustedHosts: [`localhost:${hubs.port}`] } },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.configuration.actions[0] as EventHubAction;
}

function sink(extra: Record<string, unknown> = {}) {
  const s = storage(azurite, `eh${run}`);
  const eh = new EventHubSink(action(extra), {
    credential: staticCredential(),
    deadLetters: s.deadLetters,
    allowedDestinations: { trustedHosts: [`localhost:${hubs.port}`] },
    retry: FAST,
    sdkRetryOptions: { ...SDK_FAST, timeoutInMs: 3000 },
  });
  return { eh, ...s };
}

const dataset = new SyntheticDataset({ alerts: 300, assessments: 60, resourceGroups: ["rg1", "rg2", "rg3"] });

describe("Event Hubs through @azure/event-hubs", () => {
  it("delivers the default shapes, every resource's events in one partition and in order", async () => {
    const { eh } = sink();
    const inputs = [
      ...Array.from({ length: 60 }, (_, i) => input(dataset.assessment(i), "Assessments")),
      ...Array.from({ length: 60 }, (_, i) => input(dataset.assessment(i), "Assessments", { action: "Remove" })),
      ...Array.from({ length: 20 }, (_, i) => input(dataset.alert(i), "Alerts")),
    ];
    for (const i of inputs) await eh.write(i);
    const report = await eh.flush();
    await eh.close();
    expect(report).toMatchObject({ sent: inputs.length, deadLettered: 0 });
    expect(hubs.events).toHaveLength(inputs.length);
    expect(hubs.events.filter((e) => (e.body as { SystemAlertId?: string }).SystemAlertId !== undefined)).toHaveLength(20);
    // Same resource, same partition; its Insert comes before its Delete.
    const byResource = new Map<string, { partition: string; actions: string[] }>();
    for (const e of hubs.events) {
      const body = e.body as { properties?: { resourceDetails?: { id: string } }; assessmentEventDataEnrichment?: { action: string } };
      if (body.assessmentEventDataEnrichment === undefined) continue;
      const key = body.properties!.resourceDetails!.id + "|" + JSON.stringify(body.properties);
      const entry = byResource.get(key) ?? { partition: e.partitionId, actions: [] };
      expect(entry.partition).toBe(e.partitionId);
      entry.actions.push(body.assessmentEventDataEnrichment.action);
      byResource.set(key, entry);
    }
    for (const { actions } of byResource.values()) expect(actions).toEqual(["Insert", "Delete"]);
    const expectedPartition = String(partitionIndex(toEvent(inputs[0]!).partitionKey, 4));
    expect(hubs.events.find((e) => JSON.stringify(e.body).includes(String(inputs[0]!.record["id"])))!.partitionId).toBe(expectedPartition);
  });

  it("spreads resources evenly over partitions, each always to the same one", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[partitionIndex(`/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm${i}`, 4)]!++;
    for (const c of counts) expect(Math.abs(c - 2500)).toBeLessThan(250);
    expect(partitionIndex("/a/b", 32)).toBe(partitionIndex("/a/b", 32));
  });

  it("fills batches to the hub's advertised maximum", async () => {
    const { eh } = sink();
    for (let i = 0; i < 300; i++) await eh.write(input(dataset.alert(i), "Alerts"));
    await eh.flush();
    await eh.close();
    expect(hubs.events).toHaveLength(300);
    const full = eh.batchFill;
    expect(full.count).toBeGreaterThan(4);
    expect(full.least).toBeGreaterThanOrEqual(0.9);
    for (const d of hubs.deliveries) expect(d.bytes).toBeLessThanOrEqual(MAX);
  });

  it("cuts an event over the hub's limit instead of losing it", async () => {
    const { eh } = sink();
    const a = dataset.alert(0);
    const huge = { ...a, properties: { ...(a["properties"] as object), extendedProperties: { "Command Line": "x".repeat(200_000), "Compromised Host": "vm0" } } };
    await eh.write(input(huge, "Alerts"));
    const report = await eh.flush();
    await eh.close();
    expect(report).toMatchObject({ sent: 1, cut: 1 });
    const body = hubs.events[0]!.body as Record<string, unknown>;
    expect(jsonBytes(body)).toBeLessThan(MAX);
    expect(body).toMatchObject({ IsTruncated: true, TruncatedFields: ["ExtendedProperties"], ExtendedProperties: { "Compromised Host": "vm0" } });
  });

  it("recovers from server-busy, quota exceeded and a dropped connection", async () => {
    const { eh } = sink();
    hubs.fail("com.microsoft:server-busy", 2);
    hubs.fail("amqp:resource-limit-exceeded", 1);
    hubs.fail("drop-connection", 1);
    for (let i = 0; i < 120; i++) await eh.write(input(dataset.alert(i), "Alerts"));
    const report = await eh.flush();
    await eh.close();
    expect(report).toMatchObject({ sent: 120, deadLettered: 0 });
    expect(new Set(hubs.events.map((e) => (e.body as { SystemAlertId: string }).SystemAlertId)).size).toBe(120);
    expect(hubs.deliveries.map((d) => d.outcome)).toEqual(expect.arrayContaining(["com.microsoft:server-busy", "amqp:resource-limit-exceeded", "drop-connection"]));
  }, 60_000);

  it("dead-letters what keeps failing, without the connection string; replay delivers it exactly once more", async () => {
    const { eh, deadLetters, deadLetterContainer } = sink();
    hubs.fail("amqp:resource-limit-exceeded", 100);
    for (let i = 0; i < 10; i++) await eh.write(input(dataset.alert(i), "Alerts"));
    const report = await eh.flush();
    expect(report).toMatchObject({ sent: 0, deadLettered: 10 });
    const letters = await lettersOf(deadLetters);
    expect(letters.flatMap((l) => l.items)).toHaveLength(10);
    expect(letters[0]!.reason).toMatch(/QuotaExceeded|resource-limit/i);
    for await (const blob of deadLetterContainer.listBlobsFlat()) {
      const text = (await deadLetterContainer.getBlobClient(blob.name).downloadToBuffer()).toString("utf8");
      expect(text).not.toContain("fakekey");
      expect(text).not.toContain("SharedAccessKey");
    }
    hubs.deliveries.length = 0;
    hubs.clearFaults();
    const replay = await replayDeadLetters(deadLetters, [eh]);
    await eh.close();
    expect(replay).toMatchObject({ resent: 10, failed: 0 });
    expect(hubs.events).toHaveLength(10);
    expect(await letterCount(deadLetters)).toBe(0);
  }, 60_000);

  it("xdr: many records per message in the Defender XDR envelope, one hub per event type", async () => {
    const { eh } = sink({ format: "xdr", eventHubNames: { SecurityAlert: "alerts", SecurityRecommendation: "recommendations" } });
    for (let i = 0; i < 50; i++) await eh.write(input(dataset.alert(i), "Alerts"));
    for (let i = 0; i < 30; i++) await eh.write(input(dataset.assessment(i), "Assessments"));
    await eh.flush();
    await eh.close();
    const alerts = hubs.events.filter((e) => e.hub === "alerts");
    expect(alerts.length).toBeLessThan(50);
    const records = alerts.flatMap((e) => (e.body as { records: { category: string; properties: unknown }[] }).records);
    expect(records).toHaveLength(50);
    expect(records.every((r) => r.category === "SecurityAlert")).toBe(true);
    expect(hubs.events.filter((e) => e.hub === "recommendations").flatMap((e) => (e.body as { records: unknown[] }).records)).toHaveLength(30);
  });

  it("resend refuses an event that does not fit an empty batch instead of counting it sent", async () => {
    for (const format of ["defender", "xdr"]) {
      const { eh } = sink({ format });
      const big = { id: "big", route: "defender", partitionKey: "/r/big", payload: { text: "x".repeat(MAX * 2) } };
      const small = { id: "small", route: "defender", partitionKey: "/r/big", payload: { text: "small" } };
      const resent = await eh.resend([big, small]);
      await eh.close();
      expect(
        resent.failed.map((i) => i.id),
        format,
      ).toEqual(["big"]);
      expect(resent.reason, format).toMatch(/does not fit an empty batch/);
      expect(JSON.stringify(hubs.events.map((e) => e.body)), format).toContain('"small"');
      expect(JSON.stringify(hubs.events.map((e) => e.body)), format).not.toContain("xxxxxxxx");
      hubs.events.length = 0;
    }
  });

  it("refuses a connection string from a setting that points elsewhere, in the same words as a setting that is not there", () => {
    const bad = { ...action(), connectionString: undefined, connectionStringSetting: "DEFENDER_EXPORT_DEST_EH" };
    const refusal = (settings: Record<string, string>, trustedHosts: string[] = []) => {
      try {
        new EventHubSink(bad, { credential: staticCredential(), deadLetters: storage(azurite, "x").deadLetters, allowedDestinations: { trustedHosts }, destinationAppSettings: settings });
      } catch (e) {
        return (e as Error).message;
      }
      return "accepted";
    };
    const elsewhere = refusal({ DEFENDER_EXPORT_DEST_EH: "Endpoint=sb://attacker.example.com/;SharedAccessKeyName=k;SharedAccessKey=v;EntityPath=h" });
    expect(elsewhere).toMatch(/^the app setting DEFENDER_EXPORT_DEST_EH \(connectionStringSetting\) is not set, or does not hold an Event Hubs connection string/);
    expect(elsewhere).not.toContain("attacker");
    // Missing, malformed or elsewhere: one answer, so that it tells nothing about what the setting holds.
    expect(refusal({})).toBe(elsewhere);
    expect(refusal({ DEFENDER_EXPORT_DEST_EH: "not a connection string" })).toBe(elsewhere);
    // Read as plain AMQP here but as TLS by the SDK (which takes only "true"): the same words, and no host.
    const twoReadings = `Endpoint=sb://localhost:${hubs.port};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=yes;EntityPath=defender`;
    expect(refusal({ DEFENDER_EXPORT_DEST_EH: twoReadings }, [`localhost:${hubs.port}`])).toBe(elsewhere);
    // A setting outside the prefix set aside for destinations is not read at all, even when it exists.
    const other = { ...bad, connectionStringSetting: "AzureWebJobsStorage" };
    expect(
      () =>
        new EventHubSink(other, {
          credential: staticCredential(),
          deadLetters: storage(azurite, "x").deadLetters,
          allowedDestinations: { trustedHosts: [`localhost:${hubs.port}`] },
          destinationAppSettings: { AzureWebJobsStorage: hubs.connectionString("defender") },
        }),
    ).toThrow(/the app setting AzureWebJobsStorage \(connectionStringSetting\) is not set, or does not hold/);
  });
});
