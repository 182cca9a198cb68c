import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExportService } from "../../src/hosting/service.js";
import { readAppSettings } from "../../src/hosting/settings.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startProxy } from "../faults/proxy.js";
import { staticCredential } from "../helpers/arm.js";

// Storage unreachable at cold start, beyond the SDK's retries: the containers the passes need could not be
// made. That failure must not be remembered: the next call makes them, and health says so meanwhile.

let azurite: Azurite;
let proxy: Awaited<ReturnType<typeof startProxy>>;
beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await startProxy(Number(new URL(azurite.blobUrl).port));
}, 30_000);
afterAll(async () => {
  await proxy.close();
  await azurite.stop();
});

describe("a storage blip at cold start", () => {
  it("is not remembered: the state and dead-letter containers are made at the next call, and health fails only while it lasts", async () => {
    const blobThroughProxy = azurite.connectionString.replace(`127.0.0.1:${new URL(azurite.blobUrl).port}`, `127.0.0.1:${proxy.port}`);
    // The SDK's own retries, cut short: one try, as if they had all been spent.
    const retryOptions = { maxTries: 1, tryTimeoutInMs: 2_000 };
    const storage = {
      blob: BlobServiceClient.fromConnectionString(blobThroughProxy, { retryOptions }),
      queue: QueueServiceClient.fromConnectionString(azurite.connectionString),
      table: (name: string) => TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true }),
      description: "Azurite through a proxy",
      setting: "DEFENDER_EXPORT_STORAGE",
    };
    const service = new ExportService({ storage, settings: readAppSettings({ DEFENDER_EXPORT_QUEUE: "blip" }), credential: staticCredential() });
    const key = { configuration: "blip", scope: "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23", eventSource: "Alerts" as const };
    const letter = { actionKey: "webhook-0123456789abcdef", destination: "d", reason: "r", attempts: 1, items: [{ id: "1", route: "webhook", payload: { a: 1 } }] };

    proxy.down();
    await expect(service.state.load(key)).rejects.toThrow();
    await expect(service.deadLetters.put(letter)).rejects.toThrow();
    expect((await service.health()).checks["storage"]).toMatch(/^unreachable \(DEFENDER_EXPORT_STORAGE\): /);

    await proxy.up();
    expect((await service.state.load(key)).etag).toBeUndefined();
    expect(await service.deadLetters.put(letter)).toMatch(/\.json$/);
    expect(await service.health()).toMatchObject({ ok: true, checks: { storage: "ok" } });
  });
});
