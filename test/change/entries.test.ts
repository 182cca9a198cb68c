import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompressedLines, decodeIdLines, ExportEntries, frontCodedLine, type IdSource } from "../../src/change/entries.js";
import { idHash } from "../../src/change/ids.js";
import { pairsOf, storedEntries } from "../helpers/ids.js";

/** An IdSource over `encode`'s id lines, as a saved state would give them back. */
async function saved(entries: ExportEntries): Promise<{ hashes: number[]; fingerprints: number[]; ids: IdSource }> {
  const pieces: (Buffer | string | CompressedLines)[] = [];
  for await (const piece of entries.encode()) pieces.push(piece);
  const [hashBytes, fingerprintBytes, ...lines] = pieces as [Buffer, Buffer, ...string[]];
  const n = hashBytes.length / 8;
  const read = (b: Buffer) => Array.from({ length: n }, (_, i) => b.readDoubleLE(8 * i));
  return { hashes: read(hashBytes), fingerprints: read(fingerprintBytes), ids: { count: n, walk: () => decodeIdLines(lines) } };
}

describe("export entries", () => {
  it("behave as a Map of hash to fingerprint through adds, updates, deletes, growth and tombstones", () => {
    type Op = { kind: "add" | "set" | "delete"; key: number; fp: number };
    const op = fc.record({ kind: fc.constantFrom<Op["kind"]>("add", "set", "delete"), key: fc.integer({ min: 0, max: 300 }), fp: fc.oneof(fc.integer(), fc.double(), fc.constant(Number.NaN)) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const entries = new ExportEntries();
        const model = new Map<number, number>();
        for (const { kind, key, fp } of ops) {
          // Keys spread over the 53 bits, and some sharing their low bits (the probe start).
          const hash = key % 3 === 0 ? key * 2 ** 32 : idHash(`/k/${key}`);
          if (kind === "add" && !model.has(hash)) {
            entries.add(hash, `/k/${key}`, fp);
            model.set(hash, fp);
          } else if (kind === "set" && model.has(hash)) {
            entries.setAt(entries.find(hash), fp);
            model.set(hash, fp);
          } else if (kind === "delete") {
            expect(entries.delete(hash)).toBe(model.delete(hash));
          }
          expect(entries.size).toBe(model.size);
        }
        for (const [hash, fp] of model) expect(entries.get(hash)).toBe(fp);
        for (let key = 0; key <= 300; key++) if (!model.has(idHash(`/k/${key}`)) && key % 3 !== 0) expect(entries.get(idHash(`/k/${key}`))).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it("front-code ids as lines and decode them back exactly, however the text is split", async () => {
    const id = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: "binary", maxLength: 30 }), fc.constantFrom("/a\\nb", "/a\nb\r", "/x/😀", "/x/😁", "\\"));
    await fc.assert(
      fc.asyncProperty(fc.array(id, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 5 }), async (ids, cuts) => {
        let previous = "";
        const text = ids
          .map((i) => {
            const line = frontCodedLine(previous, i);
            previous = i;
            return line;
          })
          .join("");
        // Through UTF-8, as the state is stored: no surrogate pair is split between prefix and suffix.
        const stored = Buffer.from(text, "utf8").toString("utf8");
        const points = [...new Set(cuts.map((c) => c % (stored.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((p, k, all) => stored.slice(p, all[k + 1] ?? stored.length));
        const decoded: string[] = [];
        for await (const d of decodeIdLines(chunks)) decoded.push(d);
        const wellFormed = ids.filter((i) => Buffer.from(i, "utf8").toString("utf8") === i);
        if (wellFormed.length === ids.length) expect(decoded).toEqual(ids);
        else expect(decoded).toHaveLength(ids.length);
      }),
    );
    expect(frontCodedLine("/subscriptions/s/a/1", "/subscriptions/s/a/2")).toBe("19 2\n");
    expect(frontCodedLine("/x/😀", "/x/😁")).toBe("3 😁\n");
  });

  it("refuse id lines that are not front-coded", async () => {
    const decode = async (chunks: string[]) => {
      for await (const _ of decodeIdLines(chunks));
    };
    await expect(decode(["0 /a\n9 b\n"])).rejects.toThrow(/id line 2 is not front-coded against an id of 2 characters/);
    await expect(decode(["0 /a\n1"])).rejects.toThrow(/id line 2 is cut short/);
    await expect(decode(["x\n"])).rejects.toThrow(/id line 1/);
  });

  it("read the stored ids only when something is gone, and take what is gone out", async () => {
    let walks = 0;
    const ids = ["/x/1", "/x/2", "/x/3"];
    const entries = storedEntries(ids, [1, 2, 3], () => walks++);
    for (const id of ids) entries.seeAt(entries.find(idHash(id)));
    expect(await entries.takeUnseen()).toEqual([]);
    expect(walks).toBe(0);

    const again = storedEntries(ids, [1, 2, 3], () => walks++);
    again.markSeen([idHash("/x/1")]);
    again.add(idHash("/x/4"), "/x/4", 4);
    expect(await again.takeUnseen()).toEqual(["/x/2", "/x/3"]);
    expect(walks).toBe(1);
    expect(again.size).toBe(2);
    expect(again.seenHashes().sort()).toEqual([idHash("/x/1"), idHash("/x/4")].sort());
    expect(await pairsOf(again)).toEqual([
      [idHash("/x/1"), "/x/1"],
      [idHash("/x/4"), "/x/4"],
    ]);
  });

  it("write what they hold, stored then added, once each, and keep working from what was written", async () => {
    const entries = storedEntries(["/x/a", "/x/b", "/x/c"], [1, Number.NaN, 3]);
    entries.delete(idHash("/x/b"));
    entries.add(idHash("/x/d"), "/x/d", 4);
    entries.delete(idHash("/x/d"));
    entries.add(idHash("/x/d"), "/x/d", 5); // forgotten and added again in one pass: written once
    entries.setAt(entries.find(idHash("/x/a")), 9);
    const first = await saved(entries);
    expect(first.hashes).toEqual([idHash("/x/a"), idHash("/x/c"), idHash("/x/d")]);
    expect(first.fingerprints).toEqual([9, 3, 5]);
    entries.commit(first.ids);
    entries.add(idHash("/x/e"), "/x/e", 6);
    expect(await pairsOf(entries)).toEqual(["/x/a", "/x/c", "/x/d", "/x/e"].map((id) => [idHash(id), id]));
    const second = await saved(entries);
    const reloaded = ExportEntries.stored(second.hashes, second.fingerprints, second.ids);
    expect(await pairsOf(reloaded)).toEqual(["/x/a", "/x/c", "/x/d", "/x/e"].map((id) => [idHash(id), id]));
    expect(reloaded.get(idHash("/x/e"))).toBe(6);
  });

  it("copy the stored lines as they are when every id is kept, walking none; decode and code again when one is gone", async () => {
    const storedLines = ["/x/a", "/x/ab", "/x/b"].map((id, i, all) => frontCodedLine(all[i - 1] ?? "", id)).join("");
    let walked = 0;
    const source: IdSource = {
      count: 3,
      walk: () => {
        walked++;
        return decodeIdLines([storedLines]);
      },
      lines: async function* () {
        yield Buffer.from(storedLines.slice(0, 5));
        yield Buffer.from(storedLines.slice(5));
      },
    };
    const entries = ExportEntries.stored(["/x/a", "/x/ab", "/x/b"].map(idHash), [1, 2, 3], source);
    entries.setAt(entries.find(idHash("/x/ab")), 7);
    entries.add(idHash("/x/c"), "/x/c", 4);
    entries.add(idHash("/x/cd"), "/x/cd", 5);
    const pieces: (Buffer | string | CompressedLines)[] = [];
    for await (const piece of entries.encode()) pieces.push(piece);
    expect(walked).toBe(0);
    const text = pieces
      .slice(2)
      .map((p) => p.toString())
      .join("");
    expect(text).toBe(`${storedLines}0 /x/c\n4 d\n`);
    const ids: string[] = [];
    for await (const id of decodeIdLines([text])) ids.push(id);
    expect(ids).toEqual(["/x/a", "/x/ab", "/x/b", "/x/c", "/x/cd"]);
    entries.commit({ count: 5, walk: () => decodeIdLines([text]) });
    expect(await pairsOf(entries)).toEqual(ids.map((id) => [idHash(id), id]));
    expect(entries.get(idHash("/x/ab"))).toBe(7);
    // One gone: the lines are decoded and written again without it.
    entries.delete(idHash("/x/ab"));
    const again = await saved(entries);
    expect(await pairsOf(ExportEntries.stored(again.hashes, again.fingerprints, again.ids))).toEqual(["/x/a", "/x/b", "/x/c", "/x/cd"].map((id) => [idHash(id), id]));
  });
});
