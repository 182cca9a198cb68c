import { describe, expect, it } from "vitest";
import { bicepFiles, callArguments, declarations, property } from "./bicep.js";

const assignments = () =>
  [...bicepFiles()].flatMap(([file, text]) =>
    declarations(text)
      .filter((d) => d.kind === "resource" && d.target.startsWith("Microsoft.Authorization/roleAssignments@"))
      .map((d) => ({ file, ...d })),
  );

describe("role assignments", () => {
  it("each is named by a guid of the principal it grants: a new identity (azd down, azd up) gets a new name, never RoleAssignmentUpdateNotPermitted", () => {
    const found = assignments();
    expect(found.length).toBeGreaterThanOrEqual(7);
    for (const a of found) {
      const where = `${a.file}: ${a.symbol}`;
      const principal = property(property(a.body, "properties")!, "principalId");
      expect(principal, where).toBe("principalId");
      const name = property(a.body, "name")!;
      expect(callArguments(name, "guid"), where).toContain(principal);
    }
  });
});
