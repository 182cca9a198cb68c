import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { Operator, PropertyType } from "../../src/config/enums.js";
import type { Rule } from "../../src/config/model.js";
import { compileConfiguration } from "../../src/rules/configuration.js";
import { compileRule, compileSource, RuleCompileError } from "../../src/rules/compile.js";
import { assessmentWithMetadata, exampleRecords } from "../helpers/examples.js";

const r = (propertyJPath: string, propertyType: PropertyType, operator: Operator, expectedValue: string): Rule => ({ propertyJPath, propertyType, operator, expectedValue });
const test = (record: unknown, rule: Rule) => compileRule(rule)(record);

describe("the nine operators by the four property types", () => {
  const record = { properties: { text: "Hello World", count: 42, score: 23.53, flag: true } };
  // [type, path, operator, expectedValue, result]
  const cases: [PropertyType, string, Operator, string, boolean][] = [
    ["String", "properties.text", "Equals", "hello world", true],
    ["String", "properties.text", "Equals", "Hello", false],
    ["String", "properties.text", "NotEquals", "hello", true],
    ["String", "properties.text", "NotEquals", "HELLO WORLD", false],
    ["String", "properties.text", "Contains", "LO wo", true],
    ["String", "properties.text", "Contains", "xyz", false],
    ["String", "properties.text", "StartsWith", "HELLO", true],
    ["String", "properties.text", "StartsWith", "world", false],
    ["String", "properties.text", "EndsWith", "WORLD", true],
    ["String", "properties.text", "EndsWith", "hello", false],
    ["String", "properties.text", "GreaterThan", "hello", true],
    ["String", "properties.text", "GreaterThan", "zeta", false],
    ["String", "properties.text", "GreaterThanOrEqualTo", "HELLO WORLD", true],
    ["String", "properties.text", "LesserThan", "zeta", true],
    ["String", "properties.text", "LesserThan", "abc", false],
    ["String", "properties.text", "LesserThanOrEqualTo", "hello world", true],
    ["Integer", "properties.count", "Equals", "42", true],
    ["Integer", "properties.count", "Equals", "41", false],
    ["Integer", "properties.count", "NotEquals", "41", true],
    ["Integer", "properties.count", "NotEquals", "+42", false],
    ["Integer", "properties.count", "GreaterThan", "41", true],
    ["Integer", "properties.count", "GreaterThan", "42", false],
    ["Integer", "properties.count", "GreaterThanOrEqualTo", "42", true],
    ["Integer", "properties.count", "GreaterThanOrEqualTo", "43", false],
    ["Integer", "properties.count", "LesserThan", "43", true],
    ["Integer", "properties.count", "LesserThan", "42", false],
    ["Integer", "properties.count", "LesserThanOrEqualTo", "42", true],
    ["Integer", "properties.count", "LesserThanOrEqualTo", "-1", false],
    ["Integer", "properties.count", "Contains", "4", true],
    ["Integer", "properties.count", "Contains", "5", false],
    ["Integer", "properties.count", "StartsWith", "4", true],
    ["Integer", "properties.count", "EndsWith", "2", true],
    ["Integer", "properties.count", "EndsWith", "4", false],
    ["Number", "properties.score", "Equals", "23.53", true],
    ["Number", "properties.score", "Equals", "23.5", false],
    ["Number", "properties.score", "NotEquals", "0", true],
    ["Number", "properties.score", "GreaterThan", "23.5", true],
    ["Number", "properties.score", "GreaterThan", "2.353e1", false],
    ["Number", "properties.score", "GreaterThanOrEqualTo", "23.53", true],
    ["Number", "properties.score", "LesserThan", "23.531", true],
    ["Number", "properties.score", "LesserThan", "23.53", false],
    ["Number", "properties.score", "LesserThanOrEqualTo", "23.529", false],
    ["Number", "properties.score", "Contains", ".5", true],
    ["Number", "properties.score", "StartsWith", "23", true],
    ["Number", "properties.score", "EndsWith", "53", true],
    ["Number", "properties.score", "EndsWith", "5", false],
    ["Boolean", "properties.flag", "Equals", "TRUE", true],
    ["Boolean", "properties.flag", "Equals", "false", false],
    ["Boolean", "properties.flag", "NotEquals", "false", true],
    ["Boolean", "properties.flag", "NotEquals", "true", false],
    ["Boolean", "properties.flag", "GreaterThan", "false", true],
    ["Boolean", "properties.flag", "GreaterThanOrEqualTo", "true", true],
    ["Boolean", "properties.flag", "LesserThan", "true", false],
    ["Boolean", "properties.flag", "LesserThanOrEqualTo", "true", true],
    ["Boolean", "properties.flag", "Contains", "true", true],
    ["Boolean", "properties.flag", "StartsWith", "false", false],
    ["Boolean", "properties.flag", "EndsWith", "true", true],
  ];
  it.each(cases)("%s at %s %s %j is %s", (type, path, operator, expected, result) => {
    expect(test(record, r(path, type, operator, expected))).toBe(result);
  });

  it("covers every operator for every type", () => {
    const covered = new Set(cases.map(([t, , o]) => `${t} ${o}`));
    expect(covered.size).toBe(36);
  });
});

describe("values of the wrong type, and missing properties, make a rule false", () => {
  const record = { properties: { n: "42", f: "12.5", b: "True", o: { a: 1 }, list: [1, 2], nothing: null, num: 7, half: 7.5 } };
  it("converts text that spells the type, as a JSON token converts", () => {
    expect(test(record, r("properties.n", "Integer", "Equals", "42"))).toBe(true);
    expect(test(record, r("properties.f", "Number", "GreaterThan", "12"))).toBe(true);
    expect(test(record, r("properties.b", "Boolean", "Equals", "true"))).toBe(true);
    expect(test(record, r("properties.num", "String", "Equals", "7"))).toBe(true);
  });
  it.each(["Equals", "NotEquals", "Contains", "GreaterThan"] as Operator[])("objects, arrays, null and missing values: %s is false", (operator) => {
    for (const path of ["properties.o", "properties.list", "properties.nothing", "properties.absent", "absent.deeper.still", "properties.n.x"]) {
      const type: PropertyType = operator === "GreaterThan" ? "Number" : "String";
      expect(test(record, r(path, type, operator, "1")), path).toBe(false);
    }
  });
  it("a non-integer is not an Integer, text is not a Boolean", () => {
    expect(test(record, r("properties.half", "Integer", "NotEquals", "1"))).toBe(false);
    expect(test(record, r("properties.f", "Integer", "NotEquals", "1"))).toBe(false);
    expect(test(record, r("properties.n", "Boolean", "NotEquals", "true"))).toBe(false);
  });
  it("refuses to compile what validation would refuse", () => {
    expect(() => compileRule(r("a..b", "String", "Equals", "x"))).toThrow(RuleCompileError);
    expect(() => compileRule(r("a", "Integer", "Equals", "x"))).toThrow(/cannot be converted to Integer/);
  });
});

describe("JSON paths", () => {
  const alert = exampleRecords("alerts/GetAlertsSubscription_example.json")[0]!;
  it.each([
    ["properties.severity", "High"],
    ["$.properties.severity", "High"],
    ["PROPERTIES.Severity", "high"],
    ["properties.entities[0].address", "192.0.2.1"],
    ["$.properties.entities[0].location.countryCode", "GB"],
    ["properties.resourceIdentifiers[1].workspaceResourceGroup", "myRg1"],
    ["$['properties']['extendedProperties']['Property1']", "Property1 information"],
    ['properties["alertDisplayName"]', "Azure Security Center test alert (not a threat)"],
    ["properties.supportingEvidence.rows[2][1]", "Log on"],
  ])("%s", (path, expected) => {
    expect(test(alert, r(path, "String", "Equals", expected))).toBe(true);
    expect(test(alert, r(path, "String", "Equals", `${expected}-not`))).toBe(false);
  });
  it("one compiled rule reads records whose keys are spelt differently, in any order", () => {
    const rule = compileRule(r("Properties.Severity", "String", "Equals", "high"));
    const spellings = [
      { properties: { severity: "High" } },
      { PROPERTIES: { SEVERITY: "high" } },
      { Properties: { Severity: "HIGH" } },
      { properties: { severity: "Low" } },
      { properties: { Severity: "Low", severity: "High" } },
    ];
    expect(spellings.map(rule)).toEqual([true, true, true, false, false]);
    expect([...spellings].reverse().map(rule)).toEqual([false, false, true, true, true]);
  });

  it("an index past the end, or on an object, is missing", () => {
    expect(test(alert, r("properties.entities[5].address", "String", "NotEquals", "x"))).toBe(false);
    expect(test(alert, r("properties[0]", "String", "NotEquals", "x"))).toBe(false);
  });
  it("never reads through the prototype chain", () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": "yes"}, "properties": {}}') as unknown;
    expect(test(hostile, r("__proto__.polluted", "String", "Equals", "yes"))).toBe(true); // an own key named __proto__
    expect(test({}, r("constructor.name", "String", "Equals", "Object"))).toBe(false);
    expect(test({ properties: {} }, r("toString", "String", "NotEquals", "x"))).toBe(false);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("legacy alert event model paths on ARM alerts", () => {
  const [alert1, alert2] = exampleRecords("alerts/GetAlertsSubscription_example.json");
  const alertRule = (propertyJPath: string, expectedValue: string, propertyType: PropertyType = "String", operator: Operator = "Equals") =>
    compileSource({ eventSource: "Alerts", ruleSets: [{ rules: [{ propertyJPath, propertyType, expectedValue, operator }] }] }).matches;

  it.each([
    ["Severity", "high"],
    ["AlertType", "VM_EICAR"],
    ["Intent", "Execution"],
    ["CompromisedEntity", "vm1"],
    ["AlertDisplayName", "Azure Security Center test alert (not a threat)"],
    ["SystemAlertId", "2518298467986649999_4d25bfef-2d77-4a08-adc0-3e35715cc92a"],
    ["VendorName", "Microsoft"],
    ["ProductName", "Azure Security Center"],
    ["StartTimeUtc", "2020-02-22T00:00:00.0000000Z"],
    ["TimeGenerated", "2020-02-23T13:47:58.0000000Z"],
    ["ProcessingEndTime", "2020-02-23T13:47:58.9205584Z"],
    ["ReportedSeverity", "High"],
    ["AzureResourceId", "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/myRg1/providers/Microsoft.Compute/virtualMachines/vm1"],
    ["AzureResourceSubscriptionId", "20ff7fc3-e762-44dd-bd96-b71116dcdc23"],
    ["WorkspaceId", "f419f624-acad-4d89-b86d-f62fa387f019"],
    ["AgentId", "75724a01-f021-4aa8-9ec2-329792373e6e"],
    ["ExtendedProperties.Property1", "Property1 information"],
    ["Entities[0].Address", "192.0.2.1"],
    ["$.RemediationSteps[0]", "No further action is needed."],
  ])("%s", (path, value) => {
    expect(alertRule(path, value)(alert1)).toBe(true);
    expect(alertRule(path, `x${value}`)(alert1)).toBe(false);
  });

  it("IsIncident as a Boolean, and the second alert differs", () => {
    expect(alertRule("IsIncident", "true", "Boolean")(alert1)).toBe(true);
    expect(alertRule("AlertType", "VM_EICAR")(alert2)).toBe(alert2!["properties"] !== undefined && (alert2!["properties"] as { alertType: string }).alertType === "VM_EICAR");
  });

  it("legacy names resolve only on alerts", () => {
    const onAssessment = compileSource({ eventSource: "Assessments", ruleSets: [{ rules: [r("TimeGenerated", "String", "Equals", "2020-02-23T13:47:58.0000000Z")] }] });
    expect(onAssessment.matches(alert1)).toBe(false);
  });
});

describe("rule sets OR-ed, rules AND-ed, policy rules on real records", () => {
  const metadata = exampleRecords("assessments/ListAssessmentsMetadata_example.json");
  const assessments = exampleRecords("assessments/ListAssessments_example.json");
  const withMetadata = assessments.map((a) =>
    assessmentWithMetadata(
      a,
      metadata.find((m) => m["name"] === a["name"])!,
    ),
  );
  const findings = exampleRecords("subassessments/ListSubscriptionSubAssessments_example.json");
  const alerts = [...exampleRecords("alerts/GetAlertsSubscription_example.json"), ...exampleRecords("alerts/GetAlertsResourceGroup_example.json")];
  const scores = exampleRecords("securescore/ListSecureScores_example.json");
  const controls = exampleRecords("securescore/ListSecureScoreControls_example.json");
  const compliance = exampleRecords("regulatorycompliance/getRegulatoryComplianceAssessmentList_example.json");

  function policy(params: Record<string, unknown>) {
    const result = parseExportConfiguration({ isSecurityFindingsEnabled: true, ...params });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return compileConfiguration(result.configuration);
  }

  it("recommendations: severity lives in the embedded metadata", () => {
    const medium = policy({ recommendationSeverities: ["Medium"] }).sourcesFor("assessment")[0]!;
    const high = policy({ recommendationSeverities: ["High"] }).sourcesFor("assessment")[0]!;
    expect(withMetadata.map(medium.matches)).toEqual([true, true]);
    expect(withMetadata.map(high.matches)).toEqual([false, false]);
    // Without metadata the severity rule has nothing to read.
    expect(assessments.map(medium.matches)).toEqual([false, false]);
    const byName = policy({ recommendationNames: ["21300918-b2e3-0346-785f-c77ff57d243b"] }).sourcesFor("assessment")[0]!;
    expect(withMetadata.every(byName.matches)).toBe(true);
    const otherName = policy({ recommendationNames: ["bc303248-3d14-44c2-96a0-55f5c326b5fe"] }).sourcesFor("assessment")[0]!;
    expect(withMetadata.some(otherName.matches)).toBe(false);
  });

  it("findings: selected by their parent recommendation in their id", () => {
    const parent = "dbd0cb49-b563-45e7-9724-889e799fa648";
    const source = policy({ recommendationNames: [parent] }).sourcesFor("subAssessment")[0]!;
    expect(findings.map(source.matches)).toEqual(findings.map((f) => String(f["id"]).includes(`/assessments/${parent}/`)));
    expect(findings.filter(source.matches)).toHaveLength(1);
    expect(policy({}).sourcesFor("subAssessment")[0]!.matches(findings[1])).toBe(true);
    const severity = compileSource({ eventSource: "SubAssessments", ruleSets: [{ rules: [r("properties.status.severity", "String", "Equals", "high")] }] });
    expect(findings.map(severity.matches)).toEqual(findings.map((f) => (f["properties"] as { status: { severity: string } }).status.severity === "High"));
  });

  it("alerts: the policy's lower-case Severity on the ARM alert's properties.severity", () => {
    const high = policy({ alertSeverities: ["High"] }).sourcesFor("alert")[0]!;
    const severities = alerts.map((a) => (a["properties"] as { severity: string }).severity);
    expect(severities).toContain("High");
    expect(alerts.map(high.matches)).toEqual(severities.map((s) => s === "High"));
    const informational = { ...alerts[0]!, properties: { ...(alerts[0]!["properties"] as object), severity: "Informational" } };
    expect(policy({}).sourcesFor("alert")[0]!.matches(informational)).toBe(false);
  });

  it("secure scores, controls and compliance", () => {
    const overall = policy({}).sourcesFor("secureScore")[0]!;
    expect(scores.every(overall.matches)).toBe(true);
    const mfa = policy({ secureScoreControlsNames: ["34a42fb3-e6db-409c-b56b-7b1db6b8aee0"] }).sourcesFor("secureScoreControl")[0]!;
    expect(controls.filter(mfa.matches).map((c) => (c["properties"] as { displayName: string }).displayName)).toEqual(["Enable MFA"]);
    const pci = policy({ regulatoryComplianceStandardsNames: ["pci-dss-3.2"] }).sourcesFor("regulatoryComplianceAssessment")[0]!;
    expect(compliance.every(pci.matches)).toBe(true);
    expect(
      policy({ regulatoryComplianceStandardsNames: ["ISO-27001"] })
        .sourcesFor("regulatoryComplianceAssessment")[0]!
        .matches(compliance[0]),
    ).toBe(false);
    const low = compileSource({ eventSource: "SecureScores", ruleSets: [{ rules: [r("properties.score.percentage", "Number", "LesserThan", "0.7")] }] });
    expect(low.matches(scores[0])).toBe(true);
    const failed = compileSource({
      eventSource: "RegulatoryComplianceAssessment",
      ruleSets: [{ rules: [r("properties.state", "String", "Equals", "failed"), r("properties.failedResources", "Integer", "GreaterThan", "0")] }],
    });
    expect(compliance.map(failed.matches)).toEqual(
      compliance.map((c) => (c["properties"] as { state: string }).state === "Failed" && (c["properties"] as { failedResources: number }).failedResources > 0),
    );
  });

  it("OR over rule sets, AND within; no rule sets selects everything", () => {
    const alert = alerts[0]!;
    const or = compileSource({
      eventSource: "Alerts",
      ruleSets: [{ rules: [r("Severity", "String", "Equals", "low")] }, { rules: [r("Intent", "String", "Equals", "execution"), r("IsIncident", "Boolean", "Equals", "true")] }],
    });
    expect(or.matches(alert)).toBe(true);
    const and = compileSource({ eventSource: "Alerts", ruleSets: [{ rules: [r("Intent", "String", "Equals", "execution"), r("IsIncident", "Boolean", "Equals", "false")] }] });
    expect(and.matches(alert)).toBe(false);
    expect(compileSource({ eventSource: "Alerts", ruleSets: null }).matches(alert)).toBe(true);
    expect(compileSource({ eventSource: "Alerts", ruleSets: [] }).matches(alert)).toBe(true);
  });
});
