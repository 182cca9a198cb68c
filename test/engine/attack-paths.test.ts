import { BlobServiceClient } from "@azure/storage-blob";
import { afterEach, describe, expect, it } from "vitest";
import { readOriginal } from "../../src/destinations/overflow.js";
import { jsonBytes, LOG_ANALYTICS_ROW_LIMIT } from "../../src/mapping/cut.js";
import type { PassRecord } from "../../src/engine/pass.js";
import { duplicates, HUB, nothingLost, stopAfter, world, type World } from "../faults/harness.js";

// Attack paths end to end: Resource Graph (the local endpoint) → the engine → Log Analytics and Event Hubs.

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const TABLE = "Custom-SecurityAttackPathData_CL";
const rows = (x: World) => x.ingestion.accepted.get(TABLE) ?? [];
const events = (x: World) => x.hubs.events.filter((e) => e.hub === HUB).map((e) => e.body as Record<string, unknown>);
const clear = (x: World) => {
  x.ingestion.accepted.clear();
  x.hubs.events.length = 0;
};
const idOf = (x: World, i: number) => String(x.dataset.attackPath(i)["id"]).toLowerCase();
const riskOf = (record: Record<string, unknown>) => (record["properties"] as Record<string, unknown>)["riskLevel"];

describe("attack paths through the engine", () => {
  it("every path reaches Log Analytics and Event Hubs, large ones cut to 32 KB with their originals kept; snapshots are marked; changes, removals and new paths stream", async () => {
    w = await world({
      alerts: 0,
      assessments: 0,
      attackPaths: 40,
      largeAttackPathEvery: 9,
      hugeAttackPaths: [17],
      sources: [{ eventSource: "AttackPaths" }, { eventSource: "AttackPathsSnapshot" }],
    });
    const first = await w.pass();
    expect(first.map((p) => [p.eventSource, p.mode, p.changed, p.error])).toEqual([
      ["AttackPaths", "baseline", 40, undefined],
      ["AttackPathsSnapshot", "snapshot", 40, undefined],
    ]);
    const got = await nothingLost(w);
    // Each path twice: the streaming source's baseline and the snapshot, both marked IsSnapshot.
    expect([...got.logAnalytics.values()].every((n) => n === 2) && [...got.eventHubs.values()].every((n) => n === 2)).toBe(true);
    expect(rows(w).every((r) => r["IsSnapshot"] === true)).toBe(true);
    expect(events(w).every((e) => (e["securityEventDataEnrichment"] as Record<string, unknown>)["isSnapshot"] === true)).toBe(true);

    const cut = rows(w).filter((r) => r["IsTruncated"] === true);
    expect(new Set(cut.map((r) => r["RecordId"]))).toEqual(new Set([8, 17, 26, 35].map((i) => idOf(w!, i))));
    for (const r of rows(w)) expect(jsonBytes(r)).toBeLessThanOrEqual(LOG_ANALYTICS_ROW_LIMIT);
    const huge = cut.find((r) => r["RecordId"] === idOf(w!, 17))!;
    expect(huge).toMatchObject({ RiskLevel: riskOf(w.dataset.attackPath(17)), AttackPathId: w.dataset.attackPath(17)["name"] });
    expect(jsonBytes(w.dataset.attackPath(17))).toBeGreaterThan(1_048_576);
    const original = await readOriginal(BlobServiceClient.fromConnectionString(w.azurite.connectionString), String(huge["OverflowBlob"]));
    expect(JSON.parse(original)).toEqual(w.dataset.attackPath(17));

    // A day later: one path's risk rises, one is resolved, one appears, and one's graph is redrawn.
    clear(w);
    const raised = 3;
    w.dataset.patches.set(`attackPath:${raised}`, (r) => ((r["properties"] as Record<string, unknown>)["riskLevel"] = "Critical"));
    w.dataset.patches.set("attackPath:4", (r) => ((r["properties"] as Record<string, unknown>)["description"] = "redrawn"));
    w.dataset.resolvedAttackPaths.add(5);
    w.dataset.sizes.attackPaths++;
    const second = await w.pass();
    expect(second.map((p) => [p.eventSource, p.mode, p.changed, p.removed])).toEqual([["AttackPaths", "stream", 2, 1]]);
    const byId = new Map(rows(w).map((r) => [r["RecordId"], r]));
    expect(byId.get(idOf(w, raised))).toMatchObject({ ExportAction: "Update", RiskLevel: "Critical", IsSnapshot: false });
    expect(byId.get(idOf(w, 40))).toMatchObject({ ExportAction: "Insert", IsSnapshot: false });
    expect(byId.get(idOf(w, 5))).toMatchObject({ ExportAction: "Remove", RiskLevel: "Removed" });
    expect(byId.size).toBe(3);
    expect(
      events(w)
        .map((e) => [String(e["id"]).toLowerCase(), (e["securityEventDataEnrichment"] as Record<string, unknown>)["action"]])
        .sort(),
    ).toEqual(
      [
        [idOf(w, raised), "Insert"],
        [idOf(w, 40), "Insert"],
        [idOf(w, 5), "Delete"],
      ].sort(),
    );
  }, 120_000);

  it("rules filter them: attackPath.riskLevel as automations made in the portal write it, and properties paths", async () => {
    w = await world({
      alerts: 0,
      assessments: 0,
      attackPaths: 16,
      sources: [
        {
          eventSource: "AttackPaths",
          ruleSets: [
            { rules: [{ propertyJPath: "attackPath.riskLevel", propertyType: "String", expectedValue: "Critical", operator: "Equals" }] },
            { rules: [{ propertyJPath: "properties.riskLevel", propertyType: "String", expectedValue: "High", operator: "Equals" }] },
          ],
        },
      ],
    });
    const [record] = await w.pass();
    const wanted = Array.from({ length: 16 }, (_, i) => w!.dataset.attackPath(i)).filter((r) => ["Critical", "High"].includes(String(riskOf(r))));
    expect(wanted.length).toBeGreaterThan(0);
    expect(wanted.length).toBeLessThan(16);
    expect(record).toMatchObject({ read: 16, matched: wanted.length });
    expect(new Set(rows(w).map((r) => r["RecordId"]))).toEqual(new Set(wanted.map((r) => String(r["id"]).toLowerCase())));
    expect(events(w)).toHaveLength(wanted.length);
  }, 60_000);

  it("Resource Graph's throttling (a quota of 2 queries a second), its 5xx and a page failing mid-listing: nothing lost, nothing twice", async () => {
    w = await world({ alerts: 0, assessments: 0, attackPaths: 45, sources: [{ eventSource: "AttackPaths" }], resourceGraph: { quota: { queries: 2, windowMs: 1000 } }, graphPageRows: 10 });
    const graph = /Microsoft\.ResourceGraph/;
    // The first page answers; the second fails past the SDK's retries, so the pass fails and the next reads again.
    w.arm.inject({ kind: "delay", ms: 0 }, { path: graph, times: 1 });
    w.arm.inject({ kind: "status", status: 503 }, { path: graph, times: 4 });
    let rounds = 0;
    for (;;) {
      rounds++;
      const passes = await w.pass();
      if (passes.every((p) => p.error === undefined)) break;
      expect(passes[0]!.error).toMatch(/reading attackPath at .*, page 2: HTTP 503/);
      if (rounds > 4) throw new Error("still failing");
    }
    expect(rounds).toBe(2);
    const got = await nothingLost(w);
    expect([duplicates(got.logAnalytics), duplicates(got.eventHubs)]).toEqual([0, 0]);
    expect(got.logAnalytics.size).toBe(45);
    // Waited for the quota rather than being throttled by it.
    expect(w.arm.requests.filter((r) => graph.test(r.path) && r.status === 429)).toEqual([]);
  }, 120_000);

  it("a listing that moves while a pass reads it (a path resolved between pages): the pass completes without removals and says why; the next stable pass exports them", async () => {
    w = await world({ alerts: 0, assessments: 0, attackPaths: 30, sources: [{ eventSource: "AttackPaths" }], graphPageRows: 5 });
    const x = w;
    expect((await x.pass()).map((p) => [p.mode, p.changed])).toEqual([["baseline", 30]]);
    clear(x);
    // Resolved before the pass, and another while it reads.
    x.dataset.resolvedAttackPaths.add(3);
    const [moved] = await x.pass({ hooks: { hooks: { afterRead: (n) => void (n === 7 && x.dataset.resolvedAttackPaths.add(8)) } } });
    expect(moved).toMatchObject({ mode: "stream", changed: 0, removed: 0 });
    expect(moved!.error).toBeUndefined();
    expect(moved!.incomplete).toMatch(/^the listing of attackPath moved while it was read \(page \d: the listing held 29 rows at page \d, 28 at page \d\): removals wait for a complete read$/);
    expect(rows(x)).toEqual([]);
    const [stable] = await x.pass();
    expect(stable).toMatchObject({ mode: "stream", changed: 0, removed: 2 });
    expect(stable!.incomplete).toBeUndefined();
    expect(
      rows(x)
        .map((r) => [r["RecordId"], r["ExportAction"]])
        .sort(),
    ).toEqual([3, 8].map((i) => [idOf(x, i), "Remove"]).sort());
    expect(await x.pass()).toMatchObject([{ changed: 0, removed: 0 }]);
  }, 60_000);

  it("a listing over the partition threshold read as hash partitions; a baseline stopped at its deadline goes on at its partition: every path once, marked as snapshot", async () => {
    w = await world({ alerts: 0, assessments: 0, attackPaths: 40, sources: [{ eventSource: "AttackPaths" }], graphPageRows: 4, graphPartitionRows: 12 });
    const x = w;
    const graph = /Microsoft\.ResourceGraph/;
    const firstListing = () => {
      const bodies = x.arm.requests
        .splice(0)
        .filter((r) => graph.test(r.path))
        .map((r) => JSON.parse(r.body) as { query: string; options: Record<string, unknown> });
      return { query: bodies[0]!.query, token: bodies[0]!.options["$skipToken"] };
    };
    const rounds: PassRecord[] = [];
    for (let round = 1; round <= 10; round++) {
      const [pass] = await x.pass({ hooks: stopAfter(15) });
      rounds.push(pass!);
      const first = firstListing();
      if (round === 1) expect(first.query).not.toMatch(/hash\(/);
      else {
        const from = rounds[round - 2]!.stopped!.cursor as { graph: { partition: number; of: number } };
        expect(first.query).toContain(`| where hash(tolower(id)) % ${from.graph.of} == ${from.graph.partition} |`);
        expect(first.token).toBeUndefined();
      }
      if (pass!.stopped === undefined) break;
    }
    expect(rounds.length).toBeGreaterThan(2);
    for (const p of rounds) expect([p.mode, p.error, p.incomplete]).toEqual(["baseline", undefined, undefined]);
    // ceil(40 / 12) = 4 partitions.
    expect(rounds.filter((p) => p.stopped).every((p) => (p.stopped!.cursor as { graph: { of: number } }).graph.of === 4)).toBe(true);
    const got = await nothingLost(x);
    expect([got.logAnalytics.size, got.eventHubs.size]).toEqual([40, 40]);
    expect([duplicates(got.logAnalytics), duplicates(got.eventHubs)]).toEqual([0, 0]);
    expect(rows(x).every((r) => r["IsSnapshot"] === true)).toBe(true);
    expect(rounds.reduce((n, p) => n + p.changed, 0)).toBe(40);
  }, 120_000);
});
