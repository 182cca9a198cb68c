import { describe, expect, it } from "vitest";
import { CHANGE_RULES } from "../../src/change/fingerprints.js";
import { jsonBytes, LOG_ANALYTICS_ROW_LIMIT } from "../../src/mapping/cut.js";
import { toEvent } from "../../src/mapping/eventhub.js";
import { toEventWithin } from "../../src/mapping/to-event.js";
import { toLogAnalyticsRow } from "../../src/mapping/to-row.js";
import type { OutgoingRecord } from "../../src/records/record.js";
import { compileSource } from "../../src/rules/compile.js";
import { EXPORTED_AT, input } from "../helpers/mapping.js";

type Json = Record<string, unknown>;
const SUB = "11111111-2222-3333-4444-555555555555";
const ID = `/subscriptions/${SUB}/providers/Microsoft.Security/attackPaths/9a1e0c3e-5b7d-4f0a-9d7e-2f6c8b1a4e10`;
const VM = `/subscriptions/${SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-web-01`;

/** attack-path-api.md's documented fields, as the composed example in the reference shows them. */
function attackPath(entities = 3): Json {
  const graphEntities = [
    { entityInternalId: "e-0", entityName: "Internet", entityType: "internet", entityIdentifiers: {} },
    { entityInternalId: "e-1", entityName: "vm-web-01", entityType: "virtualmachine", entityIdentifiers: { azureResourceId: VM } },
    ...Array.from({ length: entities - 2 }, (_, i) => ({
      entityInternalId: `e-${i + 2}`,
      entityName: `kv-prod-${i}`,
      entityType: "keyvault",
      entityIdentifiers: { azureResourceId: `/subscriptions/${SUB}/resourceGroups/rg-sec/providers/Microsoft.KeyVault/vaults/kv-prod-${i}` },
    })),
  ];
  return {
    id: ID,
    name: "9a1e0c3e-5b7d-4f0a-9d7e-2f6c8b1a4e10",
    type: "microsoft.security/attackpaths",
    tenantId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    location: "",
    resourceGroup: "",
    subscriptionId: SUB,
    properties: {
      displayName: "Internet exposed VM with high severity vulnerabilities and read permission to a Key Vault",
      description: "Virtual machine 'vm-web-01' is reachable from the internet, has high severity vulnerabilities and its identity can read secrets in key vault 'kv-prod'.",
      attackPathType: "template-7",
      riskLevel: "High",
      riskFactors: ["Internet exposure", "Vulnerabilities"],
      riskCategories: ["Data exposure"],
      potentialImpact: "Secrets exposed",
      manualRemediationSteps: ["Restrict inbound access to vm-web-01", "Remediate the vulnerabilities on vm-web-01"],
      refreshInterval: "P1D",
      entryPointEntityInternalID: "e-1",
      targetEntityInternalID: "e-2",
      attackStory: "An attacker reaches vm-web-01 from the internet and reads the key vault's secrets.",
      mITRETacticsAndTechniques: ["Initial Access", "T1190"],
      assessments: { "e-1": [{ [`${VM}/providers/Microsoft.Security/assessments/1195afff-c881-495e-9bc5-1486211ae03f`]: {} }] },
      graphComponent: {
        entities: graphEntities,
        connections: graphEntities
          .slice(1)
          .map((e, i) => ({ connectionId: `c-${i}`, sourceEntityInternalId: i === 0 ? "e-0" : "e-1", targetEntityInternalId: e.entityInternalId, title: "has permissions to" })),
        insights: [{ entityInternalId: "e-1", additionalData: { type: "Sensitivity" } }],
      },
    },
  };
}

const props = (record: Json) => record["properties"] as Json;

function row(record: Json, overrides: Partial<OutgoingRecord> = {}) {
  const result = toLogAnalyticsRow(input(record, "AttackPaths", overrides), { overflowBlob: "overflow/securityattackpathdata/x.json" });
  if (result === undefined || !result.ok) throw new Error(`no row: ${JSON.stringify(result)}`);
  return result.row;
}

describe("attack paths in SecurityAttackPathData_CL", () => {
  it("fill the native table's columns from the Resource Graph record, and the common ones", () => {
    const record = attackPath();
    const r = row(record);
    expect(r).toMatchObject({
      TimeGenerated: EXPORTED_AT,
      IsSnapshot: false,
      RecordId: ID.toLowerCase(),
      ExportAction: "Insert",
      AzureSubscriptionId: SUB,
      AzureResourceId: ID,
      AttackPathId: "9a1e0c3e-5b7d-4f0a-9d7e-2f6c8b1a4e10",
      DisplayName: props(record)["displayName"],
      Description: props(record)["description"],
      RiskLevel: "High",
      RiskFactors: ["Internet exposure", "Vulnerabilities"],
      PotentialImpact: "Secrets exposed",
      AttackStory: props(record)["attackStory"],
      Mitre: '["Initial Access","T1190"]',
      EntrypointId: "e-1",
      TargetId: "e-2",
      Path: props(record)["graphComponent"],
      Assessments: props(record)["assessments"],
      AdditionalRemediationSteps: "Restrict inbound access to vm-web-01\nRemediate the vulnerabilities on vm-web-01",
    });
    expect(r["IsTruncated"]).toBeUndefined();
    expect(row(record, { isSnapshot: true, eventSource: "AttackPathsSnapshot" })["IsSnapshot"]).toBe(true);
    // The configured tenant, else the row's own.
    expect(r["AzureTenantId"]).toBe("72f988bf-86f1-41af-91ab-2d7cd011db47");
    expect(row(record, { tenantId: undefined })["AzureTenantId"]).toBe("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
  });

  it("name the entry point and target of Exposure Management rows (objects instead of internal ids) by their entity names", () => {
    const record = attackPath();
    const p = props(record);
    delete p["entryPointEntityInternalID"];
    delete p["targetEntityInternalID"];
    p["entryPoint"] = { entityName: "vm-web-01", entityType: "virtualmachine" };
    p["target"] = { entityName: "kv-prod-0", entityType: "keyvault" };
    expect(row(record)).toMatchObject({ EntrypointId: "vm-web-01", TargetId: "kv-prod-0" });
    // An object without a name is not put whole into a column that is never cut.
    p["target"] = { entityType: "keyvault", details: "x".repeat(40_000) };
    const r = row(record);
    expect(r["TargetId"]).toBeUndefined();
    expect(jsonBytes(r)).toBeLessThanOrEqual(LOG_ANALYTICS_ROW_LIMIT);
  });

  it("a path that is gone: RiskLevel Removed, ExportAction Remove", () => {
    const removed = { id: ID.toLowerCase(), name: "9a1e0c3e-5b7d-4f0a-9d7e-2f6c8b1a4e10", type: "microsoft.security/attackpaths", properties: {} };
    expect(row(removed, { action: "Remove" })).toMatchObject({ RiskLevel: "Removed", ExportAction: "Remove", AttackPathId: removed.name, RecordId: ID.toLowerCase() });
  });

  for (const [label, entities, min] of [
    ["over 32 KB", 300, 32_768],
    ["over 1 MB", 6_000, 1_048_576],
  ] as const) {
    it(`a path ${label} is cut to 32 KB, keeping what identifies it, and says so`, () => {
      const record = attackPath(entities);
      expect(jsonBytes(record)).toBeGreaterThan(min);
      const r = row(record);
      expect(jsonBytes(r)).toBeLessThanOrEqual(LOG_ANALYTICS_ROW_LIMIT);
      expect(r).toMatchObject({ IsTruncated: true, OverflowBlob: "overflow/securityattackpathdata/x.json", RiskLevel: "High", EntrypointId: "e-1", TargetId: "e-2", AttackPathId: record["name"] });
      expect(r["TruncatedColumns"]).toContain("Path");

      const event = toEventWithin(input(record, "AttackPaths"), LOG_ANALYTICS_ROW_LIMIT);
      if (!event.ok) throw new Error(event.reason);
      expect(Buffer.byteLength(event.json)).toBeLessThanOrEqual(LOG_ANALYTICS_ROW_LIMIT);
      expect(event.body).toMatchObject({
        id: ID,
        name: record["name"],
        type: "microsoft.security/attackpaths",
        isTruncated: true,
        properties: { riskLevel: "High", entryPointEntityInternalID: "e-1" },
      });
      // The same record cuts the same way every time.
      expect(toEventWithin(input(record, "AttackPaths"), LOG_ANALYTICS_ROW_LIMIT)).toEqual(event);
      expect(row(record)).toEqual(r);
    });
  }
});

describe("attack paths on Event Hubs", () => {
  it("the Resource Graph record with securityEventDataEnrichment, as the other non-alert types (this product's choice)", () => {
    const record = attackPath();
    const { body, category } = toEvent(input(record, "AttackPathsSnapshot", { isSnapshot: true }));
    expect(body).toEqual({ ...record, securityEventDataEnrichment: { action: "Insert", apiVersion: "2024-04-01", isSnapshot: true, interval: "00:00:00" } });
    expect(category).toBe("SecurityAttackPathData");
    expect(toEvent(input(record, "AttackPaths", { action: "Remove" })).body["securityEventDataEnrichment"]).toMatchObject({ action: "Delete" });
  });

  it("the XDR envelope carries it under its category", () => {
    const record = attackPath();
    expect(toEvent(input(record, "AttackPaths"), { format: "xdr" }).body).toEqual({
      time: EXPORTED_AT,
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      category: "SecurityAttackPathData",
      properties: record,
    });
  });
});

describe("export rules on attack paths", () => {
  const rule = (propertyJPath: string, operator: "Equals" | "Contains", expectedValue: string) => ({ propertyJPath, propertyType: "String" as const, operator, expectedValue });
  const matches = (r: ReturnType<typeof rule>, record: Json) => compileSource({ eventSource: "AttackPaths", ruleSets: [{ rules: [r] }] }).matches(record);

  it("apply to the record's properties, as for every type", () => {
    const high = attackPath();
    const critical = attackPath();
    props(critical)["riskLevel"] = "Critical";
    expect(matches(rule("properties.riskLevel", "Equals", "Critical"), critical)).toBe(true);
    expect(matches(rule("properties.riskLevel", "Equals", "Critical"), high)).toBe(false);
    expect(matches(rule("properties.displayName", "Contains", "key vault"), high)).toBe(true);
    expect(matches(rule("riskLevel", "Equals", "high"), high)).toBe(true);
  });

  it("resolve attackPath.riskLevel, the path that automations made in the portal filter on, to the path's own risk level", () => {
    const record = attackPath();
    expect(matches(rule("attackPath.riskLevel", "Equals", "High"), record)).toBe(true);
    expect(matches(rule("attackPath.riskLevel", "Equals", "Low"), record)).toBe(false);
  });
});

describe("what counts as a change of an attack path", () => {
  const rule = CHANGE_RULES.attackPath;
  const isChange = (before: Json, after: Json) => rule.changed(rule.fingerprint(before), rule.fingerprint(after));
  const edited = (edit: (p: Json) => void) => {
    const record = attackPath();
    edit(props(record));
    return record;
  };

  it("its risk level, entry point, target or risk factors", () => {
    expect(
      isChange(
        attackPath(),
        edited((p) => (p["riskLevel"] = "Critical")),
      ),
    ).toBe(true);
    expect(
      isChange(
        attackPath(),
        edited((p) => (p["entryPointEntityInternalID"] = "e-9")),
      ),
    ).toBe(true);
    expect(
      isChange(
        attackPath(),
        edited((p) => (p["targetEntityInternalID"] = "e-9")),
      ),
    ).toBe(true);
    expect(
      isChange(
        attackPath(),
        edited((p) => (p["riskFactors"] = ["Internet exposure", "Vulnerabilities", "Lateral movement"])),
      ),
    ).toBe(true);
  });

  it("the entry point and target as their columns show them: an Exposure Management object by its name, whatever its other keys", () => {
    const named = (entry: Json) =>
      edited((p) => {
        delete p["entryPointEntityInternalID"];
        p["entryPoint"] = entry;
      });
    expect(isChange(named({ entityName: "vm-web-01", entityType: "virtualmachine" }), named({ entityType: "virtualmachine", entityName: "vm-web-01" }))).toBe(false);
    expect(isChange(named({ entityName: "vm-web-01" }), named({ entityName: "vm-web-02" }))).toBe(true);
    // Risk factors that are objects are compared by their content.
    expect(
      isChange(
        edited((p) => (p["riskFactors"] = [{ name: "Internet exposure" }])),
        edited((p) => (p["riskFactors"] = [{ name: "Lateral movement" }])),
      ),
    ).toBe(true);
  });

  it("not a redrawn graph, new wording or risk factors listed in another order", () => {
    expect(
      isChange(
        attackPath(),
        edited((p) => (p["graphComponent"] = { entities: [], connections: [], insights: [] })),
      ),
    ).toBe(false);
    expect(
      isChange(
        attackPath(),
        edited((p) => (p["description"] = "Reworded")),
      ),
    ).toBe(false);
    expect(
      isChange(
        attackPath(),
        edited((p) => (p["riskFactors"] = ["Vulnerabilities", "Internet exposure"])),
      ),
    ).toBe(false);
  });

  it("a path that disappears is exported as removed", () => {
    expect(rule.removable).toBe(true);
  });
});
