import { describe, expect, it } from "vitest";
import { ExportEntries } from "../../src/change/entries.js";
import { idHash } from "../../src/change/ids.js";
import { decodeState, encodeState } from "../../src/state/codec.js";
import { pairsOf } from "../helpers/ids.js";

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `/subscriptions/s/resourcegroups/rg/providers/microsoft.security/${prefix}/${i}`);

describe("state codec", () => {
  it("saves again from what it saved: the stored ids as they were compressed, the ids added after them; whole again when one is gone", async () => {
    const entries = new ExportEntries();
    const first = ids("a", 300);
    for (const [i, id] of first.entries()) entries.add(idHash(id), id, i);
    const saved = await encodeState({ entries }, new Date("2026-01-01T00:00:00Z"));
    saved.stored();
    const second = ids("b", 200);
    for (const [i, id] of second.entries()) entries.add(idHash(id), id, 1000 + i);
    entries.setAt(entries.find(idHash(first[7]!)), 42);
    const again = await encodeState({ entries }, new Date("2026-01-02T00:00:00Z"));
    // The stored ids' members are in the new body as they were.
    expect(again.body.includes(saved.body.subarray(saved.body.length - 64))).toBe(true);
    again.stored();
    const loaded = await decodeState(again.body, "test");
    expect(loaded.updatedAt).toBe("2026-01-02T00:00:00.000Z");
    expect(await pairsOf(loaded.entries)).toEqual([...first, ...second].map((id) => [idHash(id), id]));
    expect(loaded.entries.get(idHash(first[7]!))).toBe(42);
    expect(loaded.entries.get(idHash(second[199]!))).toBe(1199);
    expect(await pairsOf(entries)).toEqual([...first, ...second].map((id) => [idHash(id), id]));
    // One gone: the ids are decoded and written again without it.
    entries.delete(idHash(first[0]!));
    const third = await encodeState({ entries }, new Date("2026-01-03T00:00:00Z"));
    third.stored();
    const reloaded = await decodeState(third.body, "test");
    expect(await pairsOf(reloaded.entries)).toEqual([...first.slice(1), ...second].map((id) => [idHash(id), id]));
    // A state loaded from storage saves the same, by decompressing its id lines.
    reloaded.entries.add(idHash("/x/new"), "/x/new", 1);
    const fourth = await encodeState({ entries: reloaded.entries }, new Date("2026-01-04T00:00:00Z"));
    expect(await pairsOf((await decodeState(fourth.body, "test")).entries)).toEqual([...first.slice(1), ...second, "/x/new"].map((id) => [idHash(id), id]));
  });
});
