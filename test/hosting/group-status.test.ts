import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unitOfSubscription } from "../../src/config/automation.js";
import { groupStatus, type UnitPasses } from "../../src/hosting/group-status.js";
import type { ExportService } from "../../src/hosting/service.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startSandbox, type Sandbox } from "../../dev/local-host/sandbox.js";
import { sandboxService } from "../functions/helpers.js";
import { passRecordOf } from "../helpers/pass-record.js";

// Issue 17: status summarises a management group per subscription, worst first, a page at a time, instead
// of listing its units' passes.

const GROUP_ID = "mg-status";
const GROUP = `/providers/Microsoft.Management/managementGroups/${GROUP_ID}`;
const unit = (n: number, of = 2) => `${GROUP}/units/${n}-of-${of}`;
const NOW = new Date("2026-12-01T12:00:00Z");
const sub = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

const report = (read: Record<string, number>, departed: Record<string, string> = {}) => ({ read, membersKnown: true, joined: [], departed, forgotten: [] });
const page = { top: 100, skip: 0 };
const options = { cadenceSeconds: 300, snapshotCadenceSeconds: 7 * 86_400, retentionDays: 30, now: NOW };

describe("a management group's status per subscription", () => {
  it("each subscription takes its sources' worst; failing, waiting, stalled, not yet run, departed, then flowing", () => {
    const recent = "2026-12-01T11:58:00.000Z";
    const keys: UnitPasses[] = [
      // Unit 1: alerts fail now (after a success that read sub 1 and 2); attack paths flow.
      {
        scope: unit(1),
        eventSource: "Alerts",
        passes: [
          passRecordOf(unit(1), "Alerts", recent, { error: "Resource Graph answered 500", subscriptions: report({ [sub(1)]: 0, [sub(2)]: 0 }) }),
          passRecordOf(unit(1), "Alerts", "2026-12-01T11:50:00.000Z", { subscriptions: report({ [sub(1)]: 3, [sub(2)]: 1 }) }),
        ],
      },
      {
        scope: unit(1),
        eventSource: "AttackPaths",
        passes: [passRecordOf(unit(1), "AttackPaths", recent, { incomplete: "the listing moved", subscriptions: report({ [sub(1)]: 2, [sub(2)]: 0 }) })],
      },
      // Unit 2: alerts flow, but attack paths last succeeded an hour ago (stalled); sub 4 left a day ago.
      {
        scope: unit(2),
        eventSource: "Alerts",
        passes: [passRecordOf(unit(2), "Alerts", recent, { subscriptions: report({ [sub(3)]: 5 }, { [sub(4)]: "2026-11-30T12:00:00.000Z" }) })],
      },
      { scope: unit(2), eventSource: "AttackPaths", passes: [passRecordOf(unit(2), "AttackPaths", "2026-12-01T11:00:00.000Z", { subscriptions: report({ [sub(3)]: 1 }) })] },
      // A snapshot source is judged by the snapshot schedule (weekly): three days old is on time.
      {
        scope: unit(2),
        eventSource: "AssessmentsSnapshot",
        passes: [passRecordOf(unit(2), "AssessmentsSnapshot", "2026-11-28T12:00:00.000Z", { mode: "snapshot", subscriptions: report({ [sub(3)]: 4 }) })],
      },
      // Another group's unit is not this group's.
      {
        scope: "/providers/Microsoft.Management/managementGroups/other/units/1-of-2",
        eventSource: "Alerts",
        passes: [passRecordOf("x", "Alerts", recent, { subscriptions: report({ [sub(9)]: 1 }) })],
      },
    ];
    const status = groupStatus(GROUP, keys, { ...options, page });
    expect(status.units).toBe(2);
    expect(status.summary).toEqual({ subscriptions: 4, failing: 2, waiting: 0, stalled: 1, "not yet run": 0, departed: 1, flowing: 0 });
    expect(status.subscriptions.value.map((r) => [r.subscriptionId, r.status, r.unit])).toEqual([
      [sub(1), "failing", "1-of-2"],
      [sub(2), "failing", "1-of-2"],
      [sub(3), "stalled", "2-of-2"],
      [sub(4), "departed", "2-of-2"],
    ]);
    expect(status.subscriptions.value[0]).toMatchObject({
      reasons: ["Alerts: Resource Graph answered 500", "AttackPaths: the listing moved"],
      lastSuccessfulPassAt: "2026-12-01T11:50:00.000Z",
      secondsSinceLastSuccessfulPass: 600,
      recordsRead: { Alerts: 3, AttackPaths: 2 },
    });
    expect(status.subscriptions.value[2]).toMatchObject({
      reasons: ["AttackPaths: no successful pass since 2026-12-01T11:00:00.000Z"],
      recordsRead: { Alerts: 5, AttackPaths: 1, AssessmentsSnapshot: 4 },
      lastSuccessfulPassAt: "2026-11-28T12:00:00.000Z",
    });
    expect(status.subscriptions.value[3]).toMatchObject({ departedAt: "2026-11-30T12:00:00.000Z", keptUntil: "2026-12-30T12:00:00.000Z" });
  });

  it("a source whose only pass failed holds back every subscription its unit's other sources know; a retried one waits", () => {
    const keys: UnitPasses[] = [
      { scope: unit(1, 1), eventSource: "Alerts", passes: [passRecordOf(unit(1, 1), "Alerts", "2026-12-01T11:59:00.000Z", { subscriptions: report({ [sub(1)]: 1, [sub(2)]: 1 }) })] },
      {
        scope: unit(1, 1),
        eventSource: "AttackPaths",
        passes: [
          passRecordOf(unit(1, 1), "AttackPaths", "2026-12-01T11:59:00.000Z", {
            error: "403",
            retry: { at: "2026-12-01T12:05:00.000Z", attempt: 1, reason: "roles apply" },
            subscriptions: report({}),
          }),
        ],
      },
    ];
    const rows = groupStatus(GROUP, keys, { ...options, page }).subscriptions.value;
    expect(rows.map((r) => [r.subscriptionId, r.status, r.lastSuccessfulPassAt])).toEqual([
      [sub(1), "waiting", null],
      [sub(2), "waiting", null],
    ]);
    expect(rows[0]!.reasons).toEqual(["AttackPaths: 403; tried again at 2026-12-01T12:05:00.000Z"]);
  });

  it("a pass stopped at its time limit is no success: a unit whose passes all stop is stalled, saying so", () => {
    const stopped = { at: "2026-12-01T11:59:00.000Z", cursor: null };
    const keys: UnitPasses[] = [
      {
        scope: unit(1, 1),
        eventSource: "Alerts",
        passes: [
          passRecordOf(unit(1, 1), "Alerts", "2026-12-01T11:59:00.000Z", { stopped, subscriptions: report({ [sub(1)]: 7 }) }),
          passRecordOf(unit(1, 1), "Alerts", "2026-12-01T11:50:00.000Z", { stopped, subscriptions: report({ [sub(1)]: 7 }) }),
        ],
      },
    ];
    const [row] = groupStatus(GROUP, keys, { ...options, page }).subscriptions.value;
    expect(row).toMatchObject({ status: "stalled", lastSuccessfulPassAt: null, reasons: [expect.stringContaining("stopped at its time limit")] });
  });

  it("pages worst first, and filters by status", () => {
    const read = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [sub(i), 1]));
    const keys: UnitPasses[] = [
      {
        scope: unit(1, 1),
        eventSource: "Alerts",
        passes: [passRecordOf(unit(1, 1), "Alerts", "2026-12-01T11:59:00.000Z", { subscriptions: report(read, { [sub(999)]: "2026-12-01T00:00:00.000Z" }) })],
      },
    ];
    const first = groupStatus(GROUP, keys, { ...options, page: { top: 100, skip: 0 } });
    expect(first.summary).toMatchObject({ subscriptions: 251, flowing: 250, departed: 1 });
    expect(first.subscriptions).toMatchObject({ skip: 0, top: 100, matching: 251, nextSkip: 100 });
    expect(first.subscriptions.value[0]!.subscriptionId).toBe(sub(999));
    const last = groupStatus(GROUP, keys, { ...options, page: { top: 100, skip: 200 } });
    expect(last.subscriptions.value).toHaveLength(51);
    expect(last.subscriptions.nextSkip).toBeNull();
    const seen = [first, groupStatus(GROUP, keys, { ...options, page: { top: 100, skip: 100 } }), last].flatMap((s) => s.subscriptions.value.map((r) => r.subscriptionId));
    expect(new Set(seen).size).toBe(251);
    const departed = groupStatus(GROUP, keys, { ...options, page: { top: 10, skip: 0, status: "departed" } });
    expect(departed.subscriptions).toMatchObject({ matching: 1, nextSkip: null, value: [{ subscriptionId: sub(999), status: "departed" }] });
  });
});

describe("status of a management group configuration, through the service", () => {
  let azurite: Azurite;
  let sandbox: Sandbox;
  let service: ExportService;
  beforeAll(async () => {
    azurite = await startAzurite();
    sandbox = await startSandbox({ driftSeconds: 3600, managementGroup: { id: GROUP_ID, subscriptions: 12 } });
    service = sandboxService(azurite, sandbox).service;
  }, 60_000);
  afterAll(async () => {
    await sandbox?.close();
    await azurite?.stop();
  });

  it("summarises the group per subscription; a unit that fails puts its subscriptions first; one that leaves shows as departed", async () => {
    const configuration = {
      ...sandbox.configuration,
      reader: "resourceGraph",
      managementGroupUnits: 3,
      scopes: [{ scopePath: GROUP }],
      sources: [{ eventSource: "Alerts" }, { eventSource: "AttackPaths" }],
    };
    await service.put("group", configuration, {});
    const baseline = await service.runNow("group");
    expect(baseline.map((p) => p.error)).toEqual(baseline.map(() => undefined));
    const subscriptions = sandbox.managementGroups[GROUP_ID]!.map((s) => s.toLowerCase());
    const flowing = (await service.status("group", { top: 5, skip: 0 })) as {
      managementGroups: { summary: unknown; subscriptions: { value: { status: string }[]; nextSkip: number | null } }[];
      sources: { passes: object[] }[];
    };
    expect(flowing.managementGroups).toHaveLength(1);
    expect(flowing.managementGroups[0]!.summary).toMatchObject({ subscriptions: 12, flowing: 12 });
    expect(flowing.managementGroups[0]!.subscriptions).toMatchObject({ nextSkip: 5 });
    expect(flowing.managementGroups[0]!.subscriptions.value).toHaveLength(5);
    // Each unit's latest pass is listed, without its per-subscription detail.
    expect(flowing.sources).toHaveLength(6);
    expect(flowing.sources.every((s) => s.passes.length === 1 && !("subscriptions" in s.passes[0]!))).toBe(true);

    // One subscription leaves; a non-transient Resource Graph failure fails whichever unit pass asks first.
    const leaving = subscriptions[5]!;
    sandbox.managementGroups[GROUP_ID] = sandbox.managementGroups[GROUP_ID]!.filter((s) => s.toLowerCase() !== leaving);
    sandbox.arm.inject({ kind: "status", status: 400 }, { path: /ResourceGraph/, times: 1 });
    const next = await service.runNow("group");
    expect(((await service.status("group")) as { sources: { passes: object[] }[] }).sources.every((s) => s.passes.length === 1)).toBe(true);
    const failed = next.filter((p) => p.error !== undefined);
    expect(failed).toHaveLength(1);
    const failedUnit = Number(/units\/(\d+)-of-3$/.exec(failed[0]!.scope)![1]) - 1;
    const heldBack = subscriptions.filter((s) => s !== leaving && unitOfSubscription(s, 3) === failedUnit).sort();
    expect(heldBack.length).toBeGreaterThan(0);

    const status = (await service.status("group", { top: 100, skip: 0 })) as {
      flow: { status: string };
      managementGroups: { summary: Record<string, number>; subscriptions: { value: { subscriptionId: string; status: string; reasons: string[]; departedAt?: string }[] } }[];
    };
    expect(status.flow.status).toBe("failing");
    const group = status.managementGroups[0]!;
    expect(group.summary).toMatchObject({ subscriptions: 12, failing: heldBack.length, departed: 1, flowing: 12 - 1 - heldBack.length });
    const rows = group.subscriptions.value;
    expect(rows.slice(0, heldBack.length).map((r) => r.subscriptionId)).toEqual(heldBack);
    expect(rows[0]!.reasons).toEqual([expect.stringMatching(new RegExp(`^${failed[0]!.eventSource}: .*400`))]);
    expect(rows.find((r) => r.subscriptionId === leaving)).toMatchObject({ status: "departed", departedAt: expect.any(String) });
    const onlyFailing = (await service.status("group", { top: 100, skip: 0, status: "failing" })) as typeof status;
    expect(onlyFailing.managementGroups[0]!.subscriptions.value.map((r) => r.subscriptionId)).toEqual(heldBack);
  }, 120_000);

  it("units given up (their number changed) lose their state: coming back to that number starts from a baseline, not from what they knew", async () => {
    const configuration = (units: number) => ({
      ...sandbox.configuration,
      reader: "resourceGraph",
      managementGroupUnits: units,
      scopes: [{ scopePath: GROUP }],
      sources: [{ eventSource: "AttackPaths" }],
    });
    const modes = (passes: { scope: string; mode: string; error?: string }[]) => passes.map((p) => [p.scope.replace(/^.*\/units\//, ""), p.mode, p.error]);
    await service.put("recount", configuration(2), {});
    expect(modes(await service.runNow("recount"))).toEqual([
      ["1-of-2", "baseline", undefined],
      ["2-of-2", "baseline", undefined],
    ]);
    expect(modes(await service.runNow("recount")).map(([, mode]) => mode)).toEqual(["stream", "stream"]);
    const key = { configuration: "recount", scope: `${GROUP}/units/1-of-2`, eventSource: "AttackPaths" as const };
    expect((await service.state.load(key)).etag).toBeDefined();
    await service.put("recount", configuration(3), {});
    expect((await service.state.load(key)).etag).toBeUndefined();
    expect(await service.state.recentPasses(key, 5)).toEqual([]);
    await service.runNow("recount");
    // Back to two: new units again, with their baseline.
    await service.put("recount", configuration(2), {});
    expect(modes(await service.runNow("recount")).map(([, mode]) => mode)).toEqual(["baseline", "baseline"]);
    // A change that keeps the units keeps their state.
    await service.put("recount", { ...configuration(2), description: "renamed" }, {});
    expect(modes(await service.runNow("recount")).map(([, mode]) => mode)).toEqual(["stream", "stream"]);
    // The group given up altogether: its units go too.
    await service.put("recount", { ...configuration(2), scopes: [{ scopePath: sandbox.dataset.subscriptionPath }] }, {});
    expect((await service.state.load(key)).etag).toBeUndefined();
    expect(await service.state.storedUnits("recount", GROUP)).toEqual([]);
  }, 120_000);
});
