import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/index.js";
import { snapshotDue } from "../../src/engine/runner.js";

describe("snapshot schedule", () => {
  const weekly = "0 0 0 * * 0"; // Sundays, 00:00 UTC
  it("is due when never sent, and once per occurrence", () => {
    expect(snapshotDue(weekly, undefined, new Date("2026-11-25T12:00:00Z"))).toBe(true);
    expect(snapshotDue(weekly, "2026-11-22T00:05:00Z", new Date("2026-11-25T12:00:00Z"))).toBe(false);
    expect(snapshotDue(weekly, "2026-11-22T00:05:00Z", new Date("2026-11-29T00:00:01Z"))).toBe(true);
    expect(snapshotDue(weekly, "2026-11-21T23:59:00Z", new Date("2026-11-22T00:30:00Z"))).toBe(true);
    expect(snapshotDue("0 */15 * * * *", "2026-11-22T10:00:00Z", new Date("2026-11-22T10:14:00Z"))).toBe(false);
    expect(snapshotDue("0 */15 * * * *", "2026-11-22T10:00:00Z", new Date("2026-11-22T10:15:00Z"))).toBe(true);
  });

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
