import { gunzipSync, gzipSync } from "node:zlib";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idHash } from "../../src/change/ids.js";
import { BlobStateStore } from "../../src/state/blob-store.js";
import { passPrefix, type PassKey } from "../../src/state/store.js";
import { PASS_RECORD_TAG } from "../../src/state/pass-log.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { frontCode, pairsOf, storedEntries } from "../helpers/ids.js";

// What only Blob storage shows: the stored layout and formats (which existing deployments' state is in), old
// versions read, and the tag the lifecycle rule matches. What every store does is in contract.test.ts.

let azurite: Azurite;
let containers = 0;
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(async () => {
  await azurite.stop();
});

function store(): { store: BlobStateStore; container: ContainerClient } {
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`blobstate${++containers}`);
  return { store: new BlobStateStore(container), container };
}

const key: PassKey = { configuration: "my config", scope: "/subscriptions/X", eventSource: "Assessments" };

describe("the state on Blob storage", () => {
  it("keeps a pass key's blobs under one prefix, by the names existing deployments have", async () => {
    const { store: s, container } = store();
    await s.save(key, { entries: storedEntries(["/subscriptions/x/a"], [1]), snapshotAt: "2026-11-22T09:00:00Z" }, undefined, new Date("2026-11-22T10:00:00Z"));
    await s.saveProgress(key, { cursor: null, seen: [], stoppedAt: "2026-11-22T10:00:00Z", mode: "snapshot" });
    await s.saveRunning(key, { id: "p", mode: "snapshot", startedAt: "2026-11-22T10:00:00.000Z", updatedAt: "2026-11-22T10:00:00.000Z", read: 0, changed: 0 });
    await (await s.acquire(key))!.release();
    await s.recordPass(key, { startedAt: "2026-11-22T10:00:00.000Z" });
    const blobs = [];
    for await (const b of container.listBlobsFlat({ includeTags: true, includeMetadata: true })) blobs.push(b);
    expect(passPrefix(key)).toBe("my%20config/subscriptions/x/Assessments");
    expect(blobs.map((b) => b.name).sort()).toEqual(
      ["lock", "passes/008204658399999-2026-11-22T100000000Z.json", "progress.json.gz", "running.json", "state.json.gz"].map((n) => `my%20config/subscriptions/x/Assessments/${n}`),
    );
    const state = blobs.find((b) => b.name.endsWith("/state.json.gz"))!;
    // The snapshot timer reads the metadata; the body is gzip, version 4.
    expect(state.metadata).toEqual({ snapshotat: "2026-11-22T09:00:00Z" });
    expect(state.properties.contentEncoding).toBe("gzip");
    const body = gunzipSync(await container.getBlobClient(state.name).downloadToBuffer());
    expect(body.subarray(0, body.indexOf(10)).toString()).toBe('{"version":4,"updatedAt":"2026-11-22T10:00:00.000Z","snapshotAt":"2026-11-22T09:00:00Z","count":1}');
    expect(JSON.parse(gunzipSync(await container.getBlobClient(`${passPrefix(key)}/progress.json.gz`).downloadToBuffer()).toString())).toMatchObject({ cursor: null, mode: "snapshot" });
    // Only pass records carry the tag the lifecycle rule expires them by.
    expect(blobs.filter((b) => b.tags !== undefined).map((b) => [b.name.split("/").at(-2), b.tags])).toEqual([["passes", { [PASS_RECORD_TAG.name]: PASS_RECORD_TAG.value }]]);
  });

  it("still reads version 2 and 3 states, and writes version 4 over them with the same entries", async () => {
    const { store: s, container } = store();
    const ids = ["/subscriptions/x/a", "/subscriptions/x/b"];
    const hashes = ids.map(idHash);
    let etag = (await s.save(key, { entries: storedEntries(ids, [7, 7]) }, undefined)).etag;
    const coded = frontCode(ids);
    for (const legacy of [
      { version: 2, updatedAt: "2026-01-01T00:00:00Z", ids, hashes, fingerprints: [5, null] },
      { version: 3, updatedAt: "2026-01-01T00:00:00Z", idShared: coded.shared, idSuffixes: coded.suffixes, hashes, fingerprints: [5, null] },
    ]) {
      const body = gzipSync(JSON.stringify(legacy));
      await container.getBlockBlobClient(`${passPrefix(key)}/state.json.gz`).upload(body, body.length, { conditions: { ifMatch: etag } });
      const loaded = await s.load(key);
      expect(loaded.entries.get(hashes[0]!)).toBe(5);
      expect(loaded.entries.get(hashes[1]!)).toBeNaN();
      expect(await pairsOf(loaded.entries)).toEqual(ids.map((id, i) => [hashes[i], id]));
      etag = (await s.save(key, loaded, loaded.etag)).etag;
      const upgraded = await s.load(key);
      expect(gunzipSync(await container.getBlobClient(`${passPrefix(key)}/state.json.gz`).downloadToBuffer()).toString("latin1")).toMatch(/^\{"version":4,/);
      expect(upgraded.entries.get(hashes[0]!)).toBe(5);
      expect(await pairsOf(upgraded.entries)).toEqual(ids.map((id, i) => [hashes[i], id]));
    }
  });

  it("names what is wrong with a version 4 state it cannot read", async () => {
    const { store: s, container } = store();
    const alerts = { configuration: "c", scope: "/subscriptions/x", eventSource: "Alerts" as const };
    const put = async (body: Buffer) => {
      await container.createIfNotExists();
      await container.getBlockBlobClient(`${passPrefix(alerts)}/state.json.gz`).upload(body, body.length);
    };
    await put(gzipSync('{"version":4,"updatedAt":"x","count":2}\n' + "x".repeat(20)));
    await expect(s.load(alerts)).rejects.toThrow(/export state of .* is cut short/);
    await put(gzipSync('{"version":5}\nzzz'));
    await expect(s.load(alerts)).rejects.toThrow(/export state of .* has a header this version cannot read/);
    const numbers = Buffer.alloc(16);
    numbers.writeDoubleLE(0.5, 0);
    await put(gzipSync(Buffer.concat([Buffer.from('{"version":4,"updatedAt":"x","count":1}\n'), numbers, Buffer.from("0 /a\n")])));
    await expect(s.load(alerts)).rejects.toThrow(/hash 0 is not a 53-bit hash/);
    numbers.writeDoubleLE(idHash("/a"), 0);
    await put(gzipSync(Buffer.concat([Buffer.from('{"version":4,"updatedAt":"x","count":1}\n'), numbers, Buffer.from("5 /a\n")])));
    const loaded = await s.load(alerts); // the ids are read only when needed: then the pass fails by name
    await expect(pairsOf(loaded.entries)).rejects.toThrow(/id line 1 is not front-coded/);
  });

  it("tries a failed container creation again at the next call", async () => {
    const { container } = store();
    let calls = 0;
    const flaky = Object.assign(Object.create(container) as ContainerClient, {
      createIfNotExists: () => (++calls === 1 ? Promise.reject(new Error("storage unreachable")) : container.createIfNotExists()),
    });
    const s = new BlobStateStore(flaky);
    await expect(s.ready()).rejects.toThrow("storage unreachable");
    await s.ready();
    expect(calls).toBe(2);
    expect((await s.load(key)).etag).toBeUndefined();
  });
});
