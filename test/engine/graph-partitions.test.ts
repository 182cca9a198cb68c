import { afterEach, describe, expect, it } from "vitest";
import { managementGroupUnit, unitOfSubscription } from "../../src/config/automation.js";
import type { PassRecord } from "../../src/engine/pass.js";
import { stopAfter, world, type World } from "../faults/harness.js";

// Resource Graph listings through the engine: a large listing is read as hash partitions, a unit pass stopped at
// its deadline goes on at the partition it was in, and a listing that moves while it is read completes without
// removals (and says so) instead of failing.

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const GROUP = "/providers/Microsoft.Management/managementGroups/mg-test";
const PLENTY = { quota: { queries: 10_000, windowMs: 1000 } };
const GRAPH = /ResourceGraph/i;
const MAIN = "20ff7fc3-e762-44dd-bd96-b71116dcdc23";
// A second subscription in the same unit (of 4) as the world's own.
const NEIGHBOUR = Array.from({ length: 64 }, (_, i) => `6a1c2b3d-0000-4000-8000-${(i + 2).toString(16).padStart(12, "0")}`).find((id) => unitOfSubscription(id, 4) === unitOfSubscription(MAIN, 4))!;

/** The Resource Graph listings asked since the last call: the partition each asked for ("whole" without one), and whether it was a first page. */
function listings(x: World): { partition: string; first: boolean }[] {
  return x.arm.requests
    .splice(0)
    .filter((r) => GRAPH.test(r.path))
    .map((r) => JSON.parse(r.body) as { query: string; options: Record<string, unknown> })
    .filter((b) => b.query.startsWith("securityresources"))
    .map((b) => ({ partition: /hash\(tolower\(id\)\) % (\d+ == \d+)/.exec(b.query)?.[1] ?? "whole", first: b.options["$skipToken"] === undefined }));
}

/** Per id, the actions Log Analytics received, in order. */
function actions(x: World): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const row of [...x.ingestion.accepted.values()].flat()) {
    const id = String(row["RecordId"]);
    out.set(id, [...(out.get(id) ?? []), String(row["ExportAction"])]);
  }
  return out;
}

const flip = (r: Record<string, unknown>) => {
  const status = (r["properties"] as { status: { code: string } }).status;
  status.code = status.code === "Healthy" ? "Unhealthy" : "Healthy";
};

describe("a management group unit's listing over the partition threshold", () => {
  it("a unit pass stopped at its deadline mid-listing goes on at the partition it was in: the later passes finish it, nothing lost, nothing sent twice in stream mode", async () => {
    w = await world({
      alerts: 0,
      assessments: 24,
      sources: [{ eventSource: "Assessments" }],
      reader: "resourceGraph",
      scopes: () => [GROUP],
      graphPageRows: 3,
      graphPartitionRows: 6,
      resourceGraph: PLENTY,
    });
    const x = w;
    const unit = managementGroupUnit(GROUP, unitOfSubscription(x.dataset.subscriptionId, 4), 4);
    const baseline = await x.concurrentPasses();
    expect(baseline.filter((p) => p.scope === unit).map((p) => [p.mode, p.changed, p.error])).toEqual([["baseline", 24, undefined]]);
    // 24 rows over 6: the unit read them as 4 partitions, after one whole-listing page it dropped.
    expect(listings(x).filter((l) => l.first)).toEqual([{ partition: "whole", first: true }, ...[0, 1, 2, 3].map((i) => ({ partition: `4 == ${i}`, first: true }))]);

    // Every recommendation changes, and the last two are resolved: 22 updates and 2 removals to stream.
    for (let i = 0; i < 24; i++) x.dataset.patches.set(`assessment:${i}`, flip);
    x.dataset.sizes.assessments = 22;
    x.ingestion.accepted.clear();
    x.hubs.events.length = 0;
    const rounds: PassRecord[] = [];
    for (let round = 1; round <= 6; round++) {
      const [pass] = (await x.concurrentPasses({ hooks: (key) => (key.scope === unit ? stopAfter(10) : {}) })).filter((p) => p.scope === unit);
      rounds.push(pass!);
      const asked = listings(x);
      if (round > 1) {
        // It went on at the partition the last one stopped in, from that partition's first page, not the listing's.
        const from = rounds[round - 2]!.stopped!.cursor as { graph: { partition: number; of: number } };
        expect(asked[0], `round ${round}`).toEqual({ partition: `${from.graph.of} == ${from.graph.partition}`, first: true });
      }
      if (pass!.stopped === undefined) break;
    }
    expect(rounds.length).toBeGreaterThanOrEqual(3);
    for (const p of rounds) expect([p.mode, p.error, p.incomplete]).toEqual(["stream", undefined, undefined]);
    const stops = rounds.filter((p) => p.stopped !== undefined).map((p) => p.stopped!.cursor as { graph: { request: number; partition: number; of: number; members: string } });
    expect(stops.map((c) => [c.graph.request, c.graph.of])).toEqual(stops.map(() => [0, 4]));
    expect(stops.some((c) => c.graph.partition > 0)).toBe(true);
    expect(rounds.slice(1).every((p) => p.resumed === true)).toBe(true);
    // Removals only once the read was complete, and each change once.
    expect(rounds.slice(0, -1).every((p) => p.removed === 0)).toBe(true);
    expect(rounds.at(-1)!.removed).toBe(2);
    const sent = actions(x);
    expect(sent.size).toBe(24);
    expect([...sent.values()].filter((a) => a.join() === "Update")).toHaveLength(22);
    expect([...sent.values()].filter((a) => a.join() === "Remove")).toHaveLength(2);
    expect(rounds.reduce((n, p) => n + p.changed, 0)).toBe(22);
    expect(x.hubs.events).toHaveLength(24);
  }, 120_000);

  it("a listing that moves while a unit pass reads it: the pass delivers what it read and says why it removes, departs and forgets nothing; the next stable pass removes", async () => {
    const second = { subscriptionId: NEIGHBOUR, alerts: 0, assessments: 12 };
    w = await world({
      alerts: 0,
      assessments: 12,
      otherSubscriptions: [second],
      sources: [{ eventSource: "Assessments" }],
      reader: "resourceGraph",
      scopes: () => [GROUP],
      graphPageRows: 3,
      resourceGraph: PLENTY,
    });
    const x = w;
    const [first, other] = x.subscriptions;
    expect(first!.subscriptionId).toBe(MAIN);
    // One unit holds both subscriptions: its ledger would show the second leaving.
    const moving = managementGroupUnit(GROUP, unitOfSubscription(MAIN, 4), 4);
    const ofUnit = (passes: PassRecord[]) => passes.find((p) => p.scope === moving)!;
    expect(ofUnit(await x.concurrentPasses())).toMatchObject({ mode: "baseline", changed: 24, subscriptions: { membersKnown: true } });

    // A recommendation was resolved before the pass; another goes while it reads, and the second subscription leaves.
    first!.sizes.assessments = 11;
    x.managementGroups["mg-test"] = [first!.subscriptionId];
    x.ingestion.accepted.clear();
    const moved = ofUnit(
      await x.concurrentPasses({
        hooks: (key) => (key.scope === moving ? { hooks: { afterRead: (n) => void (n === 4 && (first!.sizes.assessments = 10)) } } : {}),
      }),
    );
    expect(moved).toMatchObject({ mode: "stream", removed: 0, changed: 0 });
    expect(moved.error).toBeUndefined();
    expect(moved.incomplete).toMatch(/^the listing of assessment moved while it was read \(page \d: the listing held 11 rows at page \d, 10 at page \d\): removals wait for a complete read$/);
    // Members unknown: nothing departed, the ledger as it was.
    expect(moved.subscriptions).toMatchObject({ membersKnown: false, departed: {}, forgotten: [] });
    expect([...x.ingestion.accepted.values()].flat()).toEqual([]);

    // Nothing moves now: both resolved recommendations go out as removed, once; the second subscription departs
    // (its records kept, none removed).
    const stable = ofUnit(await x.concurrentPasses());
    expect(stable).toMatchObject({ mode: "stream", removed: 2, subscriptions: { membersKnown: true, departed: { [other!.subscriptionId]: expect.any(String) } } });
    expect(stable.incomplete).toBeUndefined();
    const removed = [...x.ingestion.accepted.values()].flat().filter((r) => r["ExportAction"] === "Remove");
    expect(removed.map((r) => r["RecordId"]).sort()).toEqual([10, 11].map((i) => String(first!.assessment(i)["id"]).toLowerCase()).sort());
  }, 120_000);
});
