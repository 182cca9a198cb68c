import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { ExportConfiguration } from "../../src/config/model.js";
import { BlobStateStore } from "../../src/state/blob-store.js";
import { passPrefix, type StateStore } from "../../src/state/store.js";
import { createSink } from "../../src/destinations/factory.js";
import type { Sink } from "../../src/destinations/sink.js";
import { runConfiguration } from "../../src/engine/runner.js";
import { runPass, readerSource, type PassOptions } from "../../src/engine/pass.js";
import { ArmReader } from "../../src/sources/reader.js";
import type { Cursor } from "../../src/sources/reader.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startFakeArm, type FakeArmServer } from "../../dev/fakes/arm/server.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startFakeLogsIngestion, type FakeLogsIngestion } from "../../dev/fakes/logs-ingestion.js";
import { FAST_RETRIES, staticCredential } from "../helpers/arm.js";
import { declaredStreams, FAST, RULE_ID, SDK_FAST, storage } from "../helpers/destinations.js";
import { MemoryStateStore } from "../helpers/memory-state.js";

let azurite: Azurite;
let ingestion: FakeLogsIngestion;
let arm: FakeArmServer;
let dataset: SyntheticDataset;
let memory: MemoryStateStore;
let run = 0;

beforeAll(async () => {
  azurite = await startAzurite();
  ingestion = await startFakeLogsIngestion({ ruleId: RULE_ID, streams: declaredStreams() });
}, 30_000);
afterAll(async () => {
  await ingestion.close();
  await azurite.stop();
});
beforeEach(async () => {
  run++;
  ingestion.clearFaults();
  ingestion.accepted.clear();
  dataset = new SyntheticDataset({ alerts: 12, assessments: 20, subAssessments: 10 });
  memory = new MemoryStateStore();
  await arm?.close();
  arm = await startFakeArm({ dataset, pageSize: 7 });
});

function configuration(extra: Record<string, unknown> = {}): ExportConfiguration {
  const result = parseExportConfiguration(
    {
      scopes: [dataset.subscriptionPath],
      sources: [{ eventSource: "Assessments" }, { eventSource: "AssessmentsSnapshot" }, { eventSource: "Alerts" }, { eventSource: "SecureScores" }, { eventSource: "RegulatoryComplianceAssessment" }],
      actions: [{ actionType: "Workspace", dataCollectionEndpoint: ingestion.url, dataCollectionRuleId: RULE_ID }],
      ...extra,
    },
    { allowedDestinations: { trustedHosts: [new URL(ingestion.url).host] } },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.configuration;
}

/** A pass as a fresh process would run it: new reader, new sinks; the state in memory, kept for the test. */
function pass(eventSource: PassOptions["eventSource"], extra: Partial<PassOptions> = {}, onFlush?: () => void) {
  return passOn(memory, eventSource, extra, onFlush);
}

/** A pass on the state in Blob storage (Azurite): for what the Blob store does, leases, markers, its formats. */
function blobPass(eventSource: PassOptions["eventSource"], extra: Partial<PassOptions> = {}) {
  return passOn(new BlobStateStore(storage(azurite, `engine${run}`).service.getContainerClient(`engine${run}-state`)), eventSource, extra);
}

function passOn<S extends StateStore>(state: S, eventSource: PassOptions["eventSource"], extra: Partial<PassOptions> = {}, onFlush?: () => void) {
  const config = configuration();
  const s = storage(azurite, `engine${run}`);
  const reader = new ArmReader({ credential: staticCredential(), endpoint: arm.url, tlsCa: arm.ca, retryOptions: FAST_RETRIES });
  const sinks = config.actions.map((a) => {
    const sink = createSink(a, {
      credential: staticCredential(),
      deadLetters: s.deadLetters,
      allowedDestinations: { trustedHosts: [new URL(ingestion.url).host] },
      retry: FAST,
      tlsCa: ingestion.ca,
      sdkRetryOptions: SDK_FAST,
    });
    // Something that happens while the destination acknowledges (a flush can take long).
    if (onFlush === undefined) return sink;
    const flushing: Sink = {
      actionKey: sink.actionKey,
      description: sink.description,
      write: (input) => sink.write(input),
      flush: () => sink.flush().finally(onFlush),
      resend: (items) => sink.resend(items),
      close: () => sink.close(),
    };
    return flushing;
  });
  return {
    state,
    run: () => runPass({ configurationName: "test", configuration: config, scope: dataset.subscriptionPath, eventSource, read: readerSource(reader), sinks, state, ...extra }),
  };
}

const rows = (table: string) => ingestion.accepted.get(`Custom-${table}_CL`) ?? [];
const ids = (table: string) => rows(table).map((r) => r["RecordId"] as string);

describe("streaming passes", () => {
  it("a new configuration starts with a baseline snapshot; an unchanged source then sends nothing, and says so", async () => {
    const first = await pass("Assessments").run();
    expect(first).toMatchObject({ mode: "baseline", read: 20, matched: 20, changed: 20, removed: 0 });
    expect(first.error).toBeUndefined();
    expect(rows("SecurityRecommendation")).toHaveLength(20);
    expect(rows("SecurityRecommendation").every((r) => r["IsSnapshot"] === true)).toBe(true);
    ingestion.accepted.clear();
    const { run: second, state } = pass("Assessments");
    const again = await second();
    expect(again).toMatchObject({ mode: "stream", read: 20, changed: 0, removed: 0 });
    expect(rows("SecurityRecommendation")).toHaveLength(0);
    const records = (await state.recentPasses({ configuration: "test", scope: dataset.subscriptionPath, eventSource: "Assessments" }, 5)) as Record<string, unknown>[];
    expect(records.map((r) => [r["mode"], r["changed"]])).toEqual([
      ["stream", 0],
      ["baseline", 20],
    ]); // newest first
    expect(Object.values(again.actions)[0]).toMatchObject({ sent: 0, deadLettered: 0 });
  });

  it("a state another generation of the configuration wrote is not this one's: the pass starts with a baseline and writes over it", async () => {
    expect(await pass("Assessments", { generation: "first" }).run()).toMatchObject({ mode: "baseline", changed: 20 });
    expect(await pass("Assessments", { generation: "first" }).run()).toMatchObject({ mode: "stream", changed: 0 });
    ingestion.accepted.clear();
    // Deleted and made again under the name: a new generation, whatever an old pass left behind.
    const again = await pass("Assessments", { generation: "second" }).run();
    expect(again).toMatchObject({ mode: "baseline", changed: 20 });
    expect(rows("SecurityRecommendation")).toHaveLength(20);
    const { run, state } = pass("Assessments", { generation: "second" });
    expect(await run()).toMatchObject({ mode: "stream", changed: 0 });
    expect((await state.load({ configuration: "test", scope: dataset.subscriptionPath, eventSource: "Assessments" })).generation).toBe("second");
    // A configuration stored before generations were kept reads its state as before; one with a generation
    // never takes a state without one (only a configuration of that older kind, since deleted, wrote it).
    expect(await pass("Alerts").run()).toMatchObject({ mode: "baseline" });
    expect(await pass("Alerts").run()).toMatchObject({ mode: "stream", changed: 0 });
    expect(await pass("Alerts", { generation: "third" }).run()).toMatchObject({ mode: "baseline" });
  });

  it("a pass whose configuration is gone stops before its next checkpoint: what it had not sent is not sent, and it keeps no state or record", async () => {
    let current = true;
    const { run, state } = pass("Assessments", { generation: "g", stillCurrent: async () => current, hooks: { afterRead: (n) => n === 5 && (current = false) } });
    const record = await run();
    expect(record).toMatchObject({ abandoned: true, checkpoints: 0, error: expect.stringMatching(/deleted/) });
    expect(rows("SecurityRecommendation")).toHaveLength(0);
    const key = { configuration: "test", scope: dataset.subscriptionPath, eventSource: "Assessments" as const };
    expect((await state.load(key)).etag).toBeUndefined();
    expect(await state.recentPasses(key, 5)).toEqual([]);
  });

  it("a configuration deleted while its pass flushes: what was sent is sent, but no state or record is kept", async () => {
    let current = true;
    const { run, state } = pass("Assessments", { generation: "g", stillCurrent: async () => current }, () => (current = false));
    const record = await run();
    expect(record).toMatchObject({ abandoned: true, checkpoints: 0 });
    expect(rows("SecurityRecommendation")).toHaveLength(20);
    const key = { configuration: "test", scope: dataset.subscriptionPath, eventSource: "Assessments" as const };
    expect((await state.load(key)).etag).toBeUndefined();
    expect(await state.recentPasses(key, 5)).toEqual([]);
  });

  it("status changes, and only they, go out; a removed recommendation goes out once as removed", async () => {
    await pass("Assessments").run();
    ingestion.accepted.clear();
    dataset.patches.set("assessment:3", (r) => ((r["properties"] as { status: { code: string } }).status.code = "Unhealthy-but-new"));
    dataset.patches.set("assessment:4", (r) => ((r["properties"] as { displayName: string }).displayName = "renamed, not a status change"));
    dataset.sizes.assessments = 19; // the last one disappears
    const changed = await pass("Assessments").run();
    expect(changed).toMatchObject({ changed: 1, removed: 1 });
    expect(rows("SecurityRecommendation").map((r) => [r["RecordId"], r["ExportAction"], r["RecommendationState"]])).toEqual([
      [String(dataset.assessment(3)["id"]).toLowerCase(), "Update", "Unhealthy-but-new"],
      [String(dataset.assessment(19)["id"]).toLowerCase(), "Remove", "Removed"],
    ]);
    ingestion.accepted.clear();
    expect(await pass("Assessments").run()).toMatchObject({ changed: 0, removed: 0 });
  });

  it("alerts: new ones, and status or severity changes", async () => {
    await pass("Alerts").run();
    ingestion.accepted.clear();
    dataset.sizes.alerts = 13;
    dataset.patches.set("alert:1", (r) => ((r["properties"] as { status: string }).status = "Resolved"));
    dataset.patches.set("alert:2", (r) => ((r["properties"] as { severity: string }).severity = "High")); // was Low
    dataset.patches.set("alert:5", (r) => ((r["properties"] as { description: string }).description = "edited"));
    const result = await pass("Alerts").run();
    expect(result).toMatchObject({ changed: 3, removed: 0 });
    expect(ids("SecurityAlert").sort()).toEqual([1, 2, 12].map((i) => String(dataset.alert(i)["id"]).toLowerCase()).sort());
  });

  it("export lag: from when each change could first be read to its acknowledgement, in streaming passes only; never a record's age", async () => {
    const at = (time: string) => () => new Date(`2026-11-22T${time}Z`);
    const first = await pass("Alerts", { now: at("11:50:00") }).run();
    expect(first.lag).toBeUndefined(); // a baseline: old records, no lag to speak of
    dataset.sizes.alerts = 14;
    dataset.patches.set("alert:12", (r) => ((r["properties"] as Record<string, unknown>)["timeGeneratedUtc"] = "2026-11-22T11:58:00Z"));
    dataset.patches.set("alert:13", (r) => ((r["properties"] as Record<string, unknown>)["timeGeneratedUtc"] = "2026-11-22T11:59:00Z"));
    const second = await pass("Alerts", { now: at("12:00:00") }).run();
    expect(second).toMatchObject({ mode: "stream", changed: 2, lag: { records: 2, meanSeconds: 90, maxSeconds: 120 } });
    // A status change (no date for it) and a new alert generated years ago: from the last state written, 12:00.
    dataset.sizes.alerts = 15;
    dataset.patches.set("alert:14", (r) => ((r["properties"] as Record<string, unknown>)["timeGeneratedUtc"] = "2020-01-01T00:00:00Z"));
    dataset.patches.set("alert:0", (r) => ((r["properties"] as Record<string, unknown>)["status"] = "Dismissed"));
    const third = await pass("Alerts", { now: at("12:05:00") }).run();
    expect(third).toMatchObject({ changed: 2, lag: { records: 2, meanSeconds: 300, maxSeconds: 300 } });
    // A quiet stretch: a pass that changes nothing writes no state, but notes when it read; a change after it
    // counts from then, not from the last write (12:05).
    expect(await pass("Alerts", { now: at("12:30:00") }).run()).toMatchObject({ changed: 0, checkpoints: 0 });
    dataset.patches.set("alert:1", (r) => ((r["properties"] as Record<string, unknown>)["status"] = "Resolved"));
    expect(await pass("Alerts", { now: at("12:35:00") }).run()).toMatchObject({ changed: 1, lag: { records: 1, maxSeconds: 300 } });
  });

  it("secure score: 0.009 is no move, 0.01 is, and small moves add up against the last export", async () => {
    const setScore = (current: number) => dataset.patches.set("secureScore:0", (r) => ((r["properties"] as { score: { current: number } }).score.current = current));
    setScore(23.53);
    await pass("SecureScores").run();
    const sent = () => rows("SecureScores").length;
    expect(sent()).toBe(1);
    setScore(23.539);
    expect((await pass("SecureScores").run()).changed).toBe(0);
    setScore(23.54);
    expect((await pass("SecureScores").run()).changed).toBe(1);
    // Drift: 23.545 and 23.549 each differ by less than 0.01 from the last export (23.54); 23.55 does not.
    setScore(23.545);
    expect((await pass("SecureScores").run()).changed).toBe(0);
    setScore(23.549);
    expect((await pass("SecureScores").run()).changed).toBe(0);
    setScore(23.55);
    expect((await pass("SecureScores").run()).changed).toBe(1);
    expect(rows("SecureScores").map((r) => r["CurrentScore"])).toEqual([23.53, 23.54, 23.55]);
  });

  it("without a baseline, the first pass only remembers what exists", async () => {
    const seed = await pass("Assessments", { baseline: false }).run();
    expect(seed).toMatchObject({ mode: "seed", matched: 20, changed: 0 });
    expect(rows("SecurityRecommendation")).toHaveLength(0);
    dataset.patches.set("assessment:0", (r) => ((r["properties"] as { status: { code: string } }).status.code = "Unhealthy-now"));
    expect(await pass("Assessments").run()).toMatchObject({ mode: "stream", changed: 1 });
  });
});

describe("snapshots", () => {
  it("a snapshot source sends every matching record, marked, on every pass; on demand for a streaming source too", async () => {
    expect(await pass("AssessmentsSnapshot").run()).toMatchObject({ mode: "snapshot", changed: 20 });
    expect(await pass("AssessmentsSnapshot").run()).toMatchObject({ mode: "snapshot", changed: 20 });
    expect(rows("SecurityRecommendation")).toHaveLength(40);
    expect(rows("SecurityRecommendation").every((r) => r["IsSnapshot"] === true)).toBe(true);
    await pass("Alerts").run();
    expect(await pass("Alerts", { snapshot: true }).run()).toMatchObject({ mode: "snapshot", changed: 12 });
  });

  it("a running snapshot shows its progress at each checkpoint, and none once it is done", async () => {
    const key = { configuration: "test", scope: dataset.subscriptionPath, eventSource: "AssessmentsSnapshot" as const };
    const { state, run: snapshot } = blobPass("AssessmentsSnapshot", {
      checkpointEvery: 5,
      hooks: { beforeCheckpoint: (n) => void (n === 3 && (during = state.running(key))) },
    });
    let during: ReturnType<typeof state.running> | undefined;
    const done = await snapshot();
    // Read while the pass goes on: the second checkpoint's progress, or a later one, never the end.
    const seen = await during;
    expect(seen).toMatchObject({ id: done.id, mode: "snapshot" });
    expect([10, 15]).toContain(seen?.changed);
    expect(seen!.read).toBeGreaterThanOrEqual(seen!.changed);
    expect(await state.running(key)).toBeUndefined();
  });
});

describe("never lost: crashes at each stage", () => {
  const all = () => Array.from({ length: 20 }, (_, i) => String(dataset.assessment(i)["id"]).toLowerCase());

  it("dies after reading: the next pass sends everything", async () => {
    const crashed = await pass("Assessments", {
      hooks: {
        afterRead: (n) => {
          if (n === 9) throw new Error("killed after reading");
        },
      },
    }).run();
    expect(crashed.error).toBe("killed after reading");
    expect(rows("SecurityRecommendation")).toHaveLength(0);
    await pass("Assessments").run();
    expect(ids("SecurityRecommendation").sort()).toEqual(all().sort());
  });

  it("dies after sending, before the checkpoint: the next pass re-sends only that batch", async () => {
    const crashed = await pass("Assessments", {
      checkpointEvery: 5,
      hooks: {
        beforeCheckpoint: (n) => {
          if (n === 3) throw new Error("killed before the checkpoint");
        },
      },
    }).run();
    expect(crashed).toMatchObject({ error: "killed before the checkpoint", checkpoints: 2 });
    expect(rows("SecurityRecommendation")).toHaveLength(15);
    await pass("Assessments", { checkpointEvery: 5 }).run();
    const delivered = ids("SecurityRecommendation");
    expect(new Set(delivered)).toEqual(new Set(all()));
    const duplicates = delivered.filter((id, i) => delivered.indexOf(id) !== i);
    expect(duplicates).toHaveLength(5); // the third batch: sent, not checkpointed
  });

  it("dies in the middle of a batch: what was not flushed was never acknowledged, and goes next time", async () => {
    const crashed = await pass("Assessments", {
      checkpointEvery: 5,
      hooks: {
        afterWrite: (n) => {
          if (n === 12) throw new Error("killed mid-batch");
        },
      },
    }).run();
    expect(crashed).toMatchObject({ error: "killed mid-batch", checkpoints: 2 });
    expect(rows("SecurityRecommendation")).toHaveLength(10);
    await pass("Assessments", { checkpointEvery: 5 }).run();
    const delivered = ids("SecurityRecommendation");
    expect(new Set(delivered)).toEqual(new Set(all()));
    expect(delivered).toHaveLength(20);
  });

  it("a destination that keeps failing dead-letters, and the checkpoint moves: nothing is lost, nothing blocks", async () => {
    ingestion.inject({ kind: "status", status: 500 }, { times: 1000 });
    const result = await pass("Assessments").run();
    ingestion.clearFaults();
    expect(result.error).toBeUndefined();
    expect(Object.values(result.actions)[0]).toMatchObject({ sent: 0, deadLettered: 20 });
    expect(await pass("Assessments").run()).toMatchObject({ changed: 0 });
  });
});

describe("the runner", () => {
  it("decides a due snapshot from the state's metadata, without downloading the state; and gives a stopped pass its cursor", async () => {
    const { state } = blobPass("AssessmentsSnapshot");
    const key = { configuration: "test", scope: dataset.subscriptionPath, eventSource: "AssessmentsSnapshot" as const };
    const config = configuration();
    // A snapshot sent just now, and a state blob that no one could read: deciding must not need it.
    await state.ready();
    const blob = state.container.getBlockBlobClient(`${passPrefix(key)}/state.json.gz`);
    await blob.upload("not a state", 11, { metadata: { snapshotat: new Date().toISOString() } });
    const reads: (Cursor | undefined)[] = [];
    const read: PassOptions["read"] = (scope, eventSource, from) => {
      reads.push(from);
      return readerSource(new ArmReader({ credential: staticCredential(), endpoint: arm.url, tlsCa: arm.ca, retryOptions: FAST_RETRIES }))(scope, eventSource, from);
    };
    const only = { ...config, sources: config.sources.filter((x) => x.eventSource === "AssessmentsSnapshot" || x.eventSource === "Assessments") };
    const records = await runConfiguration({
      configurationName: "test",
      configuration: only,
      read,
      sinks: [],
      state,
      passOptions: {
        now: (() => {
          let t = Date.parse("2026-11-22T10:00:00Z");
          return () => new Date((t += 1000));
        })(),
        deadline: new Date(Date.parse("2026-11-22T10:00:00Z") + 8_000),
      },
    });
    // The snapshot was not due: only the streaming source ran, and stopped at its deadline with a cursor.
    expect(records.map((r) => r.eventSource)).toEqual(["Assessments"]);
    expect(records[0]!.stopped?.cursor).toEqual(expect.objectContaining({ url: expect.any(String) }));
    await runConfiguration({ configurationName: "test", configuration: only, read, sinks: [], state });
    // The runner's read function is given the cursor the stopped pass saved.
    expect(reads).toEqual([undefined, records[0]!.stopped!.cursor]);
  });
});

describe("resumable passes", () => {
  /** A clock that moves one second each time it is read. */
  const ticking = () => {
    let t = Date.parse("2026-11-22T10:00:00Z");
    return () => new Date((t += 1000));
  };

  it("a pass that reaches its deadline saves where it stopped; the next continues from there", async () => {
    const now = ticking();
    // Each record reads the clock twice (the deadline, its export time): about ten records fit.
    const deadline = new Date(Date.parse("2026-11-22T10:00:00Z") + 22_000);
    const stopped = await blobPass("Assessments", { now, deadline }).run();
    expect(stopped.stopped).toBeDefined();
    expect(stopped.mode).toBe("baseline");
    const firstPart = stopped.read;
    expect(firstPart).toBeGreaterThan(7); // past the first page
    expect(firstPart).toBeLessThan(20);
    expect(rows("SecurityRecommendation")).toHaveLength(firstPart);
    arm.requests.length = 0;
    const resumed = await blobPass("Assessments").run();
    expect(resumed).toMatchObject({ resumed: true, mode: "baseline", read: 20 - firstPart, removed: 0 });
    // It asked for the page it stopped on, not the first one.
    const listRequests = arm.requests.filter((r) => r.path.endsWith("/assessments"));
    expect(listRequests[0]!.query["$skipToken"]).toBe(String(Math.floor(firstPart / 7) * 7));
    const delivered = ids("SecurityRecommendation");
    expect(delivered).toHaveLength(20);
    expect(new Set(delivered).size).toBe(20);
    expect(rows("SecurityRecommendation").every((r) => r["IsSnapshot"] === true)).toBe(true);
    const after = await blobPass("Assessments").run();
    expect(after).toMatchObject({ changed: 0, removed: 0 });
    expect(after.resumed).toBeUndefined();
  });

  it("a compliance pass (its records have no cursor) stops at its deadline too: checkpoint, lease, record; the next reads again and sends only the rest", async () => {
    const total = dataset.sizes.standards * dataset.sizes.controlsPerStandard * dataset.sizes.assessmentsPerControl;
    const stopped = await pass("RegulatoryComplianceAssessment", { now: ticking(), deadline: new Date(Date.parse("2026-11-22T10:00:00Z") + 12_000) }).run();
    expect(stopped).toMatchObject({ mode: "baseline", checkpoints: 1, stopped: { cursor: null } });
    expect(stopped.error).toBeUndefined();
    expect(stopped.read).toBeGreaterThan(0);
    expect(stopped.read).toBeLessThan(total);
    expect(rows("SecurityRegulatoryCompliance")).toHaveLength(stopped.changed);
    // Its lease is free and its record written: the next pass runs, from the start, and sends only the rest.
    const resumed = await pass("RegulatoryComplianceAssessment").run();
    expect(resumed).toMatchObject({ resumed: true, mode: "baseline", read: total, changed: total - stopped.changed });
    const delivered = ids("SecurityRegulatoryCompliance");
    expect(delivered).toHaveLength(total);
    expect(new Set(delivered).size).toBe(total);
    expect(await pass("RegulatoryComplianceAssessment").run()).toMatchObject({ changed: 0 });
  });

  it("removals stay right across a stop: what was seen before the stop is not removed", async () => {
    await pass("Assessments").run();
    ingestion.accepted.clear();
    dataset.sizes.assessments = 18;
    const now = ticking();
    const stopped = await pass("Assessments", { now, deadline: new Date(Date.parse("2026-11-22T10:00:00Z") + 6_000) }).run();
    expect(stopped.stopped).toBeDefined();
    expect(stopped.removed).toBe(0);
    const resumed = await pass("Assessments").run();
    expect(resumed).toMatchObject({ resumed: true, removed: 2, changed: 0 });
    expect(rows("SecurityRecommendation").map((r) => r["RecommendationState"])).toEqual(["Removed", "Removed"]);
  });
});

describe("one runner at a time", () => {
  it("two runners started together deliver once; the other skips and says so", async () => {
    const [a, b] = await Promise.all([blobPass("Assessments").run(), blobPass("Assessments").run()]);
    const skipped = [a, b].filter((r) => r.skipped !== undefined);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.skipped).toMatch(/another runner holds the lease/);
    expect(rows("SecurityRecommendation")).toHaveLength(20);
  });

  it("a dead holder's lease expires by itself, and the next runner goes ahead", async () => {
    const { state, run: runIt } = blobPass("Assessments");
    // A runner that took the lease and died: nobody renews or releases it.
    const lock = state.container.getBlockBlobClient(`test/${dataset.subscriptionPath.slice(1).toLowerCase()}/Assessments/lock`);
    await state.container.createIfNotExists();
    await lock.upload("", 0);
    await lock.getBlobLeaseClient().acquireLease(15);
    expect((await runIt()).skipped).toMatch(/another runner holds the lease/);
    await new Promise((r) => setTimeout(r, 16_000));
    const after = await runIt();
    expect(after.skipped).toBeUndefined();
    expect(after.changed).toBe(20);
  }, 40_000);

  it("checkpoints after checkpointEvery changes and a quarter of the state: a large pass rewrites its state O(log n) times", async () => {
    dataset.sizes.assessments = 200;
    const at: number[] = [];
    const { run: baseline } = pass("Assessments", { checkpointEvery: 5, hooks: { afterWrite: (before) => void (last = before + 1), beforeCheckpoint: () => void at.push(last) } }); // afterWrite counts the changes before this one
    let last = 0;
    const result = await baseline();
    expect(result).toMatchObject({ changed: 200 });
    expect(at.slice(0, 4)).toEqual([5, 10, 15, 20]); // while the state is small, every 5 changes
    const gaps = at.slice(1).map((n, i) => n - at[i]!);
    expect(gaps.every((g, i) => i === 0 || g >= gaps[i - 1]!)).toBe(true); // then further and further apart
    expect(at.length).toBeLessThan(200 / 5 / 2);
  });

  it("keeps the state compact", async () => {
    const result = await pass("Assessments").run();
    expect(result.stateBytes! / 20).toBeLessThanOrEqual(64);
  });
});

describe("state storage", () => {
  it("a state it cannot read fails the pass by name, sends nothing and frees the lease", async () => {
    const { run: first, state } = blobPass("Assessments");
    await first();
    ingestion.accepted.clear();
    const key = { configuration: "test", scope: dataset.subscriptionPath, eventSource: "Assessments" as const };
    const garbage = Buffer.from("not gzip");
    await state.container.getBlockBlobClient(`${passPrefix(key)}/state.json.gz`).upload(garbage, garbage.length);
    const broken = await blobPass("Assessments").run();
    expect(broken.error).toMatch(/export state of .* is not gzipped/);
    expect(broken.skipped).toBeUndefined();
    expect(rows("SecurityRecommendation")).toHaveLength(0);
    expect((await blobPass("Assessments").run()).skipped).toBeUndefined(); // the lease was released
  });
});
