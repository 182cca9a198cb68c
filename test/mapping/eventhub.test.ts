import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { toEvent } from "../../src/mapping/eventhub.js";
import { eventBody, eventBytes, toEventWithin } from "../../src/mapping/to-event.js";
import { assessmentWithMetadata, EVENT_SCHEMAS_DIR, exampleRecords } from "../helpers/examples.js";
import { EXPORTED_AT, input } from "../helpers/mapping.js";
import { recordUtf8 } from "../../src/records/record.js";

const [alert] = exampleRecords("alerts/GetAlertsSubscription_example.json");
const metadata = exampleRecords("assessments/ListAssessmentsMetadata_example.json");
const assessment = assessmentWithMetadata(exampleRecords("assessments/ListAssessments_example.json")[0]!, metadata[0]!);
const [containerFinding] = exampleRecords("subassessments/ListSubscriptionSubAssessments_example.json");
const score = exampleRecords("securescore/ListSecureScores_example.json")[0]!;
const control = exampleRecords("securescore/ListSecureScoreControls_example.json")[0]!;
const compliance = exampleRecords("regulatorycompliance/getRegulatoryComplianceAssessmentList_example.json")[0]!;

// Fields seen in real messages (event-hub-messages.md), and the legacy schema's required fields.
const LEGACY_ALERT_FIELDS = [
  "VendorName",
  "AlertType",
  "ProductName",
  "StartTimeUtc",
  "EndTimeUtc",
  "TimeGenerated",
  "ProcessingEndTime",
  "Severity",
  "Status",
  "ProviderAlertStatus",
  "ConfidenceLevel",
  "ConfidenceScore",
  "ConfidenceReasons",
  "IsIncident",
  "SystemAlertId",
  "CorrelationKey",
  "Intent",
  "AzureResourceId",
  "WorkspaceId",
  "WorkspaceSubscriptionId",
  "WorkspaceResourceGroup",
  "AgentId",
  "CompromisedEntity",
  "AlertDisplayName",
  "Description",
  "Entities",
  "ExtendedLinks",
  "ResourceIdentifiers",
  "RemediationSteps",
  "ExtendedProperties",
  "AlertUri",
];
const schemaRequired = (JSON.parse(readFileSync(`${EVENT_SCHEMAS_DIR}SecurityAlert.schema.json`, "utf8")) as { required: string[] }).required;

describe("Event Hubs messages, default shapes", () => {
  it("alerts: the legacy PascalCase alert event model, converted from the ARM alert", () => {
    const { body, partitionKey, category } = toEvent(input(alert!, "Alerts"));
    expect(Object.keys(body)).toEqual(expect.arrayContaining([...LEGACY_ALERT_FIELDS, ...schemaRequired]));
    for (const envelope of ["id", "name", "type", "properties"]) expect(body).not.toHaveProperty(envelope);
    expect(body).toMatchObject({
      SystemAlertId: "2518298467986649999_4d25bfef-2d77-4a08-adc0-3e35715cc92a",
      Severity: "High",
      ReportedSeverity: "High",
      Status: "New",
      ProviderAlertStatus: "Active",
      AlertType: "VM_EICAR",
      AlertDisplayName: "Azure Security Center test alert (not a threat)",
      VendorName: "Microsoft",
      AzureResourceId: "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/myRg1/providers/Microsoft.Compute/virtualMachines/vm1",
      AzureResourceSubscriptionId: "20ff7fc3-e762-44dd-bd96-b71116dcdc23",
      WorkspaceId: "f419f624-acad-4d89-b86d-f62fa387f019",
      AgentId: "75724a01-f021-4aa8-9ec2-329792373e6e",
      ExtendedProperties: { Property1: "Property1 information" },
      ConfidenceLevel: null,
      RemediationSteps: ["No further action is needed."],
    });
    expect(body["Entities"]).toEqual([expect.objectContaining({ $id: "1", Type: "ip", Address: "192.0.2.1" })]);
    expect(body["ResourceIdentifiers"]).toEqual([
      expect.objectContaining({ $id: "2", Type: "AzureResource", AzureResourceId: expect.stringContaining("/virtualMachines/vm1") }),
      expect.objectContaining({ $id: "3", Type: "LogAnalytics", WorkspaceId: "f419f624-acad-4d89-b86d-f62fa387f019" }),
    ]);
    expect(body["ExtendedLinks"]).toEqual([{ Category: "threat_reports", Href: "https://contoso.com/reports/DisplayReport", Label: "Report: RDP Brute Forcing", Type: "webLink" }]);
    expect(partitionKey).toBe("/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourcegroups/myrg1/providers/microsoft.compute/virtualmachines/vm1");
    expect(category).toBe("SecurityAlert");
  });

  it("recommendations: the ARM resource with both enrichments; removal is Delete", () => {
    const { body, partitionKey } = toEvent(input(assessment, "Assessments"));
    expect(body).toEqual({
      assessmentEventDataEnrichment: { action: "Insert", apiVersion: "2021-06-01", isSnapshot: false },
      securityEventDataEnrichment: { action: "Insert", apiVersion: "2021-06-01", isSnapshot: false, interval: "00:00:00" },
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      kind: null,
      location: null,
      tags: null,
      ...assessment,
    });
    expect((body["properties"] as { metadata: { severity: string } }).metadata.severity).toBe("Medium");
    expect(partitionKey).toBe(String((assessment["properties"] as { resourceDetails: { id: string } }).resourceDetails.id).toLowerCase());
    const removed = toEvent(input(assessment, "AssessmentsSnapshot", { action: "Remove" })).body;
    expect(removed["assessmentEventDataEnrichment"]).toEqual({ action: "Delete", apiVersion: "2021-06-01", isSnapshot: true });
  });

  it("scores, controls and compliance: the ARM resource with securityEventDataEnrichment", () => {
    for (const [record, source, apiVersion] of [
      [score, "SecureScoresSnapshot", "2020-01-01"],
      [control, "SecureScoreControls", "2020-01-01"],
      [compliance, "RegulatoryComplianceAssessmentSnapshot", "2019-01-01-preview"],
    ] as const) {
      const { body } = toEvent(input(record, source));
      expect(body).toEqual({ securityEventDataEnrichment: { action: "Insert", apiVersion, isSnapshot: source.endsWith("Snapshot"), interval: "00:00:00" }, ...record });
    }
  });

  it("findings: camelCase with subAssessmentEventDataEnrichment, or the PascalCase form", () => {
    const camel = toEvent(input(containerFinding!, "SubAssessments"));
    expect(camel.body).toMatchObject({
      subAssessmentEventDataEnrichment: { action: "Insert", apiVersion: "2019-01-01-preview", isSnapshot: false },
      id: containerFinding!["id"],
      properties: containerFinding!["properties"],
    });
    // A container image finding is about its registry.
    expect(camel.partitionKey).toBe("/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourcegroups/myrg/providers/microsoft.containerregistry/registries/myregistry");
    const pascal = toEvent(input(containerFinding!, "SubAssessmentsSnapshot"), { findingsShape: "pascal" }).body;
    expect(pascal).toMatchObject({
      SubAssessmentEventDataEnrichment: { Action: "Insert", ApiVersion: "2019-01-01-preview", IsSnapshot: true },
      SecurityEventDataEnrichment: { Action: "Insert", IsSnapshot: true },
      TenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      Id: containerFinding!["id"],
      Name: containerFinding!["name"],
      Type: containerFinding!["type"],
      Properties: { DisplayName: expect.any(String), Status: { Code: expect.any(String), Severity: expect.any(String) }, ResourceDetails: { Source: "Azure", Id: expect.any(String) } },
    });
  });
});

describe("Event Hubs messages, other formats", () => {
  it("api: the ARM alert as the API returns it, with the enrichment", () => {
    const { body } = toEvent(input(alert!, "Alerts"), { format: "api" });
    expect(body).toEqual({ securityEventDataEnrichment: { action: "Insert", apiVersion: "2021-11-01", isSnapshot: false, interval: "00:00:00" }, ...alert });
  });

  it("xdr: the streaming record of the Defender XDR envelope", () => {
    const { body, category } = toEvent(input(assessment, "Assessments"), { format: "xdr" });
    expect(body).toEqual({ time: EXPORTED_AT, tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", category: "SecurityRecommendation", properties: assessment });
    expect(category).toBe("SecurityRecommendation");
  });

  it("keys named __proto__ stay data", () => {
    const hostile = JSON.parse(
      `{"id": "/subscriptions/s/providers/Microsoft.Security/secureScores/x", "name": "x", "type": "Microsoft.Security/secureScores", "properties": {"__proto__": {"polluted": true}}, "__proto__": {"evil": 1}}`,
    ) as Record<string, unknown>;
    const { body } = toEvent(input(hostile, "SecureScores"));
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(JSON.stringify(body)).toContain('"__proto__":{"evil":1}');
    expect(({} as Record<string, unknown>)["evil"]).toBeUndefined();
  });
});

describe("Event Hubs messages as sent", () => {
  // Most events are written without their object (the record's JSON after the enrichment's): the bytes must be
  // those of the object, whatever the type, format, action, tenant, or a record member named like an enrichment's.
  const records = [
    [alert!, "Alerts"],
    [assessment, "Assessments"],
    [containerFinding!, "SubAssessmentsSnapshot"],
    [score, "SecureScores"],
    [control, "SecureScoreControlsSnapshot"],
    [compliance, "RegulatoryComplianceAssessment"],
    [{ ...assessment, tenantId: "0f0e0d0c-0000-4000-8000-000000000000", kind: "k" }, "Assessments"],
    [{ securityEventDataEnrichment: "first", ...score }, "SecureScoresSnapshot"],
    // Members named like array indexes go first in an object; names that only look like them keep their place.
    [{ ...assessment, "0": "zero" }, "Assessments"],
    [{ ...score, "4294967294": { a: 1 } }, "SecureScores"],
    [{ ...score, "-1": "x", "01": "y", "1.5": "z", "4294967295": "w", constructor: "c", toJSON: "t" }, "SecureScores"],
    [{ id: "/subscriptions/s/providers/Microsoft.Security/secureScores/empty" }, "SecureScores"],
    [{ id: "/subscriptions/s/providers/Microsoft.Security/secureScores/é€", properties: { displayName: "€ \u2028 \ud83d\ude00 \ud800" } }, "SecureScores"],
  ] as const;
  it("are the JSON of the event's object", () => {
    let spliced = 0;
    let fromOriginal = 0;
    for (const [record, source] of records) {
      for (const options of [{}, { format: "api" }, { format: "xdr" }, { findingsShape: "pascal" }] as const) {
        for (const overrides of [{}, { action: "Remove" }, { action: "Update", tenantId: undefined }] as const) {
          // Also after a cut row's original was made of the record: a spliced event copies its bytes.
          for (const original of [false, true]) {
            const event = input(record, source, overrides);
            if (original) recordUtf8(event);
            const sent = toEventWithin(event, 1_048_000, options);
            if (!sent.ok) throw new Error(sent.reason);
            const made = toEvent(event, options);
            expect(sent.json).toBe(JSON.stringify(made.body));
            expect(eventBytes(sent).toString("utf8")).toBe(sent.json);
            expect(eventBytes(sent).equals(Buffer.from(JSON.stringify(made.body), "utf8"))).toBe(true);
            expect(eventBody(sent)).toEqual(made.body);
            expect([sent.partitionKey, sent.category]).toEqual([made.partitionKey, made.category]);
            if (sent.body === undefined) spliced++;
            if (sent.spliced?.recordBytes !== undefined) fromOriginal++;
          }
        }
      }
    }
    expect(spliced).toBeGreaterThan(records.length * 6);
    expect(fromOriginal).toBe(spliced / 2);
  });

  it("an empty record is the enrichment alone", () => {
    const sent = toEventWithin(input({}, "SecureScores", { id: "/subscriptions/s/providers/microsoft.security/securescores/empty" }), 1_048_000);
    if (!sent.ok) throw new Error(sent.reason);
    expect(JSON.parse(eventBytes(sent).toString("utf8"))).toEqual({ securityEventDataEnrichment: { action: "Insert", apiVersion: "2020-01-01", isSnapshot: false, interval: "00:00:00" } });
    expect(eventBytes(sent).toString("utf8")).toBe(sent.json);
  });

  it("a record changed since an event was made of it is written anew", () => {
    const record = structuredClone(score);
    const first = toEventWithin(input(record, "SecureScores"), 1_048_000);
    (record["properties"] as Record<string, unknown>)["displayName"] = "changed since";
    const second = toEventWithin(input(record, "SecureScores"), 1_048_000);
    expect(first.ok && second.ok && second.json).toContain('"displayName":"changed since"');
  });
});
