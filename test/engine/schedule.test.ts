import { describe, expect, it } from "vitest";
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
});
