import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OverflowOriginals } from "../../src/destinations/overflow.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { runBin } from "../helpers/bin.js";
import { input } from "../helpers/mapping.js";

let azurite: Azurite;
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(async () => {
  await azurite.stop();
});

describe("defender-export original", () => {
  it("prints the original a pointer names: a line of a blob of originals, or an old pointer's whole blob", async () => {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("overflow");
    const originals = new OverflowOriginals(container, (_, e) => {
      throw e;
    });
    const dataset = new SyntheticDataset({ alerts: 3 });
    const records = [0, 1, 2].map((i) => input(dataset.alert(i), "Alerts"));
    // Each kept before the next is reserved, as the sink does.
    const kept = records.map((r) => {
      const reservation = originals.reserve(r);
      return { pointer: reservation.pointer, blob: reservation.keep() };
    });
    await originals.written(kept[0]!.blob);
    const pointers = kept.map((k) => k.pointer);
    const old = JSON.stringify(dataset.alert(2));
    await container.getBlockBlobClient("alerts/0123456789abcdef0123456789abcdef/2026-11-22T030405678Z.json").upload(old, Buffer.byteLength(old));

    const env = { DEFENDER_EXPORT_STORAGE: azurite.connectionString };
    const second = await runBin(["original", pointers[1]!], env);
    expect(second).toMatchObject({ code: 0, stderr: "" });
    expect(second.stdout).toBe(`${JSON.stringify(records[1]!.record)}\n`);
    expect((await runBin(["original", "overflow/alerts/0123456789abcdef0123456789abcdef/2026-11-22T030405678Z.json"], env)).stdout).toBe(`${old}\n`);
    expect(await runBin(["original", "overflow/alerts/none.jsonl#0000000000-0000000009"], env)).toMatchObject({ code: 1, stderr: expect.stringMatching(/not in the storage account/) });
    expect(await runBin(["original", "not a pointer"], env)).toMatchObject({ code: 2 });
  });
});
