import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "../../src/records/record.js";

describe("utf8", () => {
  it("gives Buffer.from's bytes for any text, short or long, lone surrogates too", () => {
    const piece = fc.oneof(fc.constantFrom("a", "é", "€", "😀", "\ud800", "\udc00", '"', "x".repeat(700)), fc.string({ unit: "binary", maxLength: 16 }));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 400, size: "max" }), (parts) => {
        const text = parts.join("");
        expect(utf8(text).equals(Buffer.from(text, "utf8"))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
