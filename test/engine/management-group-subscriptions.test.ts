import { describe, expect, it, vi } from "vitest";
import { ExportEntries } from "../../src/change/entries.js";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { EventSource } from "../../src/config/enums.js";
import { runPass } from "../../src/engine/pass.js";
import { runConfiguration } from "../../src/engine/runner.js";
import { unitOfSubscription } from "../../src/config/automation.js";
import type { SourceRecord } from "../../src/sources/reader.js";
import { MemoryStateStore } from "../helpers/memory-state.js";
import { recordingSink } from "../helpers/memory-sink.js";

// Subscriptions come and go in a management group: one that joins gets its baseline, one that leaves keeps its
// state for the retention, then it is forgotten (nothing sent); one that comes back in time goes on where it was.

const GROUP = "/providers/Microsoft.Management/managementGroups/mg-test";
const [A, B, C] = ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000c"] as const;
const DAY = 86_400_000;
const path = (sub: string, i: number, riskLevel = "High") => ({
  id: `/subscriptions/${sub}/providers/Microsoft.Security/attackPaths/p${i}`,
  name: `p${i}`,
  type: "microsoft.security/attackpaths",
  properties: { riskLevel },
});
const alert = (sub: string, i: number) => ({
  id: `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Security/locations/westeurope/alerts/a${i}`,
  name: `a${i}`,
  type: "Microsoft.Security/Locations/alerts",
  properties: { status: "Active", severity: "High", timeGeneratedUtc: "2026-11-01T00:00:00Z" },
});

function configurationOf(eventSource: EventSource, extra: Record<string, unknown> = {}) {
  const parsed = parseExportConfiguration({ reader: "resourceGraph", scopes: [GROUP], sources: [{ eventSource }], actions: [{ actionType: "Internal" }], ...extra });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.configuration;
}

/** A world of one group: who is in it, and the records of each subscription. */
function group(eventSource: EventSource, extra: Record<string, unknown> = {}) {
  const configuration = configurationOf(eventSource, extra);
  const state = new MemoryStateStore();
  let clock = Date.parse("2026-12-01T00:00:00Z");
  return {
    state,
    key: { configuration: "mg", scope: GROUP, eventSource },
    advance: (ms: number) => void (clock += ms),
    async pass(records: Record<string, unknown>[], members: readonly string[] | undefined) {
      const sink = recordingSink();
      const read = async function* (): AsyncGenerator<SourceRecord> {
        for (const record of records) yield { dataType: eventSource === "Alerts" ? "alert" : "attackPath", scope: GROUP, record };
      };
      const record = await runPass({
        configurationName: "mg",
        configuration,
        scope: GROUP,
        eventSource,
        read,
        scopeSubscriptions: async () => (members === undefined ? Promise.reject(new Error("Resource Graph unreachable")) : new Set(members)),
        sinks: [sink],
        state,
        baseline: configuration.baselineSnapshot,
        now: () => new Date(clock),
      });
      return { record, sent: sink.sent.map((s) => ({ id: s.id, action: s.action, isSnapshot: s.isSnapshot })) };
    },
  };
}

describe("subscriptions joining and leaving a management group", () => {
  it("a subscription that joins has its records exported as its baseline, marked IsSnapshot; the others stream", async () => {
    const g = group("AttackPaths");
    expect((await g.pass([path(A, 1)], [A])).record).toMatchObject({ mode: "baseline", changed: 1, subscriptions: { joined: [], read: { [A]: 1 } } });
    const next = await g.pass([path(A, 1, "Critical"), path(B, 2), path(B, 3)], [A, B]);
    expect(next.record).toMatchObject({ mode: "stream", changed: 3, subscriptions: { joined: [B], read: { [A]: 1, [B]: 2 }, departed: {} } });
    expect(next.sent).toEqual([
      { id: path(A, 1).id.toLowerCase(), action: "Update", isSnapshot: false },
      { id: path(B, 2).id.toLowerCase(), action: "Insert", isSnapshot: true },
      { id: path(B, 3).id.toLowerCase(), action: "Insert", isSnapshot: true },
    ]);
    // Once known, B streams like A: a new path of B is a plain Insert.
    const after = await g.pass([path(A, 1, "Critical"), path(B, 2), path(B, 3), path(B, 4)], [A, B]);
    expect(after.sent).toEqual([{ id: path(B, 4).id.toLowerCase(), action: "Insert", isSnapshot: false }]);
    expect(after.record.subscriptions?.joined).toEqual([]);
  });

  it('with "baselineSnapshot": false a joining subscription is only remembered, as a new configuration would be', async () => {
    const g = group("AttackPaths", { baselineSnapshot: false });
    await g.pass([path(A, 1)], [A]);
    const joined = await g.pass([path(A, 1), path(B, 2)], [A, B]);
    expect(joined.sent).toEqual([]);
    expect(joined.record.subscriptions?.joined).toEqual([B]);
    expect((await g.pass([path(A, 1), path(B, 2, "Low")], [A, B])).sent).toEqual([{ id: path(B, 2).id.toLowerCase(), action: "Update", isSnapshot: false }]);
  });

  it("one that leaves keeps its state for the retention, and comes back where it was; after the retention it is forgotten unsent", async () => {
    const g = group("AttackPaths", { departedSubscriptionRetentionDays: 10 });
    await g.pass([path(A, 1), path(B, 2), path(C, 3)], [A, B, C]);
    const leftAt = await g.pass([path(A, 1), path(C, 3)], [A, C]);
    expect(leftAt.sent).toEqual([]);
    expect(leftAt.record.subscriptions).toMatchObject({ departed: { [B]: leftAt.record.startedAt }, forgotten: [] });
    // The ledger is in the state: the departure keeps its first date, and the state was written though no record changed.
    g.advance(5 * DAY);
    expect((await g.pass([path(A, 1), path(C, 3)], [A, C])).record.subscriptions?.departed).toEqual({ [B]: leftAt.record.startedAt });
    // C leaves too; B comes back within the retention, unchanged: nothing to send, it is a member again.
    g.advance(DAY);
    const back = await g.pass([path(A, 1), path(B, 2)], [A, B]);
    expect(back.sent).toEqual([]);
    expect(back.record.subscriptions).toMatchObject({ joined: [], departed: { [C]: back.record.startedAt } });
    expect((await g.state.load(g.key)).entries.size).toBe(3);
    // Past C's retention: its path is dropped from the state, not exported as removed.
    g.advance(10 * DAY);
    const forgot = await g.pass([path(A, 1), path(B, 2)], [A, B]);
    expect(forgot.sent).toEqual([]);
    expect(forgot.record).toMatchObject({ removed: 0, subscriptions: { departed: {}, forgotten: [C] } });
    expect((await g.state.load(g.key)).entries.size).toBe(2);
    // Should C come back now, it is a new subscription again: its baseline.
    const again = await g.pass([path(A, 1), path(B, 2), path(C, 3)], [A, B, C]);
    expect(again.sent).toEqual([{ id: path(C, 3).id.toLowerCase(), action: "Insert", isSnapshot: true }]);
    expect(again.record.subscriptions?.joined).toEqual([C]);
  });

  it("one read and then gone from the group before the pass asks again is departed too (dated, so that it is forgotten in time)", async () => {
    const g = group("Alerts", { departedSubscriptionRetentionDays: 1 });
    await g.pass([alert(A, 1)], [A]);
    // B joins and is read, but the members asked after the read no longer hold it.
    const left = await g.pass([alert(A, 1), alert(B, 2)], [A]);
    expect(left.record.subscriptions?.departed).toEqual({ [B]: left.record.startedAt });
    g.advance(2 * DAY);
    expect((await g.pass([alert(A, 1)], [A])).record.subscriptions?.forgotten).toEqual([B]);
    expect((await g.state.load(g.key)).entries.size).toBe(1);
  });

  it("types without removals forget a departed subscription's state after the retention too", async () => {
    const g = group("Alerts", { departedSubscriptionRetentionDays: 1 });
    // The ids are read from the state only when something is to be forgotten (alerts have no removals).
    const walks = vi.spyOn(ExportEntries.prototype, "takeUnseen");
    await g.pass([alert(A, 1), alert(B, 2), alert(B, 3)], [A, B]);
    await g.pass([alert(A, 1)], [A]);
    expect((await g.state.load(g.key)).entries.size).toBe(3);
    expect(walks).not.toHaveBeenCalled();
    g.advance(2 * DAY);
    const forgot = await g.pass([alert(A, 1)], [A]);
    expect(walks).toHaveBeenCalledTimes(1);
    walks.mockRestore();
    expect(forgot.record.subscriptions?.forgotten).toEqual([B]);
    expect(forgot.sent).toEqual([]);
    expect((await g.state.load(g.key)).entries.size).toBe(1);
  });

  it("when the members cannot be read, the ledger stays as it was: nothing departs, nothing is forgotten, nobody joins twice", async () => {
    const g = group("AttackPaths", { departedSubscriptionRetentionDays: 1 });
    await g.pass([path(A, 1), path(B, 2)], [A, B]);
    await g.pass([path(A, 1)], [A]);
    g.advance(2 * DAY);
    const unknown = await g.pass([path(A, 1)], undefined);
    expect(unknown.record).toMatchObject({ removed: 0, subscriptions: { membersKnown: false, forgotten: [] }, incomplete: expect.stringContaining("members could not be read") });
    expect(Object.keys(unknown.record.subscriptions!.departed)).toEqual([B]);
    expect((await g.state.load(g.key)).entries.size).toBe(2);
    const known = await g.pass([path(A, 1)], [A]);
    expect(known.record.subscriptions).toMatchObject({ membersKnown: true, forgotten: [B] });
  });

  it("run from a file (the CLI), units of another number are forgotten: coming back to a number starts from a baseline, not from then", async () => {
    const state = new MemoryStateStore();
    const records = [path(A, 1), path(B, 2), path(C, 3)];
    const run = async (units: number) => {
      const configuration = configurationOf("AttackPaths", { managementGroupUnits: units });
      const passes = await runConfiguration({
        configurationName: "mg",
        configuration,
        read: async function* (scope) {
          const unit = Number(/units\/(\d+)-of-/.exec(scope)![1]) - 1;
          for (const record of records) if (unitOfSubscription(String(record.id).split("/")[2]!, units) === unit) yield { dataType: "attackPath", scope, record };
        },
        scopeSubscriptions: async (scope) => {
          const unit = Number(/units\/(\d+)-of-/.exec(scope)![1]) - 1;
          return new Set([A, B, C].filter((s) => unitOfSubscription(s, units) === unit));
        },
        sinks: [recordingSink()],
        state,
      });
      return [...new Set(passes.map((p) => p.mode))];
    };
    expect(await run(2)).toEqual(["baseline"]);
    expect(await run(2)).toEqual(["stream"]);
    expect(await run(3)).toEqual(["baseline"]);
    expect(await state.storedUnits("mg", GROUP)).toEqual(expect.not.arrayContaining([expect.stringMatching(/-of-2$/)]));
    expect(await run(2)).toEqual(["baseline"]);
  });

  it("the retention is validated and applies to management group scopes only", () => {
    for (const bad of [0, 3651, 1.5, "30"]) {
      const parsed = parseExportConfiguration({ reader: "resourceGraph", scopes: [GROUP], sources: [{ eventSource: "Alerts" }], departedSubscriptionRetentionDays: bad });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok)
        expect(parsed.errors[0]).toMatchObject({
          path: "$.departedSubscriptionRetentionDays",
          message: expect.stringMatching(/^expected departedSubscriptionRetentionDays \(a whole number of days from 1 to 3650\)/),
        });
    }
    const plain = parseExportConfiguration({ scopes: [`/subscriptions/${A}`], sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "Internal" }], departedSubscriptionRetentionDays: 7 });
    expect(plain.ok && plain.warnings.filter((w) => !w.path.startsWith("$.actions")).map((w) => [w.path, w.message])).toEqual([
      ["$.departedSubscriptionRetentionDays", expect.stringContaining("applies to management group scopes only")],
    ]);
  });
});
