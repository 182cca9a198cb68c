import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { StorageAccountAction } from "../../src/config/model.js";
import { BlobSink } from "../../src/destinations/blob.js";
import { createSink } from "../../src/destinations/factory.js";
import { replayDeadLetters } from "../../src/destinations/replay.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { staticCredential } from "../helpers/arm.js";
import { FAST, SDK_FAST, storage } from "../helpers/destinations.js";
import { EXPORTED_AT, input } from "../helpers/mapping.js";

let azurite: Azurite;
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(async () => {
  await azurite.stop();
});

// Azurite's blob endpoint (plain http, path-style) and the unreachable one, as an operator would trust a local emulator.
const trusted = () => ({ trustedHosts: [new URL(azurite.blobUrl).host, "127.0.0.1:9"] });

function action(): StorageAccountAction {
  const result = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "StorageAccount", connectionStringSetting: "DEFENDER_EXPORT_DEST_EXPORT_STORAGE" }] });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.configuration.actions[0] as StorageAccountAction;
}

async function linesIn(service: BlobServiceClient, container: string): Promise<{ name: string; records: Record<string, unknown>[] }[]> {
  const client = service.getContainerClient(container);
  const out = [];
  for await (const blob of client.listBlobsFlat()) {
    const text = (await client.getBlobClient(blob.name).downloadToBuffer()).toString("utf8");
    out.push({
      name: blob.name,
      records: text
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    });
  }
  return out;
}

describe("Blob storage destination", () => {
  const dataset = new SyntheticDataset({ alerts: 200, assessments: 20 });

  it("writes a container per event type, JSON lines of XDR records, blobs by date and hour", async () => {
    const { deadLetters, service } = storage(azurite, "blob1");
    const sink = new BlobSink(action(), {
      credential: staticCredential(),
      deadLetters,
      allowedDestinations: trusted(),
      destinationAppSettings: { DEFENDER_EXPORT_DEST_EXPORT_STORAGE: azurite.connectionString },
      retry: FAST,
    });
    for (let i = 0; i < 30; i++) await sink.write(input(dataset.alert(i), "Alerts"));
    for (let i = 0; i < 20; i++) await sink.write(input(dataset.assessment(i), "AssessmentsSnapshot"));
    expect(await sink.flush()).toMatchObject({ sent: 50, deadLettered: 0 });
    const alerts = await linesIn(service, "defender-securityalert");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.name).toMatch(/^y=2026\/m=11\/d=22\/h=10\/.+\.json$/);
    expect(alerts[0]!.records).toHaveLength(30);
    expect(alerts[0]!.records[0]).toEqual({ time: EXPORTED_AT, tenantId: expect.any(String), category: "SecurityAlert", properties: dataset.alert(0) });
    expect((await linesIn(service, "defender-securityrecommendation"))[0]!.records).toHaveLength(20);
  });

  it("dead-letters when storage is unreachable, and replay writes the batch once", async () => {
    const { deadLetters, service } = storage(azurite, "blob2");
    const unreachable =
      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;";
    const broken = new BlobSink(action(), {
      credential: staticCredential(),
      deadLetters,
      allowedDestinations: trusted(),
      destinationAppSettings: { DEFENDER_EXPORT_DEST_EXPORT_STORAGE: unreachable },
      retry: FAST,
      sdkRetryOptions: { maxRetries: 0 },
    });
    const ids = [100, 101, 102, 103, 104];
    for (const i of ids) await broken.write(input(dataset.alert(i), "Alerts"));
    const report = await broken.flush();
    expect(report).toMatchObject({ sent: 0, deadLettered: 5 });
    expect(report.failures[0]).not.toContain("AccountKey");
    const healthy = new BlobSink(action(), {
      credential: staticCredential(),
      deadLetters,
      allowedDestinations: trusted(),
      destinationAppSettings: { DEFENDER_EXPORT_DEST_EXPORT_STORAGE: azurite.connectionString },
      retry: FAST,
    });
    expect(healthy.actionKey).toBe(broken.actionKey);
    expect(await replayDeadLetters(deadLetters, [healthy])).toMatchObject({ resent: 5, failed: 0 });
    const written = (await linesIn(service, "defender-securityalert")).flatMap((b) => b.records).map((r) => (r["properties"] as { name: string }).name);
    for (const i of ids)
      expect(
        written.filter((n) => n === dataset.alert(i)["name"]),
        `alert ${i}`,
      ).toHaveLength(1);
  }, 30_000);

  it("takes the SDK retry options every sink takes from createSink, as tries in all", async () => {
    let requests = 0;
    const busy = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const host = `127.0.0.1:${(busy.address() as AddressInfo).port}`;
    try {
      const connection = azurite.connectionString.replace(/BlobEndpoint=[^;]+/, `BlobEndpoint=http://${host}/devstoreaccount1`);
      const { deadLetters } = storage(azurite, "blob3");
      const sink = createSink(action(), {
        credential: staticCredential(),
        deadLetters,
        allowedDestinations: { trustedHosts: [host] },
        destinationAppSettings: { DEFENDER_EXPORT_DEST_EXPORT_STORAGE: connection },
        retry: FAST,
        sdkRetryOptions: { ...SDK_FAST, maxRetries: 1 },
      });
      await sink.write(input(dataset.alert(0), "Alerts"));
      expect(await sink.flush()).toMatchObject({ sent: 0, deadLettered: 1, requests: FAST.attempts });
      // Each of our attempts is the storage SDK's two tries (one retry).
      expect(requests).toBe(FAST.attempts * 2);
    } finally {
      busy.close();
    }
  }, 15_000);

  it("accepts only Blob storage hosts for managed identity", () => {
    const bad = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "StorageAccount", blobServiceUrl: "https://evil.example.com" }] });
    expect(!bad.ok && bad.errors[0]).toEqual({ path: "$.actions[0].blobServiceUrl", message: expect.stringMatching(/has a host that is not <account>\.blob\.core\.windows\.net/) });
    expect(parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "StorageAccount", blobServiceUrl: "https://acct.blob.core.windows.net/" }] }).ok).toBe(true);
    // A SAS connection string in a setting: the SAS rides in the client's URL; the endpoint is what is checked.
    const sas = "BlobEndpoint=https://contosoarchive.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=co&sp=cw&sig=abc";
    const options = { credential: staticCredential(), deadLetters: storage(azurite, "sas").deadLetters, allowedDestinations: { trustedHosts: [] } };
    expect(new BlobSink(action(), { ...options, destinationAppSettings: { DEFENDER_EXPORT_DEST_EXPORT_STORAGE: sas } }).description).toBe("Blob storage contosoarchive.blob.core.windows.net");
    const elsewhere = sas.replace("contosoarchive.blob.core.windows.net", "contosoarchive.blob.core.windows.net.evil.example");
    expect(() => new BlobSink(action(), { ...options, destinationAppSettings: { DEFENDER_EXPORT_DEST_EXPORT_STORAGE: elsewhere } })).toThrow(/does not hold a Blob storage connection string/);
  });
});
