import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startFakeArm, type FakeArmServer } from "../../dev/fakes/arm/server.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { ArmReader } from "../../src/sources/reader.js";
import { GraphQuota } from "../../src/sources/resource-graph.js";
import { ExportContext } from "../../src/hosting/context.js";
import { readAppSettings } from "../../src/hosting/settings.js";
import { storageClients } from "../../src/hosting/storage.js";
import { BlobGraphQuota, GRAPH_QUOTA_CONTAINER, graphQuotaBlobName } from "../../src/state/graph-quota-bucket.js";
import { collect, FAST_RETRIES, staticCredential } from "../helpers/arm.js";

// Four instances of three pages each against a quota of 6 per second: two windows' worth, sent at once.
const QUOTA = { queries: 6, windowMs: 1000 };
const PAGE_ROWS = 4;
const dataset = new SyntheticDataset({ attackPaths: 12 });
const SUB = dataset.subscriptionPath;
let azurite: Azurite;
let container: ContainerClient;
let blobs = 0;

beforeAll(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("graph-quota");
});
afterAll(async () => {
  await azurite.stop();
});

const credential = staticCredential();
const readerOf = (fake: FakeArmServer, quota: GraphQuota) => new ArmReader({ credential, endpoint: fake.url, tlsCa: fake.ca, retryOptions: FAST_RETRIES, pageRows: PAGE_ROWS, graphQuota: quota });
const statuses = (fake: FakeArmServer) => fake.requests.map((q) => q.status);

/** An instance in a child process, started and waiting for "go". */
async function childInstance(fake: FakeArmServer, blob: string) {
  const args = { url: fake.url, ca: fake.ca, storage: azurite.connectionString, container: container.containerName, blob, scope: SUB, ...QUOTA, pageRows: PAGE_ROWS };
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./graph-quota-child.ts", import.meta.url)), JSON.stringify(args)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  expect((await lines.next()).value).toBe("ready");
  return {
    go: async () => {
      child.stdin.write("go\n");
      const line = (await lines.next()).value as string;
      return JSON.parse(line) as { records: number };
    },
  };
}

describe("Resource Graph's quota shared by the app's instances through storage", () => {
  it("instances reading at once, one in a process of its own, all complete and none is throttled", async () => {
    const fake = await startFakeArm({ dataset, resourceGraph: { quota: QUOTA } });
    try {
      const blob = `shared-${++blobs}.json`;
      const child = await childInstance(fake, blob);
      const quotas = Array.from({ length: 3 }, () => new GraphQuota({ jitterMs: 20, shared: new BlobGraphQuota(container, blob, QUOTA) }));
      const [fromChild, ...reads] = await Promise.all([child.go(), ...quotas.map((q) => collect(readerOf(fake, q).list(SUB, "attackPath")))]);
      expect(fromChild).toEqual({ records: 12 });
      expect(reads.map((r) => r.length)).toEqual([12, 12, 12]);
      expect(statuses(fake).filter((s) => s === 429)).toEqual([]);
      expect(statuses(fake).filter((s) => s === 200)).toHaveLength(12);
      expect(quotas.reduce((sum, q) => sum + q.waitedMs, 0)).toBeGreaterThan(0);
      expect(quotas.every((q) => q.sharedFailures === 0)).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it("the same instances counting alone are throttled (and wait the 429s out): the shared quota is what spares them", async () => {
    const fake = await startFakeArm({ dataset, resourceGraph: { quota: QUOTA } });
    try {
      const quotas = Array.from({ length: 4 }, () => new GraphQuota({ jitterMs: 20 }));
      const reads = await Promise.all(quotas.map((q) => collect(readerOf(fake, q).list(SUB, "attackPath"))));
      expect(reads.map((r) => r.length)).toEqual([12, 12, 12, 12]);
      expect(statuses(fake).filter((s) => s === 429).length).toBeGreaterThan(0);
      expect(statuses(fake).filter((s) => s === 200)).toHaveLength(12);
    } finally {
      await fake.close();
    }
  });

  it("storage that cannot be reached: the read completes on the process's own count, and says so once", async () => {
    const fake = await startFakeArm({ dataset, resourceGraph: { quota: QUOTA } });
    try {
      // Nothing listens on port 9 (discard) here: every storage call fails, retried by the SDK until the timeout.
      const down = new BlobServiceClient("http://127.0.0.1:9/devstoreaccount1").getContainerClient("graph-quota");
      const told: Error[] = [];
      const quota = new GraphQuota({ jitterMs: 20, shared: new BlobGraphQuota(down, "down.json", { ...QUOTA, timeoutMs: 300 }), onSharedUnavailable: (e) => told.push(e) });
      const started = Date.now();
      const reads = await Promise.all([0, 1, 2, 3].map(() => collect(readerOf(fake, quota).list(SUB, "attackPath"))));
      expect(reads.map((r) => r.length)).toEqual([12, 12, 12, 12]);
      expect(statuses(fake).filter((s) => s === 429)).toEqual([]);
      expect(quota.sharedFailures).toBe(1);
      expect(told).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await fake.close();
    }
  });

  it("the app's context shares it through its storage account, sized by DEFENDER_EXPORT_GRAPH_QUOTA, in a blob named by a hash of the endpoint and identity", async () => {
    const fake = await startFakeArm({ dataset, resourceGraph: { quota: QUOTA } });
    try {
      const settings = readAppSettings({ AzureWebJobsStorage: azurite.connectionString, ARM_ENDPOINT: fake.url, DEFENDER_EXPORT_GRAPH_QUOTA: "6/1" });
      expect(settings.graphQuota).toEqual(QUOTA);
      const context = () => new ExportContext({ storage: storageClients(settings.storage, credential), settings, credential, tlsCa: fake.ca });
      const reads = await Promise.all([context(), context()].map((c) => collect(c.reader().list(SUB, "attackPath"))));
      expect(reads.map((r) => r.length)).toEqual([12, 12]);
      const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
      const stored = JSON.parse((await service.getContainerClient(GRAPH_QUOTA_CONTAINER).getBlobClient(graphQuotaBlobName(fake.url, undefined)).downloadToBuffer()).toString("utf8")) as {
        capacity: number;
        taken: number[];
      };
      expect(stored.capacity).toBe(6);
      expect(stored.taken.length).toBeGreaterThan(0);
      expect(statuses(fake).filter((s) => s === 429)).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});
