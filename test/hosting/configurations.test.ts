import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import type { ExportConfiguration } from "../../src/config/model.js";
import { passPrefix } from "../../src/state/store.js";
import { ConfigurationNotStorableError } from "../../src/hosting/configurations.js";
import { ProblemError } from "../../src/hosting/problem.js";
import { startSandbox, type Sandbox } from "../../dev/local-host/sandbox.js";
import { METRIC_NAMES, resetInstruments } from "../../src/telemetry/metrics.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { sandboxService } from "../functions/helpers.js";

let azurite: Azurite;
let sandbox: Sandbox;
beforeAll(async () => {
  [azurite, sandbox] = await Promise.all([startAzurite(), startSandbox({ driftSeconds: 3600 })]);
}, 60_000);
afterAll(async () => {
  await sandbox.close();
  await azurite.stop();
});

let queues = 0;
const service = (env: Record<string, string> = {}, extra: Parameters<typeof sandboxService>[3] = {}) =>
  sandboxService(azurite, sandbox, { DEFENDER_EXPORT_QUEUE: `configurations-${++queues}`, ...env }, extra).service;
const problem = async (p: Promise<unknown>): Promise<ProblemError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof ProblemError) return e;
    throw e;
  }
  throw new Error("expected a problem");
};

describe("a stored configuration that no longer validates", () => {
  it("is listed apart, skipped by the timers, refused by run, shown in status, health and a metric; the others go on", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    resetInstruments();
    try {
      // Stored while a host was trusted, which the operator then removed from DEFENDER_EXPORT_TRUSTED_HOSTS.
      const before = service();
      const hub = `localhost:${sandbox.hubs.port}`;
      await before.put("0-was-trusted", { ...sandbox.configuration, actions: [{ actionType: "EventHub", fullyQualifiedNamespace: hub, eventHubName: "defender-export" }] }, {});
      await before.put("sandbox", sandbox.configuration, {});
      const after = service({ DEFENDER_EXPORT_TRUSTED_HOSTS: sandbox.trustedHosts.filter((t) => t !== hub).join(",") }, { delivery: { retry: { attempts: 1, delayMs: 1 } } });

      const listed = await after.list();
      expect(listed.value.map((c) => c["name"])).toEqual(["sandbox"]);
      expect(listed.invalid).toEqual([expect.objectContaining({ name: "0-was-trusted", errors: [expect.objectContaining({ path: "$.actions[0].fullyQualifiedNamespace" })] })]);

      const queued = await after.enqueueStreaming();
      expect(queued.queued).toBe(7);
      expect(queued.invalid.map((c) => c.name)).toEqual(["0-was-trusted"]);
      expect((await problem(after.runNow("0-was-trusted"))).status).toBe(409);
      expect((await problem(after.get("0-was-trusted"))).errors).toEqual(listed.invalid[0]!.errors);

      expect(await after.status("0-was-trusted")).toMatchObject({ valid: false, flow: { status: "invalid" }, errors: listed.invalid[0]!.errors });
      const health = await after.health();
      expect(health).toMatchObject({ ok: true, degraded: true, checks: { storage: "ok", configurations: "1 stored configuration no longer validates: 0-was-trusted" } });

      await reader.forceFlush();
      const gauge = exporter
        .getMetrics()
        .flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics))
        .find((m) => m.descriptor.name === METRIC_NAMES.invalidConfigurations);
      expect(gauge?.dataPoints.map((d) => d.value)).toEqual([1]);

      // It can still be deleted, and then health is healthy again.
      expect(await after.delete("0-was-trusted")).toBe(true);
      expect(await after.health()).toMatchObject({ ok: true, degraded: false, checks: { configurations: "ok" } });
      await after.delete("sandbox");
    } finally {
      await reader.shutdown();
      metrics.disable();
      resetInstruments();
    }
  });

  it("is never stored: what would not read back valid is refused, and nothing is written", async () => {
    const s = service();
    const crafted: ExportConfiguration = {
      isEnabled: true,
      scopes: [],
      sources: [{ eventSource: "Alerts", ruleSets: null }],
      // What a path that skipped validation would hand the store: a namespace with a port nobody trusts.
      actions: [{ actionType: "EventHub", fullyQualifiedNamespace: "contoso:1.servicebus.windows.net", eventHubName: "hub" }],
      snapshotSchedule: "0 0 0 * * 0",
      baselineSnapshot: true,
    };
    await expect(s.configurations.put("crafted", crafted)).rejects.toBeInstanceOf(ConfigurationNotStorableError);
    await expect(s.configurations.put("crafted", { ...crafted, actions: [{ actionType: "EventHub", connectionString: new Secret("x"), eventHubName: "hub" }] })).rejects.toBeInstanceOf(
      ConfigurationNotStorableError,
    );
    expect(await s.configurations.find("crafted")).toBeUndefined();
  });
});

describe("conditional requests", () => {
  it("If-Match on a missing configuration (an ETag or *) is 412; a malformed one is 400; on PUT and DELETE", async () => {
    const s = service();
    const wellFormed = `W/"datetime'2026-12-01T00%3A00%3A00.0000000Z'"`;
    expect((await problem(s.put("missing-im", sandbox.configuration, { ifMatch: wellFormed }))).status).toBe(412);
    expect((await problem(s.put("missing-im", sandbox.configuration, { ifMatch: "*" }))).status).toBe(412);
    expect((await problem(s.delete("missing-im", wellFormed))).status).toBe(412);
    expect((await problem(s.delete("missing-im", "*"))).status).toBe(412);
    expect(await s.configurations.find("missing-im")).toBeUndefined();

    const { stored } = await s.put("present-im", sandbox.configuration, {});
    for (const garbage of ["garbage", '"unterminated', 'W/"a"b"', "W/", "\u0000"]) {
      const bad = await problem(s.put("present-im", sandbox.configuration, { ifMatch: garbage }));
      expect(bad.status, garbage).toBe(400);
      expect(bad.errors).toEqual([{ path: "If-Match", message: expect.stringMatching(/quoted ETag/) }]);
      expect((await problem(s.delete("present-im", garbage))).status, garbage).toBe(400);
    }
    // Quoted, but not a tag the table makes: the table refuses it as input, and so does the API.
    expect((await problem(s.put("present-im", sandbox.configuration, { ifMatch: '"not-a-table-etag"' }))).status).toBe(400);
    const replaced = await s.put("present-im", sandbox.configuration, { ifMatch: "*" });
    expect(replaced.created).toBe(false);
    expect(replaced.stored.generation).toBe(stored.generation);
    expect(await s.delete("present-im", replaced.stored.etag)).toBe(true);
  });
});

describe("If-Match: * and a configuration deleted and made again meanwhile", () => {
  it("replaces the one there now and keeps its generation: the deleted one's does not come back", async () => {
    const s = service();
    const other = service();
    const first = (await s.put("star", sandbox.configuration, {})).stored.generation;
    const table = (s.configurations as unknown as { table: import("@azure/data-tables").TableClient }).table;
    const update = table.updateEntity.bind(table);
    let second: string | undefined;
    // Between this PUT's read and its write, another caller deletes the configuration and creates it again.
    table.updateEntity = (async (...args: Parameters<typeof update>) => {
      if (second === undefined) {
        await other.delete("star");
        second = (await other.put("star", sandbox.configuration, {})).stored.generation;
      }
      return update(...args);
    }) as typeof update;
    const replaced = await s.put("star", { ...sandbox.configuration, description: "replaced" }, { ifMatch: "*" });
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(replaced.stored.generation).toBe(second);
    expect(await s.configurations.generation("star")).toEqual({ exists: true, generation: second });
    table.updateEntity = update;
    await s.delete("star");
    // DELETE as PUT: If-Match on one that does not exist is 412, whatever the tag.
    expect((await problem(s.delete("star", '"abc"'))).status).toBe(412);
  });
});

describe("generations", () => {
  it("a configuration keeps its generation when replaced, and a new one of the same name gets another", async () => {
    const s = service();
    const first = (await s.put("gen", sandbox.configuration, {})).stored.generation;
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect((await s.put("gen", { ...sandbox.configuration, description: "changed" }, {})).stored.generation).toBe(first);
    await s.delete("gen");
    const second = (await s.put("gen", sandbox.configuration, {})).stored.generation;
    expect(second).not.toBe(first);
    expect(await s.configurations.generation("gen")).toEqual({ exists: true, generation: second });
    await s.delete("gen");
  });
});

describe("bounds", () => {
  it("at most DEFENDER_EXPORT_MAX_CONFIGURATIONS configurations: one more is a 409, a replaced one is not", async () => {
    const s = service({ DEFENDER_EXPORT_MAX_CONFIGURATIONS: "2" });
    await s.put("bound-a", sandbox.configuration, {});
    await s.put("bound-b", sandbox.configuration, {});
    const refused = await problem(s.put("bound-c", sandbox.configuration, {}));
    expect(refused.status).toBe(409);
    expect(refused.detail).toMatch(/DEFENDER_EXPORT_MAX_CONFIGURATIONS/);
    expect((await s.put("bound-b", { ...sandbox.configuration, description: "again" }, {})).created).toBe(false);
    expect(await s.configurations.find("bound-c")).toBeUndefined();
    await s.delete("bound-a");
    await s.delete("bound-b");
  });

  it("status shows no running pass for a runner that died: its marker without a lease is stale", async () => {
    const s = service();
    await s.put("stale", sandbox.configuration, {});
    const key = { configuration: "stale", scope: sandbox.dataset.subscriptionPath, eventSource: "Alerts" as const };
    const running = { id: "dead-runner", mode: "baseline", startedAt: "2026-12-01T00:00:00Z", updatedAt: "2026-12-01T00:00:00Z", read: 0, changed: 0 };
    await s.state.saveRunning(key, running);
    const alerts = () => s.status("stale").then((st) => (st["sources"] as { eventSource: string; running: unknown }[]).find((x) => x.eventSource === "Alerts")!);
    expect((await alerts()).running).toBeNull();
    // While a runner holds the lease, the same marker is shown.
    const lease = await s.state.acquire(key);
    expect((await alerts()).running).toEqual(running);
    await lease!.release();
    expect(passPrefix(key)).toMatch(/^stale\//);
    await s.delete("stale");
  });
});
