import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { Problem } from "../../src/config/model.js";

const SUB = "/subscriptions/a5caac9c-5c04-49af-b3d0-e204f40345d5";
const rule = (overrides: Record<string, unknown> = {}) => ({
  propertyJPath: "properties.severity",
  propertyType: "String",
  expectedValue: "High",
  operator: "Equals",
  ...overrides,
});
const withRule = (r: unknown, eventSource = "Alerts") => ({
  properties: { scopes: [{ scopePath: SUB }], sources: [{ eventSource, ruleSets: [{ rules: [r] }] }] },
});

function errorsOf(input: unknown): Problem[] {
  const result = parseExportConfiguration(input);
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.configuration)}`);
  return result.errors;
}

function expectError(input: unknown, path: string, message: RegExp): void {
  const errors = errorsOf(input);
  expect(errors, JSON.stringify(errors)).toContainEqual({ path, message: expect.stringMatching(message) });
}

const RULE = "$.properties.sources[0].ruleSets[0].rules[0]";

describe("invalid configurations name the field and what was expected", () => {
  it("unknown eventSource", () => {
    expectError({ properties: { sources: [{ eventSource: "Alertz" }] } }, "$.properties.sources[0].eventSource", /unknown eventSource "Alertz"; expected one of Assessments, .*Alerts/);
  });
  it("unknown operator", () => {
    expectError(withRule(rule({ operator: "Like" })), `${RULE}.operator`, /unknown operator "Like"; expected one of Equals, /);
  });
  it("bad propertyType", () => {
    expectError(withRule(rule({ propertyType: "Date" })), `${RULE}.propertyType`, /unknown propertyType "Date"; expected one of String, Integer, Number, Boolean/);
  });
  it.each([
    ["Integer", "high", /cannot be converted to Integer; expected a whole number/],
    ["Integer", "1.5", /cannot be converted to Integer/],
    ["Integer", "99999999999999999999", /cannot be converted to Integer/],
    ["Number", "ten", /cannot be converted to Number; expected a number/],
    ["Number", "", /cannot be converted to Number/],
    ["Boolean", "yes", /cannot be converted to Boolean; expected true or false/],
  ])("expectedValue that cannot be converted to %s (%j)", (propertyType, expectedValue, message) => {
    expectError(withRule(rule({ propertyType, expectedValue, operator: "Equals" })), `${RULE}.expectedValue`, message);
  });
  it.each([
    ["String", "GreaterThan"],
    ["String", "LesserThanOrEqualTo"],
    ["Boolean", "GreaterThanOrEqualTo"],
    ["Integer", "Contains"],
    ["Number", "StartsWith"],
    ["Integer", "EndsWith"],
  ])("an operator that does not fit the type: %s %s", (propertyType, operator) => {
    const expectedValue = propertyType === "String" ? "x" : propertyType === "Boolean" ? "true" : "5";
    expectError(withRule(rule({ propertyType, operator, expectedValue })), `${RULE}.operator`, new RegExp(`operator ${operator} does not apply to propertyType ${propertyType}`));
  });
  it("invalid JSON paths", () => {
    expectError(withRule(rule({ propertyJPath: "properties..severity" })), `${RULE}.propertyJPath`, /unsupported '\.\.'/);
    expectError(withRule(rule({ propertyJPath: "properties.entities[*].type" })), `${RULE}.propertyJPath`, /unsupported '\[\*\]'/);
    expectError(withRule(rule({ propertyJPath: "$" })), `${RULE}.propertyJPath`, /names no property/);
    expectError(withRule(rule({ propertyJPath: "a[0" })), `${RULE}.propertyJPath`, /unclosed '\['/);
    expectError(withRule(rule({ propertyJPath: "  " })), `${RULE}.propertyJPath`, /must not be empty/);
  });
  it("a misspelt rule field is an error, not a silently empty rule", () => {
    const { propertyJPath: _, ...noPath } = rule();
    expectError(withRule({ ...noPath, propertyJpath: "properties.severity" }), RULE, /unknown field "propertyJpath" in a rule; expected propertyJPath, propertyType, expectedValue, operator/);
    expectError(withRule(noPath), `${RULE}.propertyJPath`, /expected propertyJPath \(a string\), got nothing/);
  });
  it("no sources", () => {
    expectError({ properties: { sources: [] } }, "$.properties.sources", /no sources/);
    expectError({ properties: { isEnabled: true } }, "$.properties.sources", /no sources/);
    expectError({ actions: [] }, "$", /no sources: give sources .* or exportedDataTypes/);
    expectError({ exportedDataTypes: [], isSecurityFindingsEnabled: false }, "$.exportedDataTypes", /no sources/);
  });
  it("wrong JSON types", () => {
    expectError({ properties: { sources: "Alerts" } }, "$.properties.sources", /expected sources \(an array\), got a string/);
    expectError({ properties: { sources: [{ eventSource: "Alerts", ruleSets: {} }] } }, "$.properties.sources[0].ruleSets", /expected ruleSets \(an array or null\), got an object/);
    expectError({ properties: { isEnabled: "yes", sources: [{ eventSource: "Alerts" }] } }, "$.properties.isEnabled", /expected isEnabled \(true or false\), got a string/);
    expectError(withRule(rule({ expectedValue: { a: 1 } })), `${RULE}.expectedValue`, /expected expectedValue \(a string\), got an object/);
    expectError([], "$", /expected an export configuration \(a JSON object\), got an array/);
    expectError(null, "$", /got null/);
    expectError("Alerts", "$", /got a string/);
  });
  it("invalid scopes", () => {
    const bad = (scopePath: unknown) => ({ properties: { scopes: [{ scopePath }], sources: [{ eventSource: "Alerts" }] } });
    expectError(bad("/subscriptions/not-a-guid"), "$.properties.scopes[0].scopePath", /expected \/subscriptions\/<subscription id>/);
    expectError(bad(`${SUB}/providers/Microsoft.Compute/virtualMachines/vm1`), "$.properties.scopes[0].scopePath", /invalid scopePath/);
    expectError(bad(42), "$.properties.scopes[0].scopePath", /got a number/);
  });
  it("reports every problem at once", () => {
    const errors = errorsOf({
      properties: {
        sources: [{ eventSource: "Nope" }, { eventSource: "Alerts", ruleSets: [{ rules: [rule({ operator: "Like" }), rule({ propertyType: "Integer", expectedValue: "x" })] }] }],
      },
    });
    expect(errors.map((e) => e.path)).toEqual([
      "$.properties.sources[0].eventSource",
      "$.properties.sources[1].ruleSets[0].rules[0].operator",
      "$.properties.sources[1].ruleSets[0].rules[1].expectedValue",
    ]);
  });
  it("a list of automations is not one configuration", () => {
    expectError({ value: [{ properties: {} }] }, "$.value", /list of automations; give one/);
  });
  it("mixing the two forms", () => {
    expectError({ sources: [{ eventSource: "Alerts" }], alertSeverities: ["High"] }, "$", /mixes the automations form .* with policy parameters \(alertSeverities\)/);
  });
});

describe("matching as ARM does", () => {
  it("matches enum values case-insensitively and normalizes their spelling", () => {
    const result = parseExportConfiguration({
      sources: [{ eventSource: "alerts", ruleSets: [{ rules: [rule({ propertyType: "string", operator: "NOTEQUALS" })] }] }],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.configuration.sources[0]!.eventSource).toBe("Alerts");
    expect(result.configuration.sources[0]!.ruleSets![0]!.rules[0]).toMatchObject({ propertyType: "String", operator: "NotEquals" });
  });
  it("accepts every operator on the types it applies to", () => {
    const cases: [string, string, string][] = [
      ["Equals", "String", "x"],
      ["NotEquals", "Boolean", "false"],
      ["Contains", "String", "x"],
      ["StartsWith", "String", "x"],
      ["EndsWith", "Boolean", "true"],
      ["GreaterThan", "Integer", "1"],
      ["GreaterThanOrEqualTo", "Number", "0.5"],
      ["LesserThan", "Number", "-2e3"],
      ["LesserThanOrEqualTo", "Integer", "+7"],
      ["Equals", "Number", ".5"],
    ];
    for (const [operator, propertyType, expectedValue] of cases) {
      const result = parseExportConfiguration(withRule(rule({ operator, propertyType, expectedValue })));
      expect(result.ok, `${operator} ${propertyType}`).toBe(true);
    }
  });
  it("accepts a numeric or boolean expectedValue as its text", () => {
    const result = parseExportConfiguration(withRule(rule({ propertyType: "Integer", expectedValue: 5, operator: "GreaterThan" })));
    expect(result.ok && result.configuration.sources[0]!.ruleSets![0]!.rules[0]!.expectedValue).toBe("5");
  });
});

describe("warnings: valid, but maybe not as meant", () => {
  const warningsOf = (input: unknown) => {
    const result = parseExportConfiguration(input);
    expect(result.ok).toBe(true);
    return result.warnings;
  };
  it("no actions: fine for validate and preview, not for exporting", () => {
    expect(warningsOf({ sources: [{ eventSource: "Alerts" }], scopes: [SUB] })).toContainEqual({ path: "$.actions", message: expect.stringMatching(/exporting needs at least one action/) });
  });
  it("findings without their parent recommendation", () => {
    const warnings = warningsOf({ sources: [{ eventSource: "SubAssessments" }] });
    expect(warnings).toContainEqual({ path: "$.sources", message: expect.stringMatching(/findings .* without their parent recommendations/) });
    expect(
      warningsOf({ sources: [{ eventSource: "SubAssessments" }, { eventSource: "Assessments" }] })
        .map((w) => w.message)
        .join(),
    ).not.toMatch(/parent/);
  });
  it("an empty rule set, a disabled configuration, an Internal action, duplicate sources and scopes", () => {
    const result = parseExportConfiguration({
      isEnabled: false,
      scopes: [SUB, `${SUB}/resourceGroups/rg1`, SUB.toUpperCase().replace("/SUBSCRIPTIONS", "/subscriptions")],
      sources: [{ eventSource: "AttackPaths" }, { eventSource: "Alerts", ruleSets: [{ rules: [] }] }, { eventSource: "Alerts", ruleSets: [{ rules: [rule()] }] }],
      actions: [{ actionType: "Internal" }],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const text = result.warnings.map((w) => `${w.path}: ${w.message}`).join("\n");
    // Attack paths are read from Resource Graph: nothing to warn of.
    expect(text).not.toMatch(/sources\[0\]/);
    expect(text).toMatch(/sources\[1\]\.ruleSets\[0\]: a rule set with no rules matches every record/);
    expect(text).toMatch(/isEnabled: .*disabled/);
    expect(text).toMatch(/actions\[0\]: actionType Internal .* ignored/);
    expect(text).toMatch(/eventSource Alerts is listed again/);
    expect(text).toMatch(/already covered by \/subscriptions\/a5caac9c/);
    expect(result.configuration.actions).toEqual([]);
    expect(result.configuration.scopes).toEqual([{ scopePath: SUB }]);
    // Duplicate sources merge: their rule sets are OR-ed.
    expect(result.configuration.sources.filter((s) => s.eventSource === "Alerts")).toHaveLength(1);
    expect(result.configuration.sources[1]!.ruleSets).toHaveLength(2);
  });
});
