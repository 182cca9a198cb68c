import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { EventHubAction, WorkspaceAction } from "../../src/config/model.js";
import { EventHubSink } from "../../src/destinations/event-hubs.js";
import { LogAnalyticsSink } from "../../src/destinations/log-analytics.js";
import { previewFor } from "../../src/destinations/preview.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startFakeEventHubs, type FakeEventHubs } from "../../dev/fakes/eventhubs.js";
import { startFakeLogsIngestion, type FakeLogsIngestion } from "../../dev/fakes/logs-ingestion.js";
import { staticCredential } from "../helpers/arm.js";
import { declaredStreams, FAST, RULE_ID, SDK_FAST, storage } from "../helpers/destinations.js";
import { input } from "../helpers/mapping.js";

// Preview shows exactly what would be sent: the same record, through the real sink to its fake, and through
// preview, gives the same row and the same message, cut alike.

let azurite: Azurite;
let ingestion: FakeLogsIngestion;
let hubs: FakeEventHubs;
const MAX = 64 * 1024;
beforeAll(async () => {
  [azurite, ingestion, hubs] = await Promise.all([startAzurite(), startFakeLogsIngestion({ ruleId: RULE_ID, streams: declaredStreams() }), startFakeEventHubs({ hubs: ["h"], maxMessageSize: MAX })]);
}, 30_000);
afterAll(async () => {
  await Promise.all([ingestion.close(), hubs.close(), azurite.stop()]);
});

const dataset = new SyntheticDataset({ alerts: 3, assessments: 3, subAssessments: 3 });
const big = (record: Record<string, unknown>, bytes: number) => ({ ...record, properties: { ...(record["properties"] as object), description: "d".repeat(bytes) } });

function action<T>(raw: Record<string, unknown>, trusted: string): T {
  const parsed = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], actions: [raw] }, { allowedDestinations: { trustedHosts: [trusted] } });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.configuration.actions[0] as T;
}

describe("preview", () => {
  it("Log Analytics: the row the sink sends, cut to 32 KB, with the OverflowBlob it names", async () => {
    const trusted = new URL(ingestion.url).host;
    const workspace = action<WorkspaceAction>({ actionType: "Workspace", dataCollectionEndpoint: ingestion.url, dataCollectionRuleId: RULE_ID }, trusted);
    const s = storage(azurite, "preview-la");
    const sink = new LogAnalyticsSink(workspace, {
      credential: staticCredential(),
      deadLetters: s.deadLetters,
      overflow: s.overflow,
      allowedDestinations: { trustedHosts: [trusted] },
      retry: FAST,
      tlsCa: ingestion.ca,
      sdkRetryOptions: SDK_FAST,
    });
    const inputs = [input(big(dataset.alert(0), 40_000), "Alerts"), input(dataset.alert(1), "Alerts")];
    for (const i of inputs) await sink.write(i);
    expect(await sink.flush()).toMatchObject({ sent: 2, cut: 1 });
    const sent = ingestion.accepted.get("Custom-SecurityAlert_CL")!;
    const previewed = inputs.map((i) => previewFor(i, workspace, { overflowContainer: s.overflow.containerName }));
    expect(previewed.map((p) => ("row" in p ? p.row : p))).toEqual(sent);
    expect(sent[0]!["IsTruncated"]).toBe(true);
    expect(sent[0]!["OverflowBlob"]).toMatch(/^preview-la-overflow\//);
  });

  it("Event Hubs: the message the sink sends, in the action's format and findings shape, cut to the hub's limit", async () => {
    const trusted = `localhost:${hubs.port}`;
    for (const shape of [{ findingsShape: "pascal" }, { format: "xdr" }, {}]) {
      hubs.events.length = 0;
      const hub = action<EventHubAction>({ actionType: "EventHub", connectionString: hubs.connectionString("h"), ...shape }, trusted);
      const s = storage(azurite, "preview-eh");
      const sink = new EventHubSink(hub, {
        credential: staticCredential(),
        deadLetters: s.deadLetters,
        allowedDestinations: { trustedHosts: [trusted] },
        retry: FAST,
        sdkRetryOptions: { ...SDK_FAST, timeoutInMs: 3000 },
      });
      const inputs = [input(big(dataset.subAssessment(0), 80_000), "SubAssessments"), input(dataset.alert(2), "Alerts")];
      for (const i of inputs) await sink.write(i);
      expect((await sink.flush()).sent, JSON.stringify(shape)).toBe(2);
      await sink.close();
      const previewed = inputs.map((i) => previewFor(i, hub, { maxMessageSize: MAX }));
      const bodies = previewed.map((p) => ("event" in p ? p.event : p));
      const received = hubs.events.flatMap((e) => (shape.format === "xdr" ? (e.body as { records: unknown[] }).records : [e.body]));
      expect(received, JSON.stringify(shape)).toEqual(expect.arrayContaining(bodies));
      expect(received).toHaveLength(2);
      expect(previewed.some((p) => "cut" in p && p.cut.length > 0)).toBe(true);
    }
  }, 60_000);

  it("a Basic hub's smaller limit, when given: a message that fits a Standard hub is cut to 256 KB", () => {
    const hub: EventHubAction = { actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net", eventHubName: "h" };
    const record = input(big(dataset.alert(0), 400_000), "Alerts");
    const standard = previewFor(record, hub);
    const basic = previewFor(record, hub, { maxMessageSize: 262_144 });
    expect("cut" in standard && standard.cut).toEqual([]);
    expect("cut" in basic && basic.cut.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(JSON.stringify("event" in basic ? basic.event : {}))).toBeLessThanOrEqual(262_144 - 512);
  });
});
