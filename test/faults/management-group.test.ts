import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterEach, describe, expect, it } from "vitest";
import { managementGroupUnit, unitOfSubscription } from "../../src/config/automation.js";
import { idHash } from "../../src/change/ids.js";
import type { PassRecord } from "../../src/engine/pass.js";
import { passPrefix } from "../../src/state/store.js";
import type { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { FAST_RETRIES } from "../helpers/arm.js";
import { duplicates, HUB, nothingLost, stateOf, untilClean, world, type ChildArgs, type UnitKey, type World, type WorldOptions } from "./harness.js";

// Issue 17's faults for a configuration scoped to a management group: eight synthetic subscriptions, two in each
// of the group's four units, read through Resource Graph, every unit's passes at once as an instance's queue
// worker runs them. Each fault: nothing lost, and duplicates only where at-least-once allows them (what a pass
// that died or failed had sent since its last checkpoint).

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const GROUP = "/providers/Microsoft.Management/managementGroups/mg-test";
const UNITS = 4;
const GRAPH = /ResourceGraph/i;
const subscription = (i: number) => `6a1c2b3d-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
// With the world's own subscription, two in each unit (unitOfSubscription): the test checks it below.
const OTHERS = [6, 2, 5, 3, 15, 1, 4].map(subscription);
// A quota these passes never reach, but where a test spends it on purpose.
const PLENTY = { quota: { queries: 10_000, windowMs: 1000 } };
/** Six alerts and six recommendations in each subscription: 96 records, 12 of each source per unit, 3 pages of 4. */
const RECORDS = 96;
const CHECKPOINT_EVERY = 4;

const unitScope = (index: number) => managementGroupUnit(GROUP, index, UNITS);
const unitOf = (d: SyntheticDataset) => unitScope(unitOfSubscription(d.subscriptionId, UNITS));

async function groupWorld(options: Partial<WorldOptions> = {}): Promise<World> {
  const x = await world({
    alerts: 6,
    assessments: 6,
    otherSubscriptions: OTHERS.map((subscriptionId) => ({ subscriptionId, alerts: 6, assessments: 6 })),
    reader: "resourceGraph",
    scopes: () => [GROUP],
    graphPageRows: 4,
    resourceGraph: PLENTY,
    ...options,
  });
  const perUnit = Array.from({ length: UNITS }, (_, i) => x.subscriptions.filter((d) => unitOf(d) === unitScope(i)).length);
  expect(perUnit).toEqual([2, 2, 2, 2]);
  expect(x.expected()).toHaveLength(RECORDS);
  return x;
}

/** A Resource Graph request's body: a listing of one type, over the subscriptions named, from its second page on. */
const laterPage = (type: string, subscriptionId: string) => new RegExp(`^(?=.*'microsoft\\.security/${type.replace(/\//g, "\\/")}')(?=.*"${subscriptionId}")(?=.*"\\$skipToken")`);

const passLine = (p: PassRecord) => [p.scope, p.eventSource, p.error ?? null];
const byScope = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
const escape = (text: string) => text.replace(/[/.()]/g, "\\$&");

describe("management group faults", () => {
  it("a Resource Graph 429 storm while every unit's passes run at once: passes wait, those throttled past their retries fail naming the page, the next round delivers the rest, nothing twice", async () => {
    w = await groupWorld({
      // Pages of 8: a unit's twelve records of a source come in two pages, the group's members in one.
      graphPageRows: 8,
      // The identity's quota is small too: the passes of one instance share what its answers say is left.
      resourceGraph: { quota: { queries: 20, windowMs: 1000 } },
      passArgs: { maxThrottledRetries: 3, graphQuota: { windowMs: 150, jitterMs: 50, maxWaitMs: 5000 } },
    });
    // 429 RateLimiting without Retry-After or quota headers (another client of the same identity spending the
    // quota): first on every query, as many as the passes wait out; then on every listing's second page, more
    // than the eight listings may each wait out (3 times) in a row.
    const [WAITED, FAILING] = [16, 40];
    const rateLimited = { kind: "status", status: 429, code: "RateLimiting" } as const;
    w.arm.inject(rateLimited, { path: GRAPH, times: WAITED });
    w.arm.inject(rateLimited, { path: GRAPH, body: /"\$skipToken"/, times: FAILING });
    const rounds: PassRecord[][] = [];
    const clean = await untilClean(async () => {
      const round = await w!.concurrentPasses({ checkpointEvery: CHECKPOINT_EVERY });
      rounds.push(round);
      return round;
    });
    expect(clean).toBeGreaterThan(1);
    expect(rounds[0]).toHaveLength(UNITS * 2);
    const failed = rounds.flat().filter((p) => p.error !== undefined);
    expect(failed.length).toBeGreaterThan(0);
    for (const p of failed) {
      expect(p.error).toMatch(new RegExp(`^RateLimiting: reading (alert|assessment|subscriptions) at ${escape(p.scope)}, page \\d+: HTTP 429 RateLimiting: .*\\(throttled 4 times in a row\\)$`));
    }
    // Passes failed after delivering (and keeping) their first page: the next round sent only the rest.
    expect(failed.some((p) => p.changed === 8 && p.checkpoints === 2)).toBe(true);
    const served = w.arm.requests.filter((r) => GRAPH.test(r.path));
    expect(served.filter((r) => r.fault === "status" && r.status === 429)).toHaveLength(WAITED + FAILING);
    const got = await nothingLost(w);
    expect([got.logAnalytics.size, got.eventHubs.size]).toEqual([RECORDS, RECORDS]);
    expect([duplicates(got.logAnalytics), duplicates(got.eventHubs)]).toEqual([0, 0]);
  }, 60_000);

  it("a page that fails mid-listing (5xx past the retries, a malformed answer): that unit's pass fails naming the page, the other units' go through, the next round delivers the rest, nothing twice", async () => {
    w = await groupWorld();
    const [first, , second] = w.subscriptions as SyntheticDataset[];
    const [unitA, unitB] = [unitOf(first!), unitOf(second!)];
    expect(unitA).not.toBe(unitB);
    // Unit A's alerts: page 2 answers 503 through every retry. Unit B's recommendations: page 2 is cut short.
    w.arm.inject({ kind: "status", status: 503 }, { path: GRAPH, body: laterPage("locations/alerts", first!.subscriptionId), times: FAST_RETRIES.maxRetries + 1 });
    w.arm.inject({ kind: "malformed" }, { path: GRAPH, body: laterPage("assessments", second!.subscriptionId), times: 1 });
    const round1 = await w.concurrentPasses({ checkpointEvery: CHECKPOINT_EVERY });
    expect(round1.filter((p) => p.error !== undefined).map(passLine)).toEqual(
      [
        [unitA, "Alerts", expect.stringMatching(new RegExp(`^ServiceUnavailable: reading alert at ${escape(unitA)}, page 2: HTTP 503`))],
        [unitB, "Assessments", expect.stringMatching(new RegExp(`^reading assessment at ${escape(unitB)}, page 2: `))],
      ].sort(byScope),
    );
    // The failed passes had sent and kept their first page; every other pass sent its unit's twelve records.
    for (const p of round1) expect([p.scope, p.eventSource, p.changed]).toEqual([p.scope, p.eventSource, p.error === undefined ? 12 : CHECKPOINT_EVERY]);
    expect(
      w.arm.requests
        .filter((r) => r.fault !== undefined)
        .map((r) => `${r.fault} ${r.status}`)
        .sort(),
    ).toEqual(["malformed 200", ...Array.from({ length: FAST_RETRIES.maxRetries + 1 }, () => "status 503")]);

    const round2 = await w.concurrentPasses({ checkpointEvery: CHECKPOINT_EVERY });
    expect(round2.filter((p) => p.error !== undefined).map(passLine)).toEqual([]);
    expect(round2.filter((p) => p.changed > 0).map((p) => [p.scope, p.eventSource, p.changed])).toEqual(
      [
        [unitA, "Alerts", 12 - CHECKPOINT_EVERY],
        [unitB, "Assessments", 12 - CHECKPOINT_EVERY],
      ].sort(byScope),
    );
    const got = await nothingLost(w);
    expect([got.logAnalytics.size, got.eventHubs.size]).toEqual([RECORDS, RECORDS]);
    expect([duplicates(got.logAnalytics), duplicates(got.eventHubs)]).toEqual([0, 0]);
  }, 60_000);

  it("a subscription that leaves the group mid-pass, out of the identity's sight: none of its records is exported as removed, then or later, the others lose nothing, and when it comes back nothing of it is sent again", async () => {
    w = await groupWorld();
    const x = w;
    const [, leaving] = x.subscriptions as SyntheticDataset[];
    const unit = unitOf(leaving!);
    const staying = x.subscriptions.find((d) => d !== leaving && unitOf(d) === unit)!;
    const leavingIds = new Set(idsOf(leaving!));
    expect(leavingIds.size).toBe(12);
    expect((await x.concurrentPasses()).filter((p) => p.error !== undefined).map(passLine)).toEqual([]);
    expect(received(x).removed).toEqual([]);

    // A recommendation of the other subscription of the unit is resolved: the unit's next pass removes it.
    const resolved = String(staying.assessment(5)["id"]).toLowerCase();
    staying.sizes.assessments = 5;
    // While Resource Graph holds the unit's recommendations listing, the subscription moves to a management group
    // the identity cannot read: out of the group's members, and out of Resource Graph's answers.
    x.arm.inject({ kind: "delay", ms: 600 }, { path: GRAPH, body: new RegExp(`^(?=.*'microsoft\\.security/assessments')(?=.*"${leaving!.subscriptionId}")(?!.*"\\$skipToken")`), times: 1 });
    let movedDuring: string | undefined;
    const moved = (async () => {
      while (!x.arm.requests.some((r) => r.fault === "delay")) await sleep(5);
      movedDuring = x.arm.requests.find((r) => r.fault === "delay")!.body;
      x.managementGroups["mg-test"] = x.managementGroups["mg-test"]!.filter((id) => id !== leaving!.subscriptionId);
      x.managementGroups["mg-hidden"] = [leaving!.subscriptionId];
      x.subscriptions.splice(x.subscriptions.indexOf(leaving!), 1);
    })();
    // A listing the move cut through fails ("the result changed") and is read again by the next round.
    const afterMove: PassRecord[] = [];
    await untilClean(async () => {
      const round = await x.concurrentPasses();
      afterMove.push(...round);
      return round;
    });
    await moved;
    expect(movedDuring).toContain(leaving!.subscriptionId);
    for (const p of afterMove.filter((q) => q.error !== undefined)) expect(p.error).toMatch(/the next pass reads (it )?again/);
    // The unit's recommendations pass read its listing without the subscription that left, and removed only the resolved one.
    const unitPass = afterMove.find((p) => p.scope === unit && p.eventSource === "Assessments" && p.error === undefined)!;
    expect([unitPass.read, unitPass.removed]).toEqual([5, 1]);
    expect(received(x).removed).toEqual([resolved, resolved]);

    // Later passes, the subscription still away: nothing to send, nothing removed.
    const later = await x.concurrentPasses();
    expect(later.map((p) => [p.scope, p.eventSource, p.changed, p.removed, p.error ?? null])).toEqual(later.map((p) => [p.scope, p.eventSource, 0, 0, null]));

    // It comes back, unchanged: none of its records is sent again.
    x.subscriptions.push(leaving!);
    x.managementGroups["mg-test"]!.push(leaving!.subscriptionId);
    delete x.managementGroups["mg-hidden"];
    const back = await x.concurrentPasses();
    expect(back.filter((p) => p.error !== undefined).map(passLine)).toEqual([]);
    expect(back.find((p) => p.scope === unit && p.eventSource === "Assessments")!.read).toBe(11);
    const got = received(x);
    expect(got.removed).toEqual([resolved, resolved]);
    for (const counts of [got.logAnalytics, got.eventHubs]) {
      expect([...leavingIds].map((id) => counts.get(id))).toEqual([...leavingIds].map(() => 1));
      expect(duplicates(counts)).toBe(0);
    }
    const all = await nothingLost(x);
    expect([all.logAnalytics.size, all.eventHubs.size]).toEqual([RECORDS, RECORDS]);
  }, 60_000);

  it("an instance killed while its unit passes hold their leases: another runs those units once the leases expire, delivers everything, and sends twice only what the dead passes sent since their last checkpoint", async () => {
    // Leases of 15 s (Blob storage's shortest), renewed every 5 s while their holder lives.
    w = await groupWorld({ passArgs: { leaseSeconds: 15 } });
    const x = w;
    const state = stateOf(x.args());
    const container = BlobServiceClient.fromConnectionString(x.azurite.connectionString).getContainerClient(`${x.prefix}-state`);
    const keyOf = (k: UnitKey) => ({ configuration: x.prefix, scope: k.scope, eventSource: k.eventSource });
    const keys: UnitKey[] = Array.from({ length: UNITS }, (_, i) => unitScope(i)).flatMap((scope) => (["Alerts", "Assessments"] as const).map((eventSource) => ({ scope, eventSource })));
    const name = (k: UnitKey) => `${k.scope} ${k.eventSource}`;

    // Resource Graph answers slowly, so that the instance is killed in the middle of its listings: once half its
    // passes have sent six records (a checkpoint after four, two sent since).
    x.arm.inject({ kind: "delay", ms: 300 }, { path: GRAPH, times: 10_000 });
    const args: ChildArgs = { ...x.args(undefined, CHECKPOINT_EVERY), concurrent: true, reportWritten: 6 };
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./pass-child.ts", import.meta.url)), JSON.stringify(args)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    // Whole lines only: a chunk of output may end in the middle of one.
    const lines = () =>
      out
        .split("\n")
        .slice(0, -1)
        .map((l) => JSON.parse(l) as UnitKey & { written?: number; changed?: number });
    const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (lines().filter((l) => l.written !== undefined).length >= UNITS) resolve();
      });
      void exited.then(resolve);
    });
    child.kill("SIGKILL");
    await exited;
    const finished = new Set(
      lines()
        .filter((l) => l.changed !== undefined)
        .map(name),
    );
    const held = keys.filter((k) => !finished.has(name(k)));
    expect(held.length).toBeGreaterThanOrEqual(UNITS);
    for (const k of held) expect((await container.getBlobClient(`${passPrefix(keyOf(k))}/lock`).getProperties()).leaseState).toBe("leased");

    // What the dead instance delivered, and what its checkpoints kept: only the difference may come twice.
    const kept = await Promise.all(keys.map((k) => state.load(keyOf(k))));
    const unacknowledged = (ids: string[]) => new Set(ids.filter((id) => kept.every((s) => s.entries.get(idHash(id)) === undefined)));
    const dead = x.delivered();
    expect(dead.logAnalytics.length).toBeGreaterThan(0);
    const mayRepeat = { logAnalytics: unacknowledged(dead.logAnalytics), eventHubs: unacknowledged(dead.eventHubs) };

    // Another instance: the dead one's passes are skipped while their leases hold, then run.
    x.arm.clearFaults();
    const rounds: PassRecord[][] = [];
    const began = Date.now();
    for (;;) {
      const round = await x.concurrentPasses({ checkpointEvery: CHECKPOINT_EVERY });
      rounds.push(round);
      if (round.every((p) => p.skipped === undefined && p.error === undefined)) break;
      expect(Date.now() - began).toBeLessThan(30_000);
      await sleep(1000);
    }
    expect(rounds.length).toBeGreaterThan(1);
    expect(
      rounds[0]!
        .filter((p) => p.skipped !== undefined)
        .map((p) => `${p.scope} ${p.eventSource}`)
        .sort(),
    ).toEqual(held.map(name).sort());
    expect(
      rounds
        .flat()
        .filter((p) => p.error !== undefined)
        .map(passLine),
    ).toEqual([]);

    const got = await nothingLost(x);
    expect([got.logAnalytics.size, got.eventHubs.size]).toEqual([RECORDS, RECORDS]);
    for (const [counts, allowed] of [
      [got.logAnalytics, mayRepeat.logAnalytics],
      [got.eventHubs, mayRepeat.eventHubs],
    ] as const) {
      const twice = [...counts].filter(([, n]) => n > 1);
      expect(twice.filter(([id, n]) => n > 2 || !allowed.has(id))).toEqual([]);
    }
  }, 60_000);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The stable ids of a subscription's alerts and recommendations. */
function idsOf(d: SyntheticDataset): string[] {
  return [...Array.from({ length: d.sizes.alerts }, (_, i) => d.alert(i)), ...Array.from({ length: d.sizes.assessments }, (_, i) => d.assessment(i))].map((r) => String(r["id"]).toLowerCase());
}

/** What the destinations received: how often each id came as new or changed, and the removals (both destinations'). */
function received(x: World): { logAnalytics: Map<string, number>; eventHubs: Map<string, number>; removed: string[] } {
  const count = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
  const delivered = x.delivered();
  const rows = [...x.ingestion.accepted.values()].flat();
  const isRemoved = (row: Record<string, unknown>) => row["ExportAction"] === "Remove";
  const events = x.hubs.events.filter((e) => e.hub === HUB).map((e) => e.body as Record<string, unknown>);
  const isDeleted = (body: Record<string, unknown>) => (body["securityEventDataEnrichment"] as Record<string, unknown> | undefined)?.["action"] === "Delete";
  return {
    logAnalytics: count(rows.filter((r) => !isRemoved(r)).map((r) => String(r["RecordId"]))),
    eventHubs: count(delivered.eventHubs.filter((_, i) => !isDeleted(events[i]!))),
    removed: [...rows.filter(isRemoved).map((r) => String(r["RecordId"])), ...delivered.eventHubs.filter((_, i) => isDeleted(events[i]!))],
  };
}
