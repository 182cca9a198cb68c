import { describe, expect, it } from "vitest";
import { CHANGE_RULES } from "../../src/change/fingerprints.js";
import { exampleRecords } from "../helpers/examples.js";

type Json = Record<string, unknown>;
const edit = (record: Json, path: string[], value: unknown): Json => {
  const copy = structuredClone(record);
  let node = copy as Json;
  for (const key of path.slice(0, -1)) node = node[key] as Json;
  node[path.at(-1)!] = value;
  return copy;
};
const isChange = (type: keyof typeof CHANGE_RULES, before: Json, after: Json) => CHANGE_RULES[type].changed(CHANGE_RULES[type].fingerprint(before), CHANGE_RULES[type].fingerprint(after));

describe("what counts as a change, per data type", () => {
  it("alerts: status or severity", () => {
    const [alert] = exampleRecords("alerts/GetAlertsSubscription_example.json");
    expect(isChange("alert", alert!, edit(alert!, ["properties", "status"], "Resolved"))).toBe(true);
    expect(isChange("alert", alert!, edit(alert!, ["properties", "severity"], "Low"))).toBe(true);
    expect(isChange("alert", alert!, edit(alert!, ["properties", "description"], "edited"))).toBe(false);
    expect(isChange("alert", alert!, structuredClone(alert!))).toBe(false);
    expect(CHANGE_RULES.alert.removable).toBe(false);
  });

  it("recommendations and findings: status; they are removable", () => {
    const [assessment] = exampleRecords("assessments/ListAssessments_example.json");
    expect(isChange("assessment", assessment!, edit(assessment!, ["properties", "status", "code"], "Unhealthy"))).toBe(true);
    expect(isChange("assessment", assessment!, edit(assessment!, ["properties", "displayName"], "x"))).toBe(false);
    const [finding] = exampleRecords("subassessments/ListSubscriptionSubAssessments_example.json");
    expect(isChange("subAssessment", finding!, edit(finding!, ["properties", "status", "code"], "Healthy"))).toBe(true);
    expect(isChange("subAssessment", finding!, edit(finding!, ["properties", "description"], "x"))).toBe(false);
    expect(CHANGE_RULES.assessment.removable && CHANGE_RULES.subAssessment.removable).toBe(true);
  });

  it("secure scores and controls: a move of 0.01 or more since the last export", () => {
    const score = exampleRecords("securescore/ListSecureScores_example.json")[0]!;
    const at = (v: number) => edit(score, ["properties", "score", "current"], v);
    expect(isChange("secureScore", at(23.53), at(23.539))).toBe(false);
    expect(isChange("secureScore", at(23.53), at(23.54))).toBe(true);
    expect(isChange("secureScore", at(23.53), at(23.52))).toBe(true);
    expect(isChange("secureScore", at(0.1), at(0.11))).toBe(true); // 0.11 - 0.1 is 0.009999999999999995 in doubles
    const control = exampleRecords("securescore/ListSecureScoreControls_example.json")[1]!;
    expect(isChange("secureScoreControl", control, edit(control, ["properties", "score", "current"], 9.99))).toBe(true);
    expect(isChange("secureScoreControl", control, edit(control, ["properties", "healthyResourceCount"], 7))).toBe(false);
  });

  it("regulatory compliance: state or resource counts", () => {
    const assessment = exampleRecords("regulatorycompliance/getRegulatoryComplianceAssessmentList_example.json")[0]!;
    expect(isChange("regulatoryComplianceAssessment", assessment, edit(assessment, ["properties", "state"], "Passed"))).toBe(true);
    expect(isChange("regulatoryComplianceAssessment", assessment, edit(assessment, ["properties", "failedResources"], 5))).toBe(true);
    expect(isChange("regulatoryComplianceAssessment", assessment, edit(assessment, ["properties", "description"], "x"))).toBe(false);
  });
});

describe("where each type dates its change (the start of the export lag)", () => {
  it("a new alert by timeGeneratedUtc, a new finding by timeGenerated, recommendations by status.statusChangeDate; a status change of an alert or finding, scores and compliance not", () => {
    const alert = exampleRecords("alerts/GetAlertsSubscription_example.json")[0]!;
    expect(CHANGE_RULES.alert.changedAt!(alert, true)).toBe(Date.parse(String((alert["properties"] as Record<string, unknown>)["timeGeneratedUtc"])));
    // Its generation time does not date a status change: that would be the alert's age, not the change's.
    expect(CHANGE_RULES.alert.changedAt!(alert, false)).toBeUndefined();
    const finding = exampleRecords("subassessments/ListSubscriptionSubAssessments_example.json")[0]!;
    expect(CHANGE_RULES.subAssessment.changedAt!(finding, true)).toBe(Date.parse(String((finding["properties"] as Record<string, unknown>)["timeGenerated"])));
    expect(CHANGE_RULES.subAssessment.changedAt!(finding, false)).toBeUndefined();
    const assessment = { properties: { status: { code: "Unhealthy", statusChangeDate: "2026-11-01T10:00:00Z" } } };
    expect(CHANGE_RULES.assessment.changedAt!(assessment, false)).toBe(Date.parse("2026-11-01T10:00:00Z"));
    expect(CHANGE_RULES.assessment.changedAt!({ properties: { status: { code: "Healthy", statusChangeDate: "not a date" } } }, true)).toBeUndefined();
    expect(CHANGE_RULES.secureScore.changedAt).toBeUndefined();
    expect(CHANGE_RULES.regulatoryComplianceAssessment.changedAt).toBeUndefined();
  });
});
