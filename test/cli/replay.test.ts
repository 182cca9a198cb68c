import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { EventHubAction } from "../../src/config/model.js";
import { BlobDeadLetterStore, DEAD_LETTER_CONTAINER } from "../../src/destinations/dead-letter.js";
import { EventHubSink } from "../../src/destinations/event-hubs.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startFakeEventHubs, type FakeEventHubs } from "../../dev/fakes/eventhubs.js";
import { staticCredential } from "../helpers/arm.js";
import { FAST, SDK_FAST, letterCount } from "../helpers/destinations.js";
import { runBin } from "../helpers/bin.js";
import { input } from "../helpers/mapping.js";

let azurite: Azurite;
let hubs: FakeEventHubs;
beforeAll(async () => {
  azurite = await startAzurite();
  hubs = await startFakeEventHubs({ hubs: ["defender"] });
}, 30_000);
afterAll(async () => {
  await hubs.close();
  await azurite.stop();
});

describe("defender-export replay", () => {
  it("sends the dead letters of the configuration's actions again, once, and removes them", async () => {
    const trusted = `localhost:${hubs.port}`;
    const config = { sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "EventHub", connectionString: hubs.connectionString("defender") }] };
    const parsed = parseExportConfiguration(config, { allowedDestinations: { trustedHosts: [trusted] } });
    if (!parsed.ok) throw new Error("config");
    const store = new BlobDeadLetterStore(BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(DEAD_LETTER_CONTAINER));
    const sink = new EventHubSink(parsed.configuration.actions[0] as EventHubAction, {
      credential: staticCredential(),
      deadLetters: store,
      allowedDestinations: { trustedHosts: [trusted] },
      retry: FAST,
      sdkRetryOptions: SDK_FAST,
    });
    hubs.fail("amqp:resource-limit-exceeded", 50);
    const dataset = new SyntheticDataset({ alerts: 7 });
    for (let i = 0; i < 7; i++) await sink.write(input(dataset.alert(i), "Alerts"));
    expect(await sink.flush()).toMatchObject({ deadLettered: 7 });
    await sink.close();
    hubs.clearFaults();
    hubs.events.length = 0;
    const letters = await letterCount(store);
    expect(letters).toBeGreaterThan(0);

    const dir = mkdtempSync(join(tmpdir(), "defender-export-replay-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const env = { DEFENDER_EXPORT_STORAGE: azurite.connectionString, DEFENDER_EXPORT_TRUSTED_HOSTS: trusted };
    const run = await runBin(["replay", "--config", join(dir, "config.json")], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ letters, resent: 7, failed: 0, skipped: 0 });
    expect(hubs.events).toHaveLength(7);
    expect(await letterCount(store)).toBe(0);
    expect(run.stdout + run.stderr).not.toContain("fakekey");

    // A connection string with only a Blob endpoint (all replay needs) is enough: no queue or table client is made.
    const blobOnly = azurite.connectionString
      .split(";")
      .filter((p) => !/^(QueueEndpoint|TableEndpoint)=/.test(p))
      .join(";");
    const again = await runBin(["replay", "--config", join(dir, "config.json")], { ...env, DEFENDER_EXPORT_STORAGE: blobOnly });
    expect(again.stderr).toBe("");
    expect(JSON.parse(again.stdout)).toEqual({ letters: 0, resent: 0, failed: 0, skipped: 0 });
    expect(hubs.events).toHaveLength(7);

    // Storage that cannot be reached is named by its setting, never its value.
    const closed = blobOnly.replace(/BlobEndpoint=http:\/\/[^/;]+/, "BlobEndpoint=http://127.0.0.1:9");
    const down = await runBin(["replay", "--config", join(dir, "config.json")], { ...env, DEFENDER_EXPORT_STORAGE: closed });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: DEFENDER_EXPORT_STORAGE: the storage account cannot be used: .*ECONNREFUSED/);
    expect(down.stderr).not.toContain("AccountKey");
  }, 60_000);
});
