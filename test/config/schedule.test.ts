import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import { configurationPassScopes, managementGroupOf, unitOf, unitOfSubscription } from "../../src/config/automation.js";

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
    // Which subscriptions the group holds is not known here: the overlap is a warning.
    expect(ok.ok && ok.warnings.filter((w) => w.path === "$.scopes").map((w) => w.message)).toEqual([expect.stringMatching(/^a management group beside other scopes: .* once for each/)]);
    const unitsAlone = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], scopes: [scopes[1]], managementGroupUnits: 8 });
    expect(unitsAlone.ok && unitsAlone.warnings.map((w) => w.path)).toContain("$.managementGroupUnits");
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

describe("management group units", () => {
  it("split a group's passes (4 by default, or as configured), leave other scopes whole, and keep each subscription in one unit", () => {
    const group = "/providers/Microsoft.Management/managementGroups/mg";
    const sub = "/subscriptions/00000000-0000-0000-0000-000000000001";
    const parsed = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], scopes: [group, sub], reader: "resourceGraph", managementGroupUnits: 3 });
    expect(parsed.ok && configurationPassScopes(parsed.configuration)).toEqual([`${group}/units/1-of-3`, `${group}/units/2-of-3`, `${group}/units/3-of-3`, sub]);
    expect(configurationPassScopes({ scopes: [{ scopePath: group }] })).toHaveLength(4);
    // One unit is a unit too: its passes read by name, keep a ledger and show in status like any other's.
    const one = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], scopes: [group], reader: "resourceGraph", managementGroupUnits: 1 });
    expect(one.ok && configurationPassScopes(one.configuration)).toEqual([`${group}/units/1-of-1`]);
    expect(unitOf(`${group}/units/2-of-3`)).toEqual({ group, index: 1, count: 3 });
    expect(managementGroupOf(`${group}/units/2-of-3`)).toBe("mg");
    // Stable, case-blind, and spread: 300 subscriptions over 3 units, none empty.
    const ids = Array.from({ length: 300 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
    const counts = [0, 0, 0];
    for (const id of ids) {
      const unit = unitOfSubscription(id, 3);
      expect(unitOfSubscription(id.toUpperCase(), 3)).toBe(unit);
      counts[unit]!++;
    }
    expect(Math.min(...counts)).toBeGreaterThan(50);
    for (const bad of [0, 65, 2.5, "4"]) {
      const refused = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], managementGroupUnits: bad });
      expect(!refused.ok && refused.errors[0]!.message, String(bad)).toMatch(/managementGroupUnits \(a whole number from 1 to 64\)/);
    }
    // A unit is internal: a configuration cannot name one.
    expect(parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], scopes: [`${group}/units/1-of-3`], reader: "resourceGraph" }).ok).toBe(false);
  });
});
