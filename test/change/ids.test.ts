import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { frontDecode, idHash } from "../../src/change/ids.js";
import { fieldsHash } from "../../src/datatypes/change-rule.js";
import { frontCode } from "../helpers/ids.js";

describe("id hashes", () => {
  it("fold case, as ARM ids vary in case between calls", () => {
    const id = "/subscriptions/20FF7FC3-E762-44DD-BD96-B71116DCDC23/resourceGroups/MyRg/providers/Microsoft.Security/assessments/Key";
    expect(idHash(id)).toBe(idHash(id.toLowerCase()));
    expect(idHash(id)).toBe(idHash(id.toUpperCase()));
    expect(idHash("/subscriptions/x/ÉTÉ")).toBe(idHash("/subscriptions/x/été"));
  });

  it("never change: stored states hold them (values from the states written since version 4)", () => {
    expect(idHash("/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/providers/Microsoft.Security/alerts/2518")).toBe(4382589397071312);
    expect([idHash("a"), idHash("")]).toEqual([2072089931168595, 8818589299283418]);
    expect([fieldsHash("Healthy"), fieldsHash("High", undefined, 3, { a: 1 })]).toEqual([6825307771178039, 469294530269186]);
  });

  it("tell different ids apart, as exact 53-bit integers", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80 }), fc.string({ minLength: 1, maxLength: 80 }), (a, b) => {
        const ha = idHash(a);
        expect(Number.isSafeInteger(ha) && ha >= 0).toBe(true);
        if (a.toLowerCase() !== b.toLowerCase()) expect(ha).not.toBe(idHash(b));
      }),
      { numRuns: 2000 },
    );
    const seen = new Set<number>();
    for (let i = 0; i < 200_000; i++) seen.add(idHash(`/subscriptions/s/resourcegroups/rg/providers/microsoft.security/assessments/${i}`));
    expect(seen.size).toBe(200_000);
  });

  it("decode version 3's front-coded ids exactly", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 50 }), (ids) => {
        const sorted = [...ids].sort();
        const coded = frontCode(sorted);
        expect(coded.suffixes.join("").length).toBeLessThanOrEqual(sorted.join("").length);
        expect(frontDecode(coded)).toEqual(sorted);
      }),
    );
    const coded = frontCode(["/subscriptions/s/a/1", "/subscriptions/s/a/2", "/subscriptions/s/b"]);
    expect(coded).toEqual({ shared: [0, 19, 17], suffixes: ["/subscriptions/s/a/1", "2", "b"] });
    expect(() => frontDecode({ shared: [0, 9], suffixes: ["/a", "b"] })).toThrow(/shares 9 characters with an id of 2/);
  });
});
