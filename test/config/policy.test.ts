import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import { POLICY_DATA_TYPES } from "../../src/config/policy.js";
import type { ExportConfiguration, RuleSet, Source } from "../../src/config/model.js";

const SUB = "a5caac9c-5c04-49af-b3d0-e204f40345d5";

function compile(params: Record<string, unknown>): ExportConfiguration {
  const result = parseExportConfiguration(params);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.configuration;
}

// The rules exactly as the policy template writes them (export-rules.md §3.2).
const str = (propertyJPath: string, expectedValue: string, operator: string) => ({ propertyJPath, propertyType: "String", expectedValue, operator });
const assessmentSet = (name: string | undefined, severity: string): RuleSet =>
  ({ rules: [name === undefined ? str("type", "Microsoft.Security/assessments", "Contains") : str("name", name, "Contains"), str("properties.metadata.severity", severity, "Equals")] }) as RuleSet;
const alertSet = (severity: string): RuleSet => ({ rules: [str("Severity", severity, "Equals")] }) as RuleSet;

describe("policy parameters compile to sources as the built-in policy does", () => {
  it("defaults: all eight data types of version 4.0.0, all severities, findings first", () => {
    const config = compile({ isSecurityFindingsEnabled: true });
    const allSeverities = ["High", "Medium", "Low"].map((s) => assessmentSet(undefined, s));
    expect(config.sources).toEqual<Source[]>([
      { eventSource: "SubAssessments", ruleSets: null },
      { eventSource: "Assessments", ruleSets: allSeverities },
      { eventSource: "Alerts", ruleSets: ["high", "medium", "low"].map(alertSet) },
      { eventSource: "SecureScores", ruleSets: null },
      { eventSource: "SecureScoreControls", ruleSets: null },
      { eventSource: "RegulatoryComplianceAssessment", ruleSets: null },
      { eventSource: "SecureScoresSnapshot", ruleSets: null },
      { eventSource: "SecureScoreControlsSnapshot", ruleSets: null },
      { eventSource: "RegulatoryComplianceAssessmentSnapshot", ruleSets: null },
    ]);
    expect(config.isEnabled).toBe(true);
  });

  it("recommendation names by severities, names outer; findings filtered by their parent's id", () => {
    const config = compile({
      exportedDataTypes: ["Security recommendations", "Security recommendations - snapshot", "Security findings - snapshot"],
      recommendationNames: ["4fb67663-9ab9-475d-b026-8c544cced439", "1195afff-c881-495e-9bc5-1486211ae03f"],
      recommendationSeverities: ["High", "Low"],
    });
    const sets = [
      assessmentSet("4fb67663-9ab9-475d-b026-8c544cced439", "High"),
      assessmentSet("4fb67663-9ab9-475d-b026-8c544cced439", "Low"),
      assessmentSet("1195afff-c881-495e-9bc5-1486211ae03f", "High"),
      assessmentSet("1195afff-c881-495e-9bc5-1486211ae03f", "Low"),
    ];
    const findings = ["4fb67663-9ab9-475d-b026-8c544cced439", "1195afff-c881-495e-9bc5-1486211ae03f"].map((n) => ({ rules: [str("id", `/assessments/${n}/`, "Contains")] }) as RuleSet);
    expect(config.sources).toEqual([
      { eventSource: "SubAssessments", ruleSets: findings },
      { eventSource: "Assessments", ruleSets: sets },
      { eventSource: "AssessmentsSnapshot", ruleSets: sets },
      { eventSource: "SubAssessmentsSnapshot", ruleSets: findings },
    ]);
  });

  it("alert severities lower-cased, controls and standards by name, overall score never filtered", () => {
    const config = compile({
      exportedDataTypes: ["security alerts", "Overall secure score", "Secure score controls - snapshot", "Regulatory compliance"],
      alertSeverities: ["medium", "HIGH"],
      secureScoreControlsNames: ["Enable MFA"],
      regulatoryComplianceStandardsNames: ["PCI-DSS-3.2", "ISO-27001"],
      isSecurityFindingsEnabled: false,
    });
    expect(config.sources).toEqual([
      { eventSource: "Alerts", ruleSets: [alertSet("medium"), alertSet("high")] },
      { eventSource: "SecureScores", ruleSets: null },
      { eventSource: "SecureScoreControlsSnapshot", ruleSets: [{ rules: [str("name", "Enable MFA", "Equals")] }] },
      { eventSource: "RegulatoryComplianceAssessment", ruleSets: [{ rules: [str("id", "PCI-DSS-3.2", "Contains")] }, { rules: [str("id", "ISO-27001", "Contains")] }] },
    ]);
  });

  it("reads an ARM parameters file and {value} pairs, and turns the destination parameters into actions", () => {
    const workspace = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law`;
    const config = compile({
      $schema: "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
      contentVersion: "1.0.0.0",
      parameters: {
        exportedDataTypes: { value: ["Security alerts"] },
        alertSeverities: { value: ["High"] },
        isSecurityFindingsEnabled: { value: false },
        resourceGroupName: { value: "defender-export" },
        resourceGroupLocation: { value: "westeurope" },
        createResourceGroup: { value: true },
        workspaceResourceId: { value: workspace },
        eventHubDetails: {
          value: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/contoso-ns1/eventhubs/hub1/authorizationrules/RootManageSharedAccessKey`,
        },
      },
    });
    expect(config.sources).toEqual([{ eventSource: "Alerts", ruleSets: [alertSet("high")] }]);
    expect(config.actions).toEqual([
      { actionType: "Workspace", workspaceResourceId: workspace },
      {
        actionType: "EventHub",
        eventHubResourceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/contoso-ns1/eventhubs/hub1`,
        fullyQualifiedNamespace: "contoso-ns1.servicebus.windows.net",
        eventHubName: "hub1",
      },
    ]);
  });

  it("locates problems in wrapped parameters", () => {
    const result = parseExportConfiguration({ parameters: { alertSeverities: { value: ["High", "Critical"] }, exportedDataTypes: { value: ["Security alerts", "Security incidents"] } } });
    expect(!result.ok && result.errors).toEqual([
      { path: "$.parameters.exportedDataTypes.value[1]", message: expect.stringMatching(/^unknown exported data type "Security incidents"; expected one of Security recommendations, /) },
      { path: "$.parameters.alertSeverities.value[1]", message: 'unknown severity "Critical"; expected one of High, Medium, Low' },
    ]);
  });

  it("rejects what the policy could not deploy, and typos", () => {
    const errors = (input: unknown) => {
      const r = parseExportConfiguration(input);
      return r.ok ? [] : r.errors;
    };
    expect(errors({ alertSeverities: [] })).toEqual([{ path: "$.alertSeverities", message: expect.stringMatching(/at least one of High, Medium, Low/) }]);
    expect(errors({ recommendationSeverities: ["High", "high"] })).toEqual([{ path: "$.recommendationSeverities[1]", message: 'severity "High" is listed twice' }]);
    expect(errors({ exportedDataTypes: ["Security alerts"], alertSeverity: ["High"] })).toEqual([
      { path: "$", message: expect.stringMatching(/^unknown field "alertSeverity" in the policy parameters; expected .*alertSeverities/) },
    ]);
    expect(errors({ isSecurityFindingsEnabled: "true" })).toEqual([{ path: "$.isSecurityFindingsEnabled", message: "expected isSecurityFindingsEnabled (true or false), got a string" }]);
    expect(errors({ recommendationNames: ["ok", ""] })).toEqual([{ path: "$.recommendationNames[1]", message: "a recommendation name must not be empty" }]);
    expect(errors({ eventHubDetails: "/subscriptions/x/resourceGroups/rg" })).toEqual([{ path: "$.eventHubDetails", message: expect.stringMatching(/expected an Event Hub authorization rule id/) }]);
    // `__proto__` is a field like any other, refused as unknown: not taken for the object's prototype and dropped.
    const unknownProto = [{ path: "$", message: expect.stringMatching(/^unknown field "__proto__" in the policy parameters/) }];
    expect(errors(JSON.parse('{"exportedDataTypes": ["Security alerts"], "__proto__": {"alertSeverities": ["Low"]}}'))).toEqual(unknownProto);
    expect(errors(JSON.parse('{"parameters": {"exportedDataTypes": {"value": ["Security alerts"]}, "__proto__": {"value": 1}}}'))).toEqual([
      { path: "$.parameters", message: expect.stringMatching(/^unknown field "__proto__"/) },
    ]);
  });

  it("holds for any combination of parameters", () => {
    const dataTypes = Object.keys(POLICY_DATA_TYPES);
    const severity = fc.constantFrom("High", "Medium", "Low");
    const name = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
    fc.assert(
      fc.property(
        fc.record(
          {
            exportedDataTypes: fc.uniqueArray(fc.constantFrom(...dataTypes), { minLength: 1 }),
            recommendationNames: fc.uniqueArray(name, { maxLength: 4 }),
            recommendationSeverities: fc.uniqueArray(severity, { minLength: 1 }),
            alertSeverities: fc.uniqueArray(severity, { minLength: 1 }),
            isSecurityFindingsEnabled: fc.boolean(),
          },
          { requiredKeys: ["exportedDataTypes"] },
        ),
        (params) => {
          const config = compile(params);
          const findingsOn = params.isSecurityFindingsEnabled ?? true;
          const expectedOrder = [...(findingsOn ? ["SubAssessments"] : []), ...params.exportedDataTypes.map((t) => POLICY_DATA_TYPES[t as keyof typeof POLICY_DATA_TYPES])];
          expect(config.sources.map((s) => s.eventSource)).toEqual(expectedOrder);
          const names = params.recommendationNames ?? [];
          const severities = params.recommendationSeverities ?? ["High", "Medium", "Low"];
          for (const source of config.sources) {
            if (source.eventSource === "Assessments" || source.eventSource === "AssessmentsSnapshot") {
              const pairs = source.ruleSets!.map((rs) => [rs.rules[0]!.expectedValue, rs.rules[1]!.expectedValue]);
              const expectedPairs = (names.length ? names : ["Microsoft.Security/assessments"]).flatMap((n) => severities.map((s) => [n, s]));
              expect(pairs).toEqual(expectedPairs);
            }
            if (source.eventSource === "Alerts") {
              expect(source.ruleSets!.map((rs) => rs.rules[0]!.expectedValue)).toEqual((params.alertSeverities ?? ["High", "Medium", "Low"]).map((s) => s.toLowerCase()));
            }
            if (source.eventSource.startsWith("SubAssessments")) {
              expect(source.ruleSets === null ? [] : source.ruleSets.map((rs) => rs.rules[0]!.expectedValue)).toEqual(names.map((n) => `/assessments/${n}/`));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
