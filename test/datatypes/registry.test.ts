import { describe, expect, it } from "vitest";
import { EVENT_SOURCES } from "../../src/config/enums.js";
import { byEventSource, DATA_TYPES, isSnapshotSource, LOG_ANALYTICS_TABLES, removedRecord } from "../../src/datatypes/registry.js";
import { toLogAnalyticsRow } from "../../src/mapping/to-row.js";
import { runCli } from "../helpers/cli.js";
import { input } from "../helpers/mapping.js";

describe("the data type registry", () => {
  it("has one data type for every event source of the configuration model, and each source's snapshot twin", () => {
    for (const source of EVENT_SOURCES) {
      const dataType = byEventSource(source);
      expect(Object.values(dataType.eventSources), source).toContain(source);
      expect(isSnapshotSource(source), source).toBe(source.endsWith("Snapshot"));
    }
    expect(DATA_TYPES.flatMap((d) => Object.values(d.eventSources)).sort()).toEqual([...EVENT_SOURCES].sort());
  });

  it("names each data type, CLI name and table once", () => {
    const once = (values: string[]) => expect(new Set(values.map((v) => v.toLowerCase())).size).toBe(values.length);
    once(DATA_TYPES.map((d) => d.name));
    once(DATA_TYPES.flatMap((d) => d.cliNames));
    once(DATA_TYPES.flatMap((d) => [...d.armTypes, ...(d.notExportedArmTypes ?? [])]));
    expect(LOG_ANALYTICS_TABLES).toEqual([
      "SecurityAlert",
      "SecurityRecommendation",
      "SecurityNestedRecommendation",
      "SecureScores",
      "SecureScoreControls",
      "SecurityRegulatoryCompliance",
      "SecurityAttackPathData",
    ]);
  });

  it("reads attack paths from Resource Graph, every other type from Microsoft.Security lists", () => {
    expect(DATA_TYPES.filter((d) => d.read.kind === "resourceGraph").map((d) => d.name)).toEqual(["attackPath"]);
    expect(byEventSource("AttackPathsSnapshot").read).toMatchObject({ kind: "resourceGraph", type: "microsoft.security/attackpaths" });
  });

  it("exports a removed record with the type ARM gives the records, only for types whose removals are exported", () => {
    const id = "/subscriptions/s/providers/microsoft.security/assessments/k/subassessments/f";
    expect(removedRecord(id, "subAssessment")).toEqual({ id, name: "f", type: "Microsoft.Security/assessments/subAssessments", properties: { status: { code: "Removed" } } });
    expect(removedRecord("/x/assessments/k", "assessment")["type"]).toBe("Microsoft.Security/assessments");
    expect(removedRecord("/subscriptions/s/providers/microsoft.security/attackpaths/p1", "attackPath")).toEqual({
      id: "/subscriptions/s/providers/microsoft.security/attackpaths/p1",
      name: "p1",
      type: "microsoft.security/attackpaths",
      properties: {},
    });
    expect(() => removedRecord(id, "alert")).toThrow(/not exported as removed/);
  });
});

describe("a finding's parent recommendation", () => {
  // Drift fixed: the link took the first `/assessments/<x>/` of the id, the parent column the one before
  // `/subAssessments/`; a finding on an Azure Migrate assessment has both.
  it("is the same key in ParentRecommendationId and RecommendationLink, even when the assessed resource's id has an assessments segment", () => {
    const resource = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Migrate/assessmentProjects/p/groups/g/assessments/migration";
    const key = "1195afff-c881-495e-9bc5-1486211ae03f";
    const finding = {
      id: `${resource}/providers/Microsoft.Security/assessments/${key}/subAssessments/finding-1`,
      name: "finding-1",
      type: "Microsoft.Security/assessments/subAssessments",
      properties: { displayName: "A finding", status: { code: "Unhealthy", severity: "High" } },
    };
    const result = toLogAnalyticsRow(input(finding, "SubAssessments"));
    if (result === undefined || !result.ok) throw new Error("no row");
    expect(result.row["ParentRecommendationId"]).toBe(key);
    expect(result.row["RecommendationLink"]).toBe(`https://portal.azure.com/#view/Microsoft_Azure_Security/GenericRecommendationDetailsBlade/assessmentKey/${key}`);
  });
});

describe("read --types", () => {
  // The names were looked up in plain objects: "constructor" found Object's own and crashed (exit 1).
  it("takes the data types' CLI names only, case-insensitively, and says which an unknown one is not", async () => {
    for (const name of ["constructor", "__proto__", "toString"]) {
      const run = await runCli(["read", "-s", "00000000-0000-0000-0000-000000000000", "-t", name], { env: {} });
      expect(run.code, name).toBe(2);
      expect(run.stderr).toContain(
        `unknown data type ${JSON.stringify(name)} in --types; expected alerts, assessments, subAssessments, secureScores, secureScoreControls, regulatoryCompliance, attackPaths`,
      );
    }
  });
});
