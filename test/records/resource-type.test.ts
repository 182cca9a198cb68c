import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { resourceTypeOf } from "../../src/records/record.js";

/** The resource type as ARM ids read, split whole: what resourceTypeOf must give without splitting. */
function bySplitting(id: string): string | undefined {
  const parts = id.split("/");
  let at = parts.length - 1;
  while (at >= 0 && parts[at]!.toLowerCase() !== "providers") at--;
  if (at < 0 || parts.length < at + 3) return undefined;
  return [parts[at + 1], parts[at + 2], ...parts.slice(at + 4).filter((_, i) => i % 2 === 0)].join("/");
}

describe("resourceTypeOf", () => {
  it("gives the last provider's type, nested types included", () => {
    expect(resourceTypeOf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/db1/databases/d")).toBe("Microsoft.Sql/servers/databases");
    expect(resourceTypeOf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/PROVIDERS/Microsoft.Security/assessments/a")).toBe("Microsoft.Security/assessments");
    for (const id of ["/subscriptions/s", "/subscriptions/s/providers", "/subscriptions/s/providers/", "providers/A", "", "/"]) expect(resourceTypeOf(id), id).toBe(bySplitting(id));
  });

  it("is what splitting the whole id gives, for any id", () => {
    const segment = fc.constantFrom("providers", "PROVIDERS", "Providers", "providersx", "Microsoft.X", "a", "", "İ");
    fc.assert(
      fc.property(fc.array(fc.tuple(segment, fc.boolean()), { maxLength: 14 }), (parts) => {
        const id = parts.map(([s, slash]) => (slash ? `/${s}` : s)).join("");
        expect(resourceTypeOf(id)).toBe(bySplitting(id));
      }),
      { numRuns: 3000 },
    );
  });
});
