import { logs } from "@opentelemetry/api-logs";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { PassRecord } from "../../src/engine/pass.js";
import { recordPassMetrics, UNIT_PASS_MESSAGE } from "../../src/telemetry/metrics.js";
import { passRecordOf } from "../helpers/pass-record.js";

// The workbook tells a management group's subscriptions apart from these log records: what it reads must be there.

const exported = new InMemoryLogRecordExporter();
logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: exported })] }));
afterAll(() => logs.disable());

const GROUP = "/providers/Microsoft.Management/managementGroups/mg";
const sub = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

const unitPass = (extra: Partial<PassRecord>) => passRecordOf(`${GROUP}/units/2-of-4`, "Alerts", "", extra);

describe("a management group unit's pass in Application Insights", () => {
  it("names its subscriptions and who left, 150 to a record, with its outcome; other passes log nothing of the kind", () => {
    exported.reset();
    const read = Object.fromEntries(Array.from({ length: 320 }, (_, i) => [sub(i), i % 3]));
    recordPassMetrics(unitPass({ subscriptions: { read, membersKnown: true, joined: [], departed: { [sub(999)]: "2026-12-01T00:00:00.000Z" }, forgotten: [] } }));
    recordPassMetrics(unitPass({ error: "Resource Graph answered 500", subscriptions: { read: { [sub(1)]: 0 }, membersKnown: false, joined: [], departed: {}, forgotten: [] } }));
    recordPassMetrics(unitPass({ scope: "/subscriptions/x" }));
    recordPassMetrics(unitPass({ skipped: "leased", subscriptions: { read, membersKnown: true, joined: [], departed: {}, forgotten: [] } }));
    const records = exported.getFinishedLogRecords();
    expect(records.map((r) => r.body)).toEqual([UNIT_PASS_MESSAGE, UNIT_PASS_MESSAGE, UNIT_PASS_MESSAGE, UNIT_PASS_MESSAGE]);
    const attributes = records.map((r) => r.attributes);
    expect(attributes.slice(0, 3).map((a) => String(a["subscriptions"]).split(",").length)).toEqual([150, 150, 20]);
    expect(new Set(attributes.slice(0, 3).flatMap((a) => String(a["subscriptions"]).split(",")))).toEqual(new Set(Object.keys(read)));
    expect(attributes[0]).toMatchObject({ configuration: "mg", unit: "2-of-4", eventSource: "Alerts", outcome: "succeeded", departed: sub(999) });
    expect(attributes[1]!["departed"]).toBe("");
    expect(attributes[3]).toMatchObject({ outcome: "failed", subscriptions: sub(1), error: "Resource Graph answered 500" });
    expect(records[3]!.severityText).toBe("warning");
    for (const a of attributes) expect(String(a["subscriptions"]).length).toBeLessThanOrEqual(8192);
    // Every dimension the workbook's management group tiles read is one these records carry.
    const workbook = JSON.parse(readFileSync(new URL("../../infra/workbook.json", import.meta.url), "utf8")) as { items: { content: { query?: string } }[] };
    const tiles = workbook.items.flatMap((i) => (i.content.query !== undefined && /^(let \w+ = )?traces\n/.test(i.content.query) ? [i.content.query] : []));
    expect(tiles.length).toBeGreaterThan(0);
    for (const dimension of new Set(tiles.flatMap((q) => [...q.matchAll(/customDimensions\.(\w+)/g)].map((m) => m[1]!)))) expect(Object.keys(attributes[0]!)).toContain(dimension);
  });
});
