import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OPERATORS, PROPERTY_TYPES } from "../../src/config/enums.js";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { Rule } from "../../src/config/model.js";
import { compileConfiguration } from "../../src/rules/configuration.js";
import { compileRule } from "../../src/rules/compile.js";
import { parseJsonPath } from "../../src/config/rule-syntax.js";

// JSON text built by hand, so that keys such as __proto__ become own properties after JSON.parse, as in real input.
const key = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "properties",
    "Properties",
    "severity",
    "Severity",
    "id",
    "type",
    "name",
    "metadata",
    "status",
    "value",
    "sources",
    "ruleSets",
    "rules",
    "eventSource",
    "",
  ),
  fc.string({ maxLength: 6 }),
);
const { json } = fc.letrec<{ json: string }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("null", "true", "false", "0", "-1", "1e308", '"High"', '"true"', '"42"'),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
    fc.array(tie("json"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    fc.array(fc.tuple(key, tie("json")), { maxLength: 5 }).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
  ),
}));
const anyJson = json.map((text) => JSON.parse(text) as unknown);

const expectedFor: Record<Rule["propertyType"], fc.Arbitrary<string>> = {
  String: fc.string({ maxLength: 8 }),
  Integer: fc.integer().map(String),
  Number: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  Boolean: fc.constantFrom("true", "false", "TRUE"),
};
const pathSegment = fc.oneof(
  key.filter((k) => k.trim() !== "" && !/[.[\]*?]/.test(k) && !k.startsWith("$")),
  fc.nat(3).map((n) => `[${n}]`),
);
const path = fc.oneof(
  fc.constantFrom("Severity", "properties.metadata.severity", "$.properties.status.code", "id", "type", "name", "properties.entities[0].address", "__proto__.polluted", "constructor.prototype"),
  fc
    .array(pathSegment, { minLength: 1, maxLength: 4 })
    .map((parts) => parts.map((p, i) => (p.startsWith("[") || i === 0 ? p : `.${p}`)).join(""))
    // Only paths validation accepts: compileRule refuses the others, by design (tested in engine.test.ts).
    .filter((p) => parseJsonPath(p).ok),
);
const rule: fc.Arbitrary<Rule> = fc
  .tuple(fc.constantFrom(...PROPERTY_TYPES), fc.constantFrom(...OPERATORS), path)
  .chain(([propertyType, operator, propertyJPath]) => expectedFor[propertyType].map((expectedValue) => ({ propertyJPath, propertyType, operator, expectedValue })));

describe("the rule engine never throws", () => {
  it("on any JSON record, for any rule of any operator and type", () => {
    fc.assert(
      fc.property(rule, anyJson, (r, record) => {
        const result = compileRule(r, "alert")(record);
        expect(typeof result).toBe("boolean");
        const wrapped = compileRule(r)({ id: "x", properties: record });
        expect(typeof wrapped).toBe("boolean");
      }),
      { numRuns: 3000 },
    );
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    // About 20 s alone; a loaded two-core machine has taken over 40.
  }, 120_000);
});

describe("validation never crashes", () => {
  const assertOutcome = (input: unknown) => {
    const result = parseExportConfiguration(input);
    if (result.ok) {
      expect(result.configuration.sources.length).toBeGreaterThan(0);
      compileConfiguration(result.configuration); // a valid configuration always compiles
    } else {
      expect(result.errors.length).toBeGreaterThan(0);
      for (const e of result.errors) {
        expect(e.path.startsWith("$")).toBe(true);
        expect(e.message.length).toBeGreaterThan(0);
      }
    }
  };

  it("on any JSON, at the top and in every form's fields", () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        assertOutcome(value);
        assertOutcome({ properties: value });
        assertOutcome({ properties: { sources: value } });
        assertOutcome({ sources: [{ eventSource: "Alerts", ruleSets: value }] });
        assertOutcome({ sources: [{ eventSource: "Alerts", ruleSets: [{ rules: [value] }] }] });
        assertOutcome({ sources: [{ eventSource: "Alerts" }], actions: [value], scopes: value });
        assertOutcome({ exportedDataTypes: value });
        assertOutcome({ parameters: { alertSeverities: { value } } });
      }),
      { numRuns: 1500 },
    );
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("on rules of any shape: accepted rules compile, refused ones say why", () => {
    fc.assert(
      fc.property(rule, (r) => {
        assertOutcome({ sources: [{ eventSource: "Alerts", ruleSets: [{ rules: [r] }] }] });
      }),
      { numRuns: 2000 },
    );
  });
});
