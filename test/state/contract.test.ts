import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idHash } from "../../src/change/ids.js";
import { BlobStateStore } from "../../src/state/blob-store.js";
import { cursorSchema, progressSchema, StateConflictError, type PassKey, type PassProgress, type StateStore } from "../../src/state/store.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { pairsOf, storedEntries } from "../helpers/ids.js";
import { MemoryStateStore } from "../helpers/memory-state.js";

let azurite: Azurite;
let containers = 0;
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(async () => {
  await azurite.stop();
});

// One contract, two stores: the engine tests that run on memory mean what they would on Blob storage.
const stores: [string, () => StateStore][] = [
  ["Blob storage", () => new BlobStateStore(BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`contract${++containers}`))],
  ["memory", () => new MemoryStateStore()],
];

const key: PassKey = { configuration: "c", scope: "/subscriptions/x", eventSource: "Alerts" };
const ids = ["/subscriptions/x/a", "/subscriptions/x/b"];
const progress: PassProgress = { cursor: { url: "https://management.azure.com/next", index: 3 }, seen: [idHash(ids[0]!)], stoppedAt: "2026-11-22T10:00:00.000Z", mode: "baseline" };
const running = { id: "p1", mode: "snapshot", startedAt: "2026-11-22T10:00:00.000Z", updatedAt: "2026-11-22T10:01:00.000Z", read: 7, changed: 5 };

describe.each(stores)("the state store contract: %s", (_, make) => {
  it("a pass key without a state loads empty, without an ETag, update or snapshot time", async () => {
    const store = make();
    await store.ready();
    const empty = await store.load(key);
    expect(empty).toMatchObject({ etag: undefined, updatedAt: undefined });
    expect(empty.entries.size).toBe(0);
    expect(await store.snapshotAt(key)).toBeUndefined();
  });

  it("saves and loads the entries, the snapshot time and the generation; each save gives a new ETag", async () => {
    const store = make();
    const now = new Date("2026-11-22T10:00:00Z");
    const first = await store.save(key, { entries: storedEntries(ids, [1, Number.NaN]), snapshotAt: "2026-11-22T09:00:00Z", generation: "g1" }, undefined, now);
    expect(first.bytes).toBeGreaterThan(0);
    const loaded = await store.load(key);
    expect(loaded).toMatchObject({ etag: first.etag, updatedAt: now.toISOString(), snapshotAt: "2026-11-22T09:00:00Z", generation: "g1" });
    expect(loaded.readAt).toBeUndefined();
    expect(loaded.entries.get(idHash(ids[0]!))).toBe(1);
    expect(loaded.entries.get(idHash(ids[1]!))).toBeNaN();
    expect(await pairsOf(loaded.entries)).toEqual(ids.map((id) => [idHash(id), id]));
    expect(await store.snapshotAt(key)).toBe("2026-11-22T09:00:00Z");
    // Saved entries stay usable: their ids are now the stored ones.
    loaded.entries.setAt(loaded.entries.find(idHash(ids[0]!)), 2);
    loaded.entries.add(idHash("/subscriptions/x/c"), "/subscriptions/x/c", 3);
    const second = await store.save(key, loaded, loaded.etag);
    expect(second.etag).not.toBe(first.etag);
    const three = [...ids, "/subscriptions/x/c"].map((id) => [idHash(id), id]);
    expect(await pairsOf(loaded.entries)).toEqual(three);
    const again = await store.load(key);
    expect(again.entries.get(idHash(ids[0]!))).toBe(2);
    expect(await pairsOf(again.entries)).toEqual(three);
  });

  it("refuses to overwrite a state written since the ETag it was given, or any state when given none", async () => {
    const store = make();
    const state = (fp: number) => ({ entries: storedEntries([ids[0]!], [fp]) });
    const first = await store.save(key, state(1), undefined);
    await store.save(key, state(2), first.etag);
    await expect(store.save(key, state(3), first.etag)).rejects.toThrow(StateConflictError);
    await expect(store.save(key, state(3), undefined)).rejects.toThrow(/export state of c\/subscriptions\/x\/Alerts changed since this pass read it/);
    const loaded = await store.load(key);
    expect(loaded.entries.get(idHash(ids[0]!))).toBe(2);
    expect(await pairsOf(loaded.entries)).toEqual([[idHash(ids[0]!), ids[0]]]);
  });

  it("notes when a complete pass read beside the state, without rewriting it; not over a state written since", async () => {
    const store = make();
    const saved = await store.save(key, { entries: storedEntries(ids, [1, 2]), snapshotAt: "2026-11-22T09:00:00Z" }, undefined, new Date("2026-11-22T10:00:00Z"));
    const etag = await store.markRead(key, { snapshotAt: "2026-11-22T09:00:00Z", readAt: "2026-11-22T11:00:00Z" }, saved.etag);
    expect(etag).not.toBe(saved.etag);
    const loaded = await store.load(key);
    expect(loaded).toMatchObject({ etag, updatedAt: "2026-11-22T10:00:00.000Z", snapshotAt: "2026-11-22T09:00:00Z", readAt: "2026-11-22T11:00:00Z" });
    expect(await pairsOf(loaded.entries)).toEqual(ids.map((id) => [idHash(id), id]));
    expect(await store.snapshotAt(key)).toBe("2026-11-22T09:00:00Z");
    // Refused (Blob storage answers 412; the pass fails and sends again next time).
    await expect(store.markRead(key, { readAt: "2026-11-22T12:00:00Z" }, saved.etag)).rejects.toThrow();
    expect((await store.load(key)).readAt).toBe("2026-11-22T11:00:00Z");
  });

  it("keeps a stopped pass's progress until it is cleared", async () => {
    const store = make();
    expect(await store.loadProgress(key)).toBeUndefined();
    await store.saveProgress(key, progress);
    expect(await store.loadProgress(key)).toEqual(progress);
    await store.saveProgress(key, { ...progress, cursor: null, mode: "snapshot" });
    expect(await store.loadProgress(key)).toEqual({ ...progress, cursor: null, mode: "snapshot" });
    await store.clearProgress(key);
    await store.clearProgress(key);
    expect(await store.loadProgress(key)).toBeUndefined();
  });

  it("keeps a stopped Resource Graph pass's progress: its query and hash partition, and why its read was incomplete", async () => {
    const store = make();
    const graph: PassProgress = {
      ...progress,
      cursor: { graph: { request: 1, partition: 3, of: 19, members: "digest" } },
      incomplete: "the listing of subAssessment moved while it was read (partition 2 of 19, page 4: …): removals wait for a complete read",
    };
    await store.saveProgress(key, graph);
    expect(await store.loadProgress(key)).toEqual(graph);
    await store.clearProgress(key);
  });

  it("lets one runner at a time hold a pass key; released, it can be taken again; other keys are free", async () => {
    const store = make();
    const lease = await store.acquire(key);
    expect(lease).toBeDefined();
    expect(await store.acquire(key)).toBeUndefined();
    const other = await store.acquire({ ...key, eventSource: "Assessments" });
    expect(other).toBeDefined();
    lease!.check();
    await lease!.release();
    const again = await store.acquire(key);
    expect(again).toBeDefined();
    await lease!.release(); // a second release does not free the new holder's lease
    expect(await store.acquire(key)).toBeUndefined();
    await Promise.all([again!.release(), other!.release()]);
  });

  it("shows a running marker only while a runner holds the lease, until it is cleared", async () => {
    const store = make();
    await store.saveRunning(key, running);
    expect(await store.running(key)).toBeUndefined(); // no holder: a runner that died left it
    const lease = await store.acquire(key);
    expect(await store.running(key)).toEqual(running);
    await store.saveRunning(key, { ...running, read: 9 });
    expect(await store.running(key)).toMatchObject({ read: 9 });
    await store.clearRunning(key);
    expect(await store.running(key)).toBeUndefined();
    await store.saveRunning(key, running);
    await lease!.release();
    expect(await store.running(key)).toBeUndefined();
  });

  it("keeps pass records, and gives the last few newest first", async () => {
    const store = make();
    expect(await store.recentPasses(key, 5)).toEqual([]);
    for (const startedAt of ["2026-11-22T10:00:00.000Z", "2026-11-22T12:00:00.000Z", "2026-11-22T11:00:00.000Z"]) await store.recordPass(key, { startedAt, id: startedAt } as { startedAt: string });
    expect(await store.recentPasses(key, 5)).toEqual(["12", "11", "10"].map((h) => ({ startedAt: `2026-11-22T${h}:00:00.000Z`, id: `2026-11-22T${h}:00:00.000Z` })));
    expect((await store.recentPasses(key, 2)).map((r) => (r as { startedAt: string }).startedAt)).toEqual(["2026-11-22T12:00:00.000Z", "2026-11-22T11:00:00.000Z"]);
    expect(await store.recentPasses({ ...key, eventSource: "Assessments" }, 5)).toEqual([]);
  });

  it("takes scopes without case or leading slashes; a configuration name is one name, whatever it holds", async () => {
    const store = make();
    await store.save(key, { entries: storedEntries(ids, [1, 2]) }, undefined);
    expect((await store.load({ ...key, scope: "subscriptions/X" })).entries.size).toBe(2);
    expect((await store.load({ ...key, configuration: "c/subscriptions" })).etag).toBeUndefined();
    expect((await store.load({ ...key, configuration: "C" })).etag).toBeUndefined();
  });

  it("forgets everything of a configuration but a lease held, and nothing of another", async () => {
    const store = make();
    const held = { ...key, eventSource: "Assessments" as const };
    const others = [
      { ...key, configuration: "c2" },
      { ...key, configuration: "c/d" },
    ];
    const etags: string[] = [];
    for (const k of [key, held, ...others]) {
      etags.push((await store.save(k, { entries: storedEntries(ids, [1, 2]) }, undefined)).etag);
      await store.saveProgress(k, progress);
      await store.recordPass(k, { startedAt: "2026-11-22T10:00:00.000Z" });
    }
    await (await store.acquire(key))!.release(); // a lock left behind
    const lease = await store.acquire(held);
    await store.saveRunning(held, running);
    // Three items per key, the running marker, and the lock nobody holds.
    expect(await store.forget("c")).toBe(3 + 3 + 1 + 1);
    for (const k of [key, held]) {
      expect((await store.load(k)).etag).toBeUndefined();
      expect(await store.loadProgress(k)).toBeUndefined();
      expect(await store.recentPasses(k, 5)).toEqual([]);
    }
    expect(await store.running(held)).toBeUndefined();
    expect(await store.acquire(held)).toBeUndefined(); // still held by the pass that runs
    // That pass finds its state gone at its next checkpoint: it fails, and the next pass starts afresh.
    await expect(store.save(held, { entries: storedEntries(ids, [1, 2]) }, etags[1])).rejects.toThrow(StateConflictError);
    for (const k of others) {
      expect((await store.load(k)).entries.size).toBe(2);
      expect(await store.loadProgress(k)).toEqual(progress);
      expect(await store.recentPasses(k, 5)).toHaveLength(1);
    }
    await lease!.release();
    expect(await store.forget("c")).toBe(1); // its lock, free now
  });

  it("forgets the scopes named only: not another scope whose path begins alike, nor another configuration's", async () => {
    const store = make();
    const group = "/providers/Microsoft.Management/managementGroups/mg/units";
    const gone = { ...key, scope: `${group}/1-of-2` };
    const kept = [
      { ...key, scope: `${group}/1-of-20` },
      { ...key, scope: `${group}/2-of-2` },
      { ...gone, configuration: "c2" },
    ];
    for (const k of [gone, { ...gone, eventSource: "Assessments" as const }, ...kept]) {
      await store.save(k, { entries: storedEntries(ids, [1, 2]) }, undefined);
      await store.recordPass(k, { startedAt: "2026-11-22T10:00:00.000Z" });
    }
    expect((await store.storedUnits("c", "/providers/Microsoft.Management/managementGroups/MG")).sort()).toEqual(
      [`${group}/1-of-2`, `${group}/1-of-20`, `${group}/2-of-2`].map((u) => u.toLowerCase()),
    );
    expect(await store.storedUnits("c", "/providers/Microsoft.Management/managementGroups/other")).toEqual([]);
    expect(await store.forget("c", [gone.scope.toUpperCase()])).toBe(4);
    expect((await store.storedUnits("c", "/providers/Microsoft.Management/managementGroups/mg")).sort()).toEqual([`${group}/1-of-20`, `${group}/2-of-2`].map((u) => u.toLowerCase()));
    expect((await store.load(gone)).etag).toBeUndefined();
    expect(await store.recentPasses({ ...gone, eventSource: "Assessments" }, 5)).toEqual([]);
    for (const k of kept) expect((await store.load(k)).entries.size).toBe(2);
  });
});

describe("a stored cursor", () => {
  it("is a list's page and place, as stored before, or a Resource Graph query and partition; anything else is refused", () => {
    expect(cursorSchema.parse({ url: "https://management.azure.com/next", index: 3 })).toEqual({ url: "https://management.azure.com/next", index: 3 });
    expect(cursorSchema.parse({ graph: { request: 0, partition: 0, of: 1 } })).toEqual({ graph: { request: 0, partition: 0, of: 1 } });
    // Progress written before Resource Graph cursors and incompleteness were kept still reads.
    expect(progressSchema.parse({ cursor: { url: "u", index: 0 }, seen: [1], stoppedAt: "2026-11-22T10:00:00.000Z", mode: "stream" })).toMatchObject({ cursor: { url: "u", index: 0 } });
    for (const bad of [{ graph: { request: 0, partition: 2, of: 2 } }, { graph: { request: -1, partition: 0, of: 1 } }, { graph: { request: 0, partition: 0, of: 0 } }, { graph: {} }, { url: "u" }]) {
      expect(cursorSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
