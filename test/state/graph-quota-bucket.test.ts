import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { BlobGraphQuota, graphQuotaBlobName } from "../../src/state/graph-quota-bucket.js";

let azurite: Azurite;
let container: ContainerClient;
let blobs = 0;
const blobName = () => `quota-${++blobs}.json`;

beforeAll(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("graph-quota");
});
afterAll(async () => {
  await azurite.stop();
});

describe("the shared Resource Graph quota (one blob, ETag conditions)", () => {
  it("gives `queries` per window and says when the next one is free; an answer with fewer left marks the rest taken until the reset", async () => {
    let now = 1_000_000;
    const quota = new BlobGraphQuota(container, blobName(), { queries: 3, windowMs: 1000, marginMs: 100, now: () => now });
    expect([await quota.take(), await quota.take()]).toEqual([0, 0]);
    now += 400;
    expect(await quota.take()).toBe(0);
    // Full: the oldest leaves the window (and the margin) 700 ms from now.
    expect(await quota.take()).toBe(700);
    now += 700;
    // Both of the first moment have left.
    expect([await quota.take(), await quota.take()]).toEqual([0, 0]);
    expect(await quota.take()).toBe(400);
    now += 1200;
    expect(await quota.take()).toBe(0);
    // Two free by the blob, but the service says none is left for 300 ms: another instance sees it too.
    await quota.observe(0, 300);
    const other = new BlobGraphQuota(container, quota.blobName, { queries: 3, windowMs: 1000, marginMs: 100, now: () => now });
    expect(await other.take()).toBe(300);
    now += 300;
    expect(await other.take()).toBe(0);
    // An answer that agrees with the blob writes nothing.
    const etag = (await container.getBlobClient(quota.blobName).getProperties()).etag;
    await other.observe(1, 1000);
    expect((await container.getBlobClient(quota.blobName).getProperties()).etag).toBe(etag);
  });

  it("many takers racing for one blob are never given more than the window holds, and every free query is given", async () => {
    // The invariants hold in every round; that the takers really raced (a write refused under its ETag) is shown by
    // at least one round of three (on a loaded machine one round can happen to run one taker after another).
    let conflicts = 0;
    for (let round = 0; round < 3 && conflicts === 0; round++) {
      const name = blobName();
      const takers = Array.from({ length: 16 }, () => new BlobGraphQuota(container, name, { queries: 6, windowMs: 60_000, jitterMs: 10 }));
      const outcomes = await Promise.all(
        takers.map(async (taker) => {
          for (;;) {
            const wait = await taker.take();
            if (wait === 0) return "taken";
            // A short wait is a race lost too often: come back, as GraphQuota does.
            if (wait > 1000) return "refused";
          }
        }),
      );
      expect(outcomes.filter((o) => o === "taken")).toHaveLength(6);
      expect(outcomes.filter((o) => o === "refused")).toHaveLength(10);
      conflicts += takers.reduce((sum, t) => sum + t.conflicts, 0);
      const stored = JSON.parse((await container.getBlobClient(name).downloadToBuffer()).toString("utf8")) as { capacity: number; windowMs: number; taken: number[] };
      expect(stored).toMatchObject({ capacity: 6, windowMs: 60_000 });
      expect(stored.taken).toHaveLength(6);
    }
    expect(conflicts).toBeGreaterThan(0);
  });

  it("a blob that is not the quota's is replaced under its ETag, not trusted", async () => {
    const name = blobName();
    await container.getBlockBlobClient(name).upload("{not json", 9);
    const quota = new BlobGraphQuota(container, name, { queries: 2, windowMs: 60_000 });
    expect([await quota.take(), await quota.take()]).toEqual([0, 0]);
    expect(await quota.take()).toBeGreaterThan(50_000);
  });

  it("is named by a hash of the endpoint and the identity, neither spelled out", () => {
    const name = graphQuotaBlobName("https://management.azure.com/", "0b6c3d4e-1111-4222-8333-444455556666");
    expect(name).toMatch(/^[0-9a-f]{40}\.json$/);
    expect(graphQuotaBlobName("https://MANAGEMENT.azure.com", "0b6c3d4e-1111-4222-8333-444455556666")).toBe(name);
    expect(graphQuotaBlobName("https://management.azure.com", undefined)).not.toBe(name);
    expect(graphQuotaBlobName("https://management.usgovcloudapi.net", "0b6c3d4e-1111-4222-8333-444455556666")).not.toBe(name);
  });
});
