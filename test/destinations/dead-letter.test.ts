import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { storage } from "../helpers/destinations.js";

let azurite: Azurite;
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(async () => {
  await azurite.stop();
});

describe("the dead-letter store", () => {
  it("counts records per action from the listing's metadata, and reads a letter written without it", async () => {
    const { deadLetters, deadLetterContainer } = storage(azurite, "count");
    const item = (id: string) => ({ id, route: "Custom-SecurityAlert_CL", payload: { RecordId: id } });
    await deadLetters.put({ actionKey: "workspace-a", destination: "d", reason: "HTTP 500", attempts: 3, items: [item("1"), item("2")] });
    await deadLetters.put({ actionKey: "workspace-a", destination: "d", reason: "HTTP 500", attempts: 3, items: [item("3")] });
    await deadLetters.put({ actionKey: "eventhub-b", destination: "d", reason: "busy", attempts: 3, items: [item("4")] });
    // An older letter, without the metadata.
    const old = JSON.stringify({ version: 1, failedAt: "2026-01-01T00:00:00Z", actionKey: "workspace-a", destination: "d", reason: "r", attempts: 1, items: [item("5"), item("6"), item("7")] });
    await deadLetterContainer.getBlockBlobClient("workspace-a/2026-01-01/old.json").upload(old, old.length);
    expect(await deadLetters.countRecords({ actionKey: "workspace-a" })).toBe(6);
    expect(await deadLetters.countRecords({ actionKey: "eventhub-b" })).toBe(1);
    expect(await deadLetters.countRecords()).toBe(7);
    expect(await storage(azurite, "none").deadLetters.countRecords()).toBe(0);
  });

  it("keeps each configuration's letters apart, even for the same destination; older letters stay with the action", async () => {
    const { deadLetters, deadLetterContainer } = storage(azurite, "apart");
    const item = (id: string) => ({ id, route: "Custom-SecurityAlert_CL", payload: { RecordId: id } });
    await deadLetters.put({ configuration: "a", actionKey: "workspace-x", destination: "d", reason: "r", attempts: 3, items: [item("a1"), item("a2")] });
    await deadLetters.put({ configuration: "b", actionKey: "workspace-x", destination: "d", reason: "r", attempts: 3, items: [item("b1")] });
    // A configuration whose name begins as another's does not see its letters.
    await deadLetters.put({ configuration: "ab", actionKey: "workspace-x", destination: "d", reason: "r", attempts: 3, items: [item("ab1")] });
    const old = JSON.stringify({ version: 1, failedAt: "2026-01-01T00:00:00Z", actionKey: "workspace-x", destination: "d", reason: "r", attempts: 1, items: [item("old")] });
    await deadLetterContainer.getBlockBlobClient("workspace-x/2026-01-01/old.json").upload(old, old.length);
    const ids = async (filter: Parameters<typeof deadLetters.list>[0]) => {
      const out: string[] = [];
      for await (const { letter } of deadLetters.list(filter)) out.push(...letter.items.map((i) => i.id));
      return out.sort();
    };
    expect(await ids({ configuration: "a", actionKey: "workspace-x" })).toEqual(["a1", "a2", "old"]);
    expect(await ids({ configuration: "b", actionKey: "workspace-x" })).toEqual(["b1", "old"]);
    expect(await ids({ configuration: "a" })).toEqual(["a1", "a2"]);
    expect(await deadLetters.countRecords({ configuration: "b", actionKey: "workspace-x" })).toBe(2);
    expect(await ids({})).toEqual(["a1", "a2", "ab1", "b1", "old"]);
  });
});
