import { describe, expect, it } from "vitest";
import { ExportEntries } from "../../src/change/entries.js";
import { PassSession } from "../../src/state/session.js";
import { StateConflictError, type PassKey, type PassProgress } from "../../src/state/store.js";
import { storedEntries } from "../helpers/ids.js";
import { MemoryStateStore } from "../helpers/memory-state.js";

const key: PassKey = { configuration: "c", scope: "/subscriptions/x", eventSource: "Assessments" };
const progress: PassProgress = { cursor: null, seen: [], stoppedAt: "2026-11-22T10:00:00.000Z", mode: "baseline" };
const marker = { id: "p", mode: "baseline", startedAt: "2026-11-22T10:00:00.000Z", updatedAt: "2026-11-22T10:00:00.000Z", read: 0, changed: 0 };

describe("a pass session", () => {
  it("is one runner's at a time, until released", async () => {
    const store = new MemoryStateStore();
    const session = await PassSession.open(store, key);
    expect(session).toBeDefined();
    expect(await PassSession.open(store, key)).toBeUndefined();
    await session!.release();
    expect(await PassSession.open(store, key)).toBeDefined();
  });

  it("carries the state's ETag from the load to each checkpoint; a state written meanwhile is not overwritten", async () => {
    const store = new MemoryStateStore();
    const at = new Date("2026-11-22T10:00:00Z");
    const session = (await PassSession.open(store, key, () => at))!;
    const state = await session.load();
    state.entries = storedEntries(["/a"], [1]);
    expect(await session.checkpoint(state)).toBeGreaterThan(0);
    expect(await session.checkpoint(state)).toBeGreaterThan(0); // over its own write
    expect((await store.load(key)).updatedAt).toBe(at.toISOString());
    // Nothing changed: only the read time is noted.
    state.readAt = "2026-11-22T10:00:00.000Z";
    expect(await session.checkpoint(state, true)).toBeUndefined();
    expect((await store.load(key)).readAt).toBe("2026-11-22T10:00:00.000Z");
    const other = await store.load(key);
    await store.save(key, other, other.etag);
    await expect(session.checkpoint(state)).rejects.toThrow(StateConflictError);
    await session.release();
  });

  it("writes a new state even when told nothing changed, if there is none yet", async () => {
    const store = new MemoryStateStore();
    const session = (await PassSession.open(store, key))!;
    await session.load();
    expect(await session.checkpoint({ entries: new ExportEntries(), etag: undefined, updatedAt: undefined }, true)).toBeGreaterThan(0);
    expect((await store.load(key)).etag).toBeDefined();
    await session.release();
  });

  it("clears the progress it went on from once read to the end, and only then", async () => {
    const store = new MemoryStateStore();
    await store.saveProgress(key, progress);
    const stopped = (await PassSession.open(store, key))!;
    expect(await stopped.resume()).toEqual(progress);
    await stopped.stop({ ...progress, stoppedAt: "2026-11-22T11:00:00.000Z" });
    await stopped.release();
    expect(await store.loadProgress(key)).toMatchObject({ stoppedAt: "2026-11-22T11:00:00.000Z" });
    const finished = (await PassSession.open(store, key))!;
    await finished.resume();
    await finished.finish();
    await finished.release();
    expect(await store.loadProgress(key)).toBeUndefined();
  });

  it("takes away the running marker it showed when released, and leaves one it did not show", async () => {
    const store = new MemoryStateStore();
    const session = (await PassSession.open(store, key))!;
    await session.showRunning(marker);
    expect(await store.running(key)).toEqual(marker);
    await session.release();
    const quiet = (await PassSession.open(store, key))!;
    await store.saveRunning(key, marker); // a dead runner's, say: a streaming pass does not touch it
    await quiet.release();
    const next = await store.acquire(key);
    expect(await store.running(key)).toEqual(marker);
    await next!.release();
  });

  it("keeps the pass's record, and a failure to is not the pass's", async () => {
    const store = new MemoryStateStore();
    const session = (await PassSession.open(store, key))!;
    await session.release();
    await session.record({ startedAt: "2026-11-22T10:00:00.000Z" });
    expect(await store.recentPasses(key, 5)).toEqual([{ startedAt: "2026-11-22T10:00:00.000Z" }]);
    store.recordPass = () => Promise.reject(new Error("storage unreachable"));
    await session.record({ startedAt: "2026-11-22T11:00:00.000Z" });
  });
});
