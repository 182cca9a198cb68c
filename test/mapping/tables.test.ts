import { describe, expect, it } from "vitest";
import { coerce } from "../../src/mapping/rows.js";
import { customTableName, type ColumnType } from "../../src/records/columns.js";
import { streamDeclaration, tableSchema, toLogAnalyticsRow } from "../../src/mapping/to-row.js";
import { TABLES } from "../../src/datatypes/registry.js";
import { assessmentWithMetadata, exampleRecords } from "../helpers/examples.js";
import { EXPORTED_AT, input } from "../helpers/mapping.js";
import { isReservedColumnName } from "../helpers/reserved-columns.js";

function row(record: Record<string, unknown>, eventSource: Parameters<typeof input>[1], overrides: Parameters<typeof input>[2] = {}) {
  const result = toLogAnalyticsRow(input(record, eventSource, overrides));
  if (result === undefined || !result.ok) throw new Error(`no row: ${JSON.stringify(result)}`);
  return result.row;
}

// The columns real workbooks, analytic rules and hunting queries read (log-analytics-consumers.md).
const READ_BY_QUERIES: Record<string, string[]> = {
  SecurityAlert: [
    "TimeGenerated",
    "AlertSeverity",
    "ProductName",
    "Entities",
    "AlertName",
    "ExtendedProperties",
    "ResourceId",
    "StartTime",
    "AlertLink",
    "EndTime",
    "RemediationSteps",
    "AlertType",
    "DisplayName",
    "IsIncident",
    "ProviderName",
    "SystemAlertId",
    "VendorName",
  ],
  SecurityRecommendation: [
    "RecommendationState",
    "AssessedResourceId",
    "TimeGenerated",
    "RecommendationName",
    "RecommendationSeverity",
    "RecommendationDisplayName",
    "RecommendationId",
    "Environment",
    "RecommendationLink",
    "Description",
    "DiscoveredTimeUTC",
    "NotApplicableReason",
    "RecommendationAdditionalData",
    "RemediationDescription",
  ],
  SecurityRegulatoryCompliance: [
    "ComplianceStandard",
    "ComplianceControl",
    "TimeGenerated",
    "RegulatoryComplianceSubscriptionId",
    "IsSnapshot",
    "RecommendationId",
    "State",
    "FailedResources",
    "PassedResources",
    "SkippedResources",
  ],
  SecureScores: ["TimeGenerated", "PercentageScore", "CurrentScore", "SecureScoresSubscriptionId", "MaxScore", "Weight", "AssessedResourceId"],
  SecureScoreControls: ["AssessedResourceId", "ControlName", "ControlId", "IsSnapshot", "PercentageScore", "HealthyResources", "UnhealthyResources", "NotApplicableResources"],
  // Microsoft's sample query reads RiskLevel; no other query is published, so every native column is kept.
  SecurityAttackPathData: [
    "TimeGenerated",
    "AttackPathId",
    "DisplayName",
    "Description",
    "RiskLevel",
    "RiskFactors",
    "PotentialImpact",
    "AttackStory",
    "Mitre",
    "EntrypointId",
    "TargetId",
    "Path",
    "Assessments",
    "AdditionalRemediationSteps",
  ],
  SecurityNestedRecommendation: ["AdditionalData", "Description", "RecommendationName", "RecommendationSubscriptionId", "RemediationDescription", "ResourceDetails"],
};

describe("table definitions", () => {
  it("define every column that real queries read, with valid custom-table names", () => {
    for (const table of TABLES) {
      const names = table.columns.map((c) => c.name);
      expect(names, table.table).toEqual(expect.arrayContaining(READ_BY_QUERIES[table.table]!));
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) {
        expect(name, `${table.table}.${name}`).toMatch(/^[A-Za-z][A-Za-z0-9_]{0,44}$/);
        expect(isReservedColumnName(name), `${table.table}.${name} is a reserved column name`).toBe(false);
      }
      expect(customTableName(table.table)).toBe(`${table.table}_CL`);
    }
  });

  it("drive the stream declarations and table schemas: the same columns and types", () => {
    for (const table of TABLES) {
      const declared = streamDeclaration(table).columns;
      expect(declared.map((c) => c.name)).toEqual(table.columns.map((c) => c.name));
      expect(tableSchema(table).columns.map((c) => [c.name, c.type])).toEqual(declared.map((c) => [c.name, c.type]));
    }
  });
});

/** Every value in a row has its column's declared type. */
function expectTyped(tableName: string, values: Record<string, unknown>): void {
  const table = TABLES.find((t) => t.table === tableName)!;
  const types = new Map(table.columns.map((c) => [c.name, c.type]));
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue; // left out of the JSON
    const type = types.get(name);
    expect(type, `${tableName}.${name} is not declared`).toBeDefined();
    expect(coerce(value, type as ColumnType), `${tableName}.${name}`).toEqual(value);
    if (type === "datetime") expect(Number.isNaN(Date.parse(value as string))).toBe(false);
    if (type === "string") expect(typeof value).toBe("string");
  }
}

describe("rows from the real payloads", () => {
  it("SecurityAlert", () => {
    const [alert] = exampleRecords("alerts/GetAlertsSubscription_example.json");
    const r = row(alert!, "Alerts");
    expectTyped("SecurityAlert", r);
    expect(r).toMatchObject({
      TimeGenerated: EXPORTED_AT,
      AlertName: "Azure Security Center test alert (not a threat)",
      DisplayName: "Azure Security Center test alert (not a threat)",
      AlertSeverity: "High",
      AlertType: "VM_EICAR",
      AlertLink: expect.stringMatching(/^https:\/\/portal\.azure\.com\/#blade\/Microsoft_Azure_Security\/AlertBlade/),
      CompromisedEntity: "vm1",
      StartTime: "2020-02-22T00:00:00.0000000Z",
      EndTime: "2020-02-22T00:00:00.0000000Z",
      ProcessingEndTime: "2020-02-23T13:47:58.9205584Z",
      IsIncident: true,
      ProductName: "Azure Security Center",
      ProviderName: "Azure Security Center",
      ResourceId: "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/myRg1/providers/Microsoft.Compute/virtualMachines/vm1",
      SourceComputerId: "75724a01-f021-4aa8-9ec2-329792373e6e",
      Status: "Active",
      SystemAlertId: "2518298467986649999_4d25bfef-2d77-4a08-adc0-3e35715cc92a",
      Tactics: "Execution",
      VendorName: "Microsoft",
      WorkspaceResourceGroup: "myRg1",
      WorkspaceSubscriptionId: "20ff7fc3-e762-44dd-bd96-b71116dcdc23",
      AzureTenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      AzureSubscriptionId: "20ff7fc3-e762-44dd-bd96-b71116dcdc23",
      IsSnapshot: false,
      ExportAction: "Insert",
    });
    // The JSON columns that queries parse: legacy entity shape, the alert's own extended property keys.
    expect(JSON.parse(r["Entities"] as string)).toEqual([
      { $id: "1", Type: "ip", Address: "192.0.2.1", Location: { Asn: 6584, City: "sonning", CountryCode: "gb", Latitude: 51.468, Longitude: -0.909, State: "wokingham" } },
    ]);
    expect(JSON.parse(r["ExtendedProperties"] as string)).toEqual({ Property1: "Property1 information" });
    expect(JSON.parse(r["RemediationSteps"] as string)).toEqual(["No further action is needed."]);
    expect(JSON.parse(r["Techniques"] as string)).toEqual(["T1059", "T1053", "T1072"]);
    for (const column of READ_BY_QUERIES["SecurityAlert"]!) expect(r[column], column).toBeDefined();
  });

  it("SecurityRecommendation, with its metadata; removed; not applicable; without an Azure id", () => {
    const metadata = exampleRecords("assessments/ListAssessmentsMetadata_example.json");
    const [healthy, notApplicable] = exampleRecords("assessments/ListAssessments_example.json").map((a) =>
      assessmentWithMetadata(
        a,
        metadata.find((m) => m["name"] === a["name"])!,
      ),
    );
    const r = row(healthy!, "Assessments");
    expectTyped("SecurityRecommendation", r);
    expect(r).toMatchObject({
      AssessedResourceId: "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/myRg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss1",
      RecommendationId: "21300918-b2e3-0346-785f-c77ff57d243b",
      RecommendationName: "Install endpoint protection solution on virtual machine scale sets",
      RecommendationDisplayName: "Install endpoint protection solution on virtual machine scale sets",
      RecommendationSeverity: "Medium",
      RecommendationState: "Healthy",
      Description: expect.stringMatching(/^Install an endpoint protection solution/),
      RemediationDescription: expect.stringMatching(/^To install an endpoint protection solution/),
      PolicyDefinitionId: "/providers/Microsoft.Authorization/policyDefinitions/26a828e1-e88f-464e-bbb3-c134a282b9de",
      RecommendationLink: "https://portal.azure.com/#view/Microsoft_Azure_Security/GenericRecommendationDetailsBlade/assessmentKey/21300918-b2e3-0346-785f-c77ff57d243b",
      DiscoveredTimeUTC: EXPORTED_AT,
      ResolvedTimeUTC: EXPORTED_AT,
      Environment: "Azure",
      ProviderName: "AzureSecurityCenter",
    });
    expect((r["Properties"] as { metadata: unknown }).metadata).toBeDefined();
    for (const column of READ_BY_QUERIES["SecurityRecommendation"]!.filter((c) => c !== "NotApplicableReason" && c !== "RecommendationAdditionalData")) expect(r[column], column).toBeDefined();

    const na = row(notApplicable!, "AssessmentsSnapshot");
    expect(na).toMatchObject({ RecommendationState: "NotApplicable", NotApplicableReason: "OffByPolicy", ResolvedTimeUTC: "0001-01-01T00:00:00Z", IsSnapshot: true });
    expect(na["RecommendationAdditionalData"]).toEqual({ linkedWorkspaceId: expect.any(String) });

    expect(row(healthy!, "Assessments", { action: "Remove" })).toMatchObject({ RecommendationState: "Removed", ExportAction: "Remove", ResolvedTimeUTC: "0001-01-01T00:00:00Z" });
    const onPrem = { ...healthy!, properties: { ...(healthy!["properties"] as object), resourceDetails: { source: "OnPremise", machineName: "srv1" } } };
    expect(row(onPrem, "Assessments")).toMatchObject({ AssessedResourceId: "N/A", Environment: "OnPremise" });
  });

  it("SecurityNestedRecommendation", () => {
    const findings = exampleRecords("subassessments/ListSubscriptionSubAssessments_example.json");
    const r = row(findings[0]!, "SubAssessments");
    expectTyped("SecurityNestedRecommendation", r);
    const p = findings[0]!["properties"] as Record<string, unknown>;
    expect(r).toMatchObject({
      NestedRecommendationId: "8c98f353-8b41-4e77-979b-6adeecd5d168",
      ParentRecommendationId: "dbd0cb49-b563-45e7-9724-889e799fa648",
      VulnerabilityId: p["id"],
      RecommendationName: p["displayName"],
      RecommendationSeverity: (p["status"] as { severity: string }).severity,
      RecommendationState: (p["status"] as { code: string }).code,
      Category: p["category"],
      Impact: p["impact"],
      RemediationDescription: p["remediation"],
      RemidiationDescription: p["remediation"],
      AdditionalData: p["additionalData"],
      ResourceDetails: p["resourceDetails"],
      SubAssessmentTimeGeneration: p["timeGenerated"],
      RecommendationSubscriptionId: "20ff7fc3-e762-44dd-bd96-b71116dcdc23",
      ResourceGroup: "myRg",
      ResourceProviderType: "Microsoft.ContainerRegistry",
      ResourceType: "Microsoft.ContainerRegistry/registries",
    });
    for (const column of READ_BY_QUERIES["SecurityNestedRecommendation"]!) expect(r[column], column).toBeDefined();
    // The native table's Id (a reserved name in custom tables) is the finding's ARM id, as AzureResourceId.
    expect(r).not.toHaveProperty("Id");
    expect(r["AzureResourceId"]).toBe(findings[0]!["id"]);
  });

  it("SecureScores", () => {
    const r = row(exampleRecords("securescore/ListSecureScores_example.json")[0]!, "SecureScoresSnapshot");
    expectTyped("SecureScores", r);
    expect(r).toMatchObject({
      AssessedResourceId: "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/providers/Microsoft.Security/secureScores/ascScore",
      CurrentScore: 23.53,
      MaxScore: 39,
      PercentageScore: 0.6033,
      Weight: 67,
      DisplayName: "ASC score",
      SecureScoresSubscriptionId: "20ff7fc3-e762-44dd-bd96-b71116dcdc23",
      ResourceProviderType: "Microsoft.Security/secureScores",
      IsSnapshot: true,
    });
  });

  it("SecureScoreControls, with the definition", () => {
    const control = exampleRecords("securescore/ListSecureScoreControls_example.json")[1]!;
    const definition = exampleRecords("securescore/ListSecureScoreControlDefinitions_subscription_example.json").find((d) => d["name"] === control["name"])!;
    const r = row({ ...control, properties: { ...(control["properties"] as object), definition } }, "SecureScoreControls");
    expectTyped("SecureScoreControls", r);
    expect(r).toMatchObject({
      ControlId: "34a42fb3-e6db-409c-b56b-7b1db6b8aee0",
      ControlName: "Enable MFA",
      ControlType: "BuiltIn",
      Description: "This control contains recommendations regarding MFA",
      CurrentScore: 10,
      MaxScore: 10,
      PercentageScore: 1,
      HealthyResources: 1,
      UnhealthyResources: 0,
      NotApplicableResources: 0,
      Weight: 1,
      RecommendationResourceIds: [
        "/providers/Microsoft.Security/assessmentMetadata/151e82c5-5341-a74b-1eb0-bc38d2c84bb5",
        "/providers/Microsoft.Security/assessmentMetadata/57e98606-6b1e-6193-0e3d-fe621387c16b",
        "/providers/Microsoft.Security/assessmentMetadata/94290b00-4d0c-d7b4-7cea-064a9554e681",
      ],
    });
  });

  it("SecurityRegulatoryCompliance", () => {
    const assessment = exampleRecords("regulatorycompliance/getRegulatoryComplianceAssessmentList_example.json")[0]!;
    const r = row(assessment, "RegulatoryComplianceAssessmentSnapshot");
    expectTyped("SecurityRegulatoryCompliance", r);
    const p = assessment["properties"] as Record<string, unknown>;
    expect(r).toMatchObject({
      ComplianceStandard: "PCI-DSS-3.2",
      ComplianceControl: "1.1",
      RecommendationId: "968548cb-02b3-8cd2-11f8-0cf64ab1a347",
      RecommendationName: "Troubleshoot missing scan data on your machines",
      RecommendationLink: p["assessmentDetailsLink"],
      State: p["state"],
      PassedResources: 7,
      FailedResources: 4,
      SkippedResources: p["skippedResources"],
      RegulatoryComplianceSubscriptionId: "20ff7fc3-e762-44dd-bd96-b71116dcdc23",
      IsSnapshot: true,
    });
    // The reader's context wins over the id when it has one.
    expect(row(assessment, "RegulatoryComplianceAssessment", { context: { standard: "Azure-Security-Benchmark", control: "NS.1" } })).toMatchObject({
      ComplianceStandard: "Azure-Security-Benchmark",
      ComplianceControl: "NS.1",
    });
  });
});
