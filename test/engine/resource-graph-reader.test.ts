import { BlobServiceClient } from "@azure/storage-blob";
import { afterEach, describe, expect, it } from "vitest";
import type { ReaderKind } from "../../src/config/enums.js";
import { readOriginal } from "../../src/destinations/overflow.js";
import { HUB, world, type World } from "../faults/harness.js";
import type { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";

// Issue 17: every data type read through Resource Graph exports what the Microsoft.Security lists export.

const worlds: World[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

const EXPORTED_AT = new Date("2026-12-01T08:00:00.000Z");
// A quota these tests never reach: throttling has tests of its own, and the group's units make many queries.
const PLENTY = { quota: { queries: 10_000, windowMs: 1000 } };
const SOURCES = ["Alerts", "Assessments", "SubAssessments", "SecureScores", "SecureScoreControls", "RegulatoryComplianceAssessment", "AttackPaths"] as const;

type Row = Record<string, unknown>;

/** One export of the same synthetic subscription, read one way; what each destination received, in a stable order. */
async function exportVia(reader: ReaderKind) {
  const w = await world({
    alerts: 12,
    assessments: 14,
    subAssessments: 9,
    attackPaths: 6,
    largeAttackPathEvery: 3,
    sources: SOURCES.map((eventSource) => ({ eventSource })),
    reader,
    graphPageRows: 5,
  });
  worlds.push(w);
  const passes = await w.pass({ hooks: { now: () => EXPORTED_AT } });
  expect(passes.map((p) => p.error)).toEqual(SOURCES.map(() => undefined));
  const service = BlobServiceClient.fromConnectionString(w.azurite.connectionString);
  const rows: Record<string, Row[]> = {};
  const originals = new Map<string, unknown>();
  for (const [stream, accepted] of w.ingestion.accepted) {
    rows[stream] = [];
    for (const row of [...accepted].sort((a, b) => String(a["RecordId"]).localeCompare(String(b["RecordId"])))) {
      // Where an original is kept depends on which record came first into its blob, not on the record.
      const { OverflowBlob: pointer, ...rest } = row;
      if (typeof pointer === "string") originals.set(String(row["RecordId"]), JSON.parse(await readOriginal(service, pointer)));
      rows[stream].push(rest);
    }
  }
  // The same content; keys may come in another order (Resource Graph's rows have their own), which JSON readers ignore.
  const idOf = (body: Row) => String(body["id"] ?? body["SystemAlertId"]);
  const events = w.hubs.events
    .filter((e) => e.hub === HUB)
    .map((e) => e.body as Row)
    .sort((a, b) => idOf(a).localeCompare(idOf(b)));
  return { passes, rows, events, originals, requests: w.arm.requests };
}

describe("every data type through Resource Graph", () => {
  it("the same synthetic subscription read through the Microsoft.Security lists and through Resource Graph gives the same rows, events and kept originals", async () => {
    const viaArm = await exportVia("arm");
    const viaGraph = await exportVia("resourceGraph");
    // Through Resource Graph, no Microsoft.Security list is read but the metadata of rows that lack it.
    expect(viaGraph.requests.filter((q) => !/ResourceGraph|assessmentMetadata/i.test(q.path)).map((q) => q.path)).toEqual([]);
    expect(viaGraph.requests.filter((q) => /ResourceGraph/.test(q.path)).length).toBeGreaterThan(SOURCES.length);
    expect(viaGraph.passes.map((p) => [p.eventSource, p.read, p.changed])).toEqual(viaArm.passes.map((p) => [p.eventSource, p.read, p.changed]));
    expect(Object.keys(viaGraph.rows).sort()).toEqual(Object.keys(viaArm.rows).sort());
    for (const stream of Object.keys(viaArm.rows)) expect(viaGraph.rows[stream], stream).toEqual(viaArm.rows[stream]);
    expect(viaGraph.events).toEqual(viaArm.events);
    expect(viaArm.originals.size).toBeGreaterThan(0);
    expect(viaGraph.originals).toEqual(viaArm.originals);
  }, 180_000);

  it("one configuration scoped to a management group exports every data type of all its subscriptions, as scoping each subscription would", async () => {
    const second = { subscriptionId: "6a1c2b3d-0000-4000-8000-000000000002", alerts: 5, assessments: 6, subAssessments: 4, attackPaths: 3 };
    const run = async (scopes: (all: { subscriptionPath: string }[]) => string[]) => {
      const w = await world({
        alerts: 4,
        assessments: 5,
        subAssessments: 3,
        attackPaths: 2,
        otherSubscriptions: [second],
        sources: SOURCES.map((eventSource) => ({ eventSource })),
        reader: "resourceGraph",
        scopes,
        resourceGraph: PLENTY,
      });
      worlds.push(w);
      const passes = await w.pass({ hooks: { now: () => EXPORTED_AT } });
      expect(passes.filter((p) => p.error !== undefined)).toEqual([]);
      const rows = Object.fromEntries(
        [...w.ingestion.accepted].map(([stream, accepted]) => [
          stream,
          accepted.map(({ OverflowBlob: _, ...rest }) => rest).sort((a, b) => String(a["RecordId"]).localeCompare(String(b["RecordId"]))),
        ]),
      );
      return { passes, rows, hubEvents: w.hubs.events.length, requests: w.arm.requests };
    };
    const group = await run(() => ["/providers/Microsoft.Management/managementGroups/mg-test"]);
    const each = await run((all) => all.map((d) => d.subscriptionPath));
    // A pass per source and unit of the group (4 by default), one per source and subscription otherwise.
    expect(group.passes).toHaveLength(4 * SOURCES.length);
    expect(new Set(group.passes.map((p) => p.scope))).toEqual(new Set([1, 2, 3, 4].map((i) => `/providers/Microsoft.Management/managementGroups/mg-test/units/${i}-of-4`)));
    expect(each.passes).toHaveLength(2 * SOURCES.length);
    const subscriptions = new Set(Object.values(group.rows).flatMap((rows) => rows.map((r) => r["AzureSubscriptionId"])));
    expect(subscriptions).toEqual(new Set(["20ff7fc3-e762-44dd-bd96-b71116dcdc23", second.subscriptionId]));
    expect(group.rows).toEqual(each.rows);
    expect(group.hubEvents).toBe(each.hubEvents);
    // Units ask who is in the group, then read their own subscriptions by name.
    const groupQueries = group.requests.filter((q) => /ResourceGraph/.test(q.path)).map((q) => JSON.parse(q.body) as { query: string; managementGroups?: string[]; subscriptions?: string[] });
    expect(groupQueries.filter((b) => b.query.startsWith("resourcecontainers")).every((b) => JSON.stringify(b.managementGroups) === '["mg-test"]')).toBe(true);
    const unitReads = groupQueries.filter((b) => b.query.startsWith("securityresources"));
    expect(unitReads.every((b) => b.subscriptions !== undefined && b.subscriptions.length === 1)).toBe(true);
  }, 180_000);

  it("subscriptions come and go: one that joins the group gets its baseline, one that leaves stops without its records being removed, and keeps its state should it return", async () => {
    const second = { subscriptionId: "6a1c2b3d-0000-4000-8000-000000000002", assessments: 4, attackPaths: 3 };
    const third = { subscriptionId: "6a1c2b3d-0000-4000-8000-000000000003", assessments: 2, attackPaths: 1 };
    const w = await world({
      alerts: 0,
      assessments: 5,
      attackPaths: 4,
      otherSubscriptions: [second, third],
      sources: [{ eventSource: "Assessments" }, { eventSource: "AttackPaths" }],
      reader: "resourceGraph",
      scopes: () => ["/providers/Microsoft.Management/managementGroups/mg-test"],
      resourceGraph: PLENTY,
    });
    worlds.push(w);
    const [first, other, joining] = w.subscriptions as [SyntheticDataset, SyntheticDataset, SyntheticDataset];
    w.managementGroups["mg-test"] = [first.subscriptionId, other.subscriptionId];
    // The group's units summed per source.
    const summary = async () => {
      const passes = await w.pass();
      return ["Assessments", "AttackPaths"].map((source) => {
        const of = passes.filter((p) => p.eventSource === source);
        return [source, [...new Set(of.map((p) => p.mode))].join(), of.reduce((n, p) => n + p.changed, 0), of.reduce((n, p) => n + p.removed, 0), of.find((p) => p.error)?.error];
      });
    };
    expect(await summary()).toEqual([
      ["Assessments", "baseline", 9, 0, undefined],
      ["AttackPaths", "baseline", 7, 0, undefined],
    ]);
    // The second subscription moves to another group; in the first, one attack path is resolved.
    w.managementGroups["mg-test"] = [first.subscriptionId];
    first.resolvedAttackPaths.add(0);
    w.ingestion.accepted.clear();
    expect(await summary()).toEqual([
      ["Assessments", "stream", 0, 0, undefined],
      ["AttackPaths", "stream", 0, 1, undefined],
    ]);
    const removed = [...w.ingestion.accepted.values()].flat().filter((r) => r["ExportAction"] === "Remove");
    expect(removed.map((r) => r["RecordId"])).toEqual([String(first.attackPath(0)["id"]).toLowerCase()]);
    // It comes back unchanged: nothing to send, its state was kept. A third joins: its records go as its baseline.
    w.managementGroups["mg-test"] = [first.subscriptionId, other.subscriptionId, joining.subscriptionId];
    w.ingestion.accepted.clear();
    expect(await summary()).toEqual([
      ["Assessments", "stream", 2, 0, undefined],
      ["AttackPaths", "stream", 1, 0, undefined],
    ]);
    const sent = [...w.ingestion.accepted.values()].flat();
    expect(new Set(sent.map((r) => r["AzureSubscriptionId"]))).toEqual(new Set([joining.subscriptionId]));
    expect(sent.map((r) => [r["IsSnapshot"], r["ExportAction"]])).toEqual(sent.map(() => [true, "Insert"]));
    // Then it streams like the others: a new attack path of it is a plain Insert.
    joining.sizes.attackPaths++;
    w.ingestion.accepted.clear();
    expect(await summary()).toEqual([
      ["Assessments", "stream", 0, 0, undefined],
      ["AttackPaths", "stream", 1, 0, undefined],
    ]);
    expect([...w.ingestion.accepted.values()].flat().map((r) => [r["AzureSubscriptionId"], r["IsSnapshot"], r["ExportAction"]])).toEqual([[joining.subscriptionId, false, "Insert"]]);
  }, 120_000);
});
