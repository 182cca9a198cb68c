import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";

describe("snapshot schedule", () => {
  it("is configured per configuration, defaults to weekly, and says what is wrong", () => {
    const ok = parseExportConfiguration({ exportedDataTypes: ["Security alerts"], snapshotSchedule: "0 30 2 * * 1", baselineSnapshot: false });
    expect(ok.ok && [ok.configuration.snapshotSchedule, ok.configuration.baselineSnapshot]).toEqual(["0 30 2 * * 1", false]);
    const defaults = parseExportConfiguration({ properties: { sources: [{ eventSource: "Alerts" }] } });
    expect(defaults.ok && [defaults.configuration.snapshotSchedule, defaults.configuration.baselineSnapshot]).toEqual(["0 0 0 * * 0", true]);
    const five = parseExportConfiguration({ exportedDataTypes: ["Security alerts"], snapshotSchedule: "0 0 * * 0" });
    expect(!five.ok && five.errors[0]).toEqual({ path: "$.snapshotSchedule", message: expect.stringMatching(/expected six fields, seconds first/) });
    const bad = parseExportConfiguration({ properties: { sources: [{ eventSource: "Alerts" }], snapshotSchedule: "61 0 0 * * 0" } });
    expect(!bad.ok && bad.errors[0]).toEqual({ path: "$.properties.snapshotSchedule", message: expect.stringMatching(/Invalid value for second: 61/) });
  });
});

describe("the reader extension", () => {
  it("reads through the Microsoft.Security lists unless the configuration names Resource Graph, in either form, in any case", () => {
    const policy = parseExportConfiguration({ exportedDataTypes: ["Security alerts"], reader: "ResourceGraph" });
    expect(policy.ok && policy.configuration.reader).toBe("resourceGraph");
    const automation = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], reader: "arm" });
    expect(automation.ok && automation.configuration.reader).toBe("arm");
    const unset = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }] });
    expect(unset.ok && unset.configuration.reader).toBeUndefined();
  });

  it("a management group scope, read through Resource Graph only", () => {
    const scopes = ["/providers/microsoft.management/managementgroups/Contoso-Security", "/subscriptions/00000000-0000-0000-0000-000000000001"];
    const ok = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], scopes, reader: "resourceGraph" });
    expect(ok.ok && ok.configuration.scopes.map((s) => s.scopePath)).toEqual([
      "/providers/Microsoft.Management/managementGroups/Contoso-Security",
      "/subscriptions/00000000-0000-0000-0000-000000000001",
    ]);
    const lists = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], scopes });
    expect(lists.ok).toBe(false);
    expect(!lists.ok && lists.errors).toEqual([{ path: "$.scopes[0].scopePath", message: 'a management group scope is read through Resource Graph: set "reader": "resourceGraph"' }]);
    const bad = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], scopes: ["/providers/Microsoft.Management/managementGroups/bad/name"], reader: "resourceGraph" });
    expect(!bad.ok && bad.errors[0]!.message).toMatch(/invalid scopePath .*\/providers\/Microsoft.Management\/managementGroups\/<management group id>/);
  });

  it("refuses another reader, naming the field and the choices", () => {
    const bad = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], reader: "graph" });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors.map((e) => `${e.path}: ${e.message}`).join("\n")).toMatch(/\$\.reader: .*arm, resourceGraph/);
  });
});
