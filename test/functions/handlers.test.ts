import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import fc from "fast-check";
import { decodeMessageText } from "../../src/hosting/queue.js";
import { METRIC_NAMES, resetInstruments } from "../../src/telemetry/metrics.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { exampleRecords } from "../helpers/examples.js";
import { FUNCTIONS } from "../../src/functions/all.js";
import type { HttpFunction } from "../../src/functions/definitions.js";
import { RESPONSE_SCHEMAS } from "../../src/functions/responses.js";
import { harness, SECRET_KEY, type Harness } from "./helpers.js";

let h: Harness;
const LOGIC_APP_SIG = "sig-that-must-never-leak";
const responses: unknown[] = [];

beforeAll(async () => {
  h = await harness({
    DEFENDER_EXPORT_MAX_BODY_BYTES: "20000",
    DEFENDER_EXPORT_DEST_LOGIC_APP_URI: `https://prod-00.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=${LOGIC_APP_SIG}`,
  });
}, 60_000);
afterAll(async () => {
  // Every answer schema OpenAPI publishes was met by a real answer.
  expect([...checkedSchemas].sort()).toEqual(Object.keys(RESPONSE_SCHEMAS).sort());
  // Nothing any endpoint answered or logged carries a secret.
  const everything = JSON.stringify(responses) + h.logs.join("\n");
  expect(everything).not.toContain(SECRET_KEY);
  expect(everything).not.toContain(LOGIC_APP_SIG);
  await h.close();
});

/** Every answer of the suite, checked against the schema OpenAPI publishes for it (a problem body for errors). */
const checkedSchemas = new Set<string>();
function conforms(name: string, method: string, status: number, body: unknown): void {
  const f = FUNCTIONS.find((x) => x.name === name) as HttpFunction;
  const answer = f.answers[method as keyof HttpFunction["answers"]]?.[status];
  const schema = answer?.schema ?? (status >= 400 ? "Problem" : undefined);
  if (answer === undefined && status < 400) throw new Error(`${name} ${method} answered ${status}, which its definition does not declare`);
  if (schema === undefined) return;
  const parsed = RESPONSE_SCHEMAS[schema].safeParse(body);
  expect(parsed.success, `${name} ${method} ${status}: ${parsed.success ? "" : JSON.stringify(parsed.error.issues.slice(0, 3))}`).toBe(true);
  checkedSchemas.add(schema);
}

async function call(name: string, init: Parameters<Harness["http"]>[1]) {
  const r = await h.http(name, init);
  responses.push(r.jsonBody, r.headers);
  conforms(name, init.method, r.status ?? 200, r.jsonBody);
  return r;
}
const put = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  call("export", { method: "PUT", params: { name }, body: typeof body === "string" ? body : JSON.stringify(body), headers });
const stored = async () => ((await call("exportsList", { method: "GET" })).json["value"] as { name: string }[]).map((c) => c.name).sort();

beforeEach(async () => {
  for (const name of await stored()) await h.service.delete(name);
  h.sandbox.ingestion.clearFaults();
});

describe("configurations", () => {
  it("PUT stores any form and answers the normalized configuration with an ETag; If-Match and If-None-Match guard changes", async () => {
    const created = await put("sandbox", h.sandbox.configuration);
    expect(created.status).toBe(201);
    const etag = (created.headers as Record<string, string>)["etag"]!;
    expect(etag).toMatch(/^W\/"/);
    expect(created.json["configuration"]).toMatchObject({ name: "sandbox", isEnabled: true, snapshotSchedule: "0 0 0 * * 0" });
    const got = await call("export", { method: "GET", params: { name: "sandbox" } });
    expect(got.status).toBe(200);
    expect((got.headers as Record<string, string>)["etag"]).toBe(etag);
    expect(got.json["configuration"]).toEqual(created.json["configuration"]);

    const changed = { ...h.sandbox.configuration, isEnabled: false };
    expect((await put("sandbox", changed, { "if-match": etag })).status).toBe(200);
    const stale = await put("sandbox", h.sandbox.configuration, { "if-match": etag });
    expect(stale.status).toBe(412);
    expect(stale.json["detail"]).toMatch(/changed since that ETag/);
    expect((await put("sandbox", h.sandbox.configuration, { "if-none-match": "*" })).status).toBe(412);
    expect((await call("export", { method: "DELETE", params: { name: "sandbox" }, headers: { "if-match": etag } })).status).toBe(412);
    expect((await call("export", { method: "DELETE", params: { name: "sandbox" } })).status).toBe(204);
    expect((await call("export", { method: "GET", params: { name: "sandbox" } })).status).toBe(404);
    expect((await call("export", { method: "DELETE", params: { name: "sandbox" } })).status).toBe(404);
  });

  it("takes an automations resource pasted from ARM, once its Logic App names the app setting of its trigger URI", async () => {
    const resource = exampleRecords("automations/GetAutomationResourceGroup_example.json")[0] as { properties: { actions: Record<string, unknown>[] } };
    const refused = await put("pasted", resource);
    expect(refused.status).toBe(400);
    expect(refused.json["errors"]).toEqual([expect.objectContaining({ path: "$.actions[0]" })]);
    resource.properties.actions[0]!["uriSetting"] = "DEFENDER_EXPORT_DEST_LOGIC_APP_URI";
    const accepted = await put("pasted", resource);
    expect(accepted.status).toBe(201);
    expect(accepted.json["configuration"]).toMatchObject({ name: "pasted", sources: [{ eventSource: "Assessments" }] });
    expect(accepted.json["warnings"]).toEqual(expect.any(Array));
  });

  it("bad input: a 400 problem naming each field, and nothing stored", async () => {
    const bad = await put("x", { sources: [{ eventSource: "Nope" }], actions: [{ actionType: "Workspace" }], snapshotSchedule: "every day" });
    expect(bad.status).toBe(400);
    expect((bad.headers as Record<string, string>)["content-type"]).toMatch(/^application\/problem\+json/);
    const paths = (bad.json["errors"] as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["$.sources[0].eventSource", "$.snapshotSchedule"]));
    const malformed = await put("x", '{"sources": [');
    expect(malformed.status).toBe(400);
    expect(malformed.json["errors"]).toEqual([{ path: "$", message: expect.stringMatching(/^line 1, column \d+: /) }]);
    expect((await put("x", "")).status).toBe(400);
    expect((await put("bad/name", h.sandbox.configuration)).status).toBe(400);
    expect((await put("x", { sources: [{ eventSource: "Alerts" }], pad: "p".repeat(30_000) })).status).toBe(413);
    expect(await stored()).toEqual([]);
  });

  it("a secret inline is refused, naming the field and the app setting to use instead", async () => {
    const withSecret = {
      ...h.sandbox.configuration,
      actions: [{ actionType: "EventHub", eventHubName: "h", connectionString: `Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=${SECRET_KEY}` }],
    };
    const r = await put("secret", withSecret);
    expect(r.status).toBe(400);
    expect(r.json["errors"]).toEqual([{ path: "$.actions[0].connectionString", message: expect.stringMatching(/connectionStringSetting/) }]);
    const missing = await put("secret", { ...withSecret, actions: [{ actionType: "EventHub", eventHubName: "h", connectionStringSetting: "DEFENDER_EXPORT_DEST_NO_SUCH_SETTING" }] });
    expect(missing.status).toBe(400);
    expect(missing.json["errors"]).toEqual([{ path: "$.actions[0]", message: expect.stringMatching(/DEFENDER_EXPORT_DEST_NO_SUCH_SETTING/) }]);
    expect(await stored()).toEqual([]);
  });

  it("with platform authentication on, changes need the write role; reads do not", async () => {
    const principal = (roles: string[]) => Buffer.from(JSON.stringify({ auth_typ: "aad", claims: roles.map((val) => ({ typ: "roles", val })) })).toString("base64");
    const forbidden = await put("sandbox", h.sandbox.configuration, { "x-ms-client-principal": principal(["Exports.Read"]) });
    expect(forbidden.status).toBe(403);
    expect(await stored()).toEqual([]);
    expect((await put("sandbox", h.sandbox.configuration, { "x-ms-client-principal": principal(["Exports.Write"]) })).status).toBe(201);
    expect((await call("export", { method: "GET", params: { name: "sandbox" }, headers: { "x-ms-client-principal": principal([]) } })).status).toBe(200);
  });

  it("random and malformed bodies at every endpoint: never a 5xx, nothing stored", async () => {
    const bodies = fc.oneof(
      fc.json(),
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify({ sources: v })),
      fc.jsonValue().map((v) => JSON.stringify({ __proto__: v, properties: { sources: [{ eventSource: "Alerts", ruleSets: v }] } })),
      fc.constant("{".repeat(5000)),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.constantFrom("export", "exportPreview", "exportRun", "exportSnapshot", "deadLettersReplay"), async (body, name) => {
        const r = await call(name, { method: name === "export" ? "PUT" : "POST", params: { name: "fuzz" }, body });
        expect(r.status).toBeLessThan(500);
        if (name === "export" && r.status !== 201) expect(await h.service.configurations.get("fuzz")).toBeUndefined();
        await h.service.delete("fuzz");
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});

describe("passes", () => {
  it("run: streaming passes now, records at the local destinations, metrics per source and action; status shows them flowing", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    resetInstruments();
    await put("sandbox", h.sandbox.configuration);
    const before = h.sandbox.received();
    const run = await call("exportRun", { method: "POST", params: { name: "sandbox" } });
    expect(run.status).toBe(200);
    const passes = run.json["passes"] as { mode: string; changed: number; error?: string }[];
    expect(passes).toHaveLength(7);
    expect(passes.every((p) => p.mode === "baseline" && p.error === undefined)).toBe(true);
    const after = h.sandbox.received();
    const alerts = (after.logAnalytics["Custom-SecurityAlert_CL"] ?? 0) - (before.logAnalytics["Custom-SecurityAlert_CL"] ?? 0);
    expect(alerts).toBe(h.sandbox.dataset.sizes.alerts);
    expect((after.eventHubs["defender-export"] ?? 0) - (before.eventHubs["defender-export"] ?? 0)).toBe(passes.reduce((n, p) => n + p.changed, 0));
    expect(h.logs.some((l) => /^information \[.*\] Alerts \/subscriptions\/.*: baseline; read \d+/.test(l))).toBe(true);

    await reader.forceFlush();
    const points = exporter.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((sm) => sm.metrics));
    const exported = points.filter((p) => p.descriptor.name === METRIC_NAMES.recordsExported).flatMap((p) => p.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]);
    const alertsToWorkspace = exported.find((d) => d.attributes["eventSource"] === "Alerts" && String(d.attributes["action"]).startsWith("workspace-"));
    expect(alertsToWorkspace).toMatchObject({ value: h.sandbox.dataset.sizes.alerts, attributes: { configuration: "sandbox", mode: "baseline" } });
    // A baseline: no failures, and no export lag (that is for streaming passes).
    expect(new Set(points.map((p) => p.descriptor.name))).toEqual(
      new Set(Object.values(METRIC_NAMES).filter((n) => ![METRIC_NAMES.passFailures, METRIC_NAMES.exportLag, METRIC_NAMES.actionBackoffs, METRIC_NAMES.invalidConfigurations].includes(n as never))),
    );
    responses.push(points.map((p) => p.dataPoints.map((d) => d.attributes)));

    const status = await call("exportStatus", { method: "GET", params: { name: "sandbox" } });
    expect(status.status).toBe(200);
    expect(status.json["flow"]).toMatchObject({ status: "flowing", expectedCadenceSeconds: 300, failing: [] });
    expect((status.json["sources"] as { passes: unknown[] }[]).every((s) => s.passes.length === 1)).toBe(true);
    expect(status.json["deadLetters"]).toMatchObject({ count: 0 });
  });

  it("snapshot: queued at once, one message per source; the worker runs them as snapshots", async () => {
    await put("sandbox", h.sandbox.configuration);
    const r = await call("exportSnapshot", { method: "POST", params: { name: "sandbox" } });
    expect(r.status).toBe(202);
    expect(r.json["queued"]).toBe(7);
    expect((r.headers as Record<string, string>)["location"]).toBe("/api/exports/sandbox/status");
    expect(await h.runQueue()).toBe(7);
    const status = await call("exportStatus", { method: "GET", params: { name: "sandbox" } });
    const modes = (status.json["sources"] as { passes: { mode: string }[]; running: unknown }[]).map((s) => [s.passes[0]?.mode, s.running]);
    expect(modes).toEqual(Array(7).fill(["snapshot", null]));
  });

  it("a configuration without actions or scopes is stored with a warning, but runs nothing: its state would move with nothing sent", async () => {
    const created = await put("bare", { sources: [{ eventSource: "Alerts" }], scopes: h.sandbox.configuration["scopes"] });
    expect(created.status).toBe(201);
    expect((created.json["warnings"] as { message: string }[]).some((w) => /action/i.test(w.message))).toBe(true);
    const run = await call("exportRun", { method: "POST", params: { name: "bare" } });
    expect(run.status).toBe(409);
    expect(run.json["detail"]).toMatch(/has no actions: nothing would be exported/);
    expect((await call("exportSnapshot", { method: "POST", params: { name: "bare" } })).status).toBe(409);
    await h.timer("streamTimer");
    expect((await h.service.queue.queue.peekMessages()).peekedMessageItems).toEqual([]);
  });

  it("one problem format and one rule for a disabled configuration: run and snapshot answer 409 alike; DELETE of none is a problem", async () => {
    await put("off", { ...h.sandbox.configuration, isEnabled: false });
    for (const fn of ["exportRun", "exportSnapshot"]) {
      const r = await call(fn, { method: "POST", params: { name: "off" } });
      expect(r.status, fn).toBe(409);
      expect(r.json, fn).toMatchObject({ type: "about:blank", title: "Conflict", detail: "export configuration off is disabled" });
    }
    const missing = await call("export", { method: "DELETE", params: { name: "nothing-here" } });
    expect(missing.status).toBe(404);
    expect((missing.headers as Record<string, string>)["content-type"]).toMatch(/^application\/problem\+json/);
    expect(missing.json).toMatchObject({ type: "about:blank", title: "Not Found", status: 404 });
    const preview = await call("exportPreview", { method: "POST", params: { name: "off" }, body: JSON.stringify({ records: "x", limit: 0 }) });
    expect((preview.json["errors"] as { path: string }[]).map((e) => e.path).sort()).toEqual(["$.limit", "$.records"]);
  });

  it("timers queue streaming passes for enabled configurations, and snapshots only when due", async () => {
    await put("sandbox", { ...h.sandbox.configuration, sources: [{ eventSource: "Alerts" }, { eventSource: "AssessmentsSnapshot" }] });
    await put("off", { ...h.sandbox.configuration, isEnabled: false });
    await h.timer("streamTimer");
    await h.timer("snapshotTimer");
    const peek = async () =>
      (await h.service.queue.queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => JSON.parse(decodeMessageText(m.messageText)) as { eventSource: string; reason: string });
    expect((await peek()).map((m) => [m.eventSource, m.reason])).toEqual([
      ["Alerts", "timer"],
      ["AssessmentsSnapshot", "snapshot-timer"],
    ]);
    await h.runQueue();
    await h.timer("snapshotTimer"); // sent a snapshot just now: not due until Sunday
    expect(await peek()).toEqual([]);
  });

  it("a message the worker cannot read fails (the host keeps it as poison); status lists poison messages", async () => {
    await put("sandbox", h.sandbox.configuration);
    const { bindQueue } = await import("../../src/functions/definitions.js");
    const { FUNCTIONS } = await import("../../src/functions/all.js");
    const worker = bindQueue(FUNCTIONS.find((f) => f.name === "passWorker") as never, () => Promise.resolve(h.service));
    const functions = (await import("@azure/functions")).default;
    await expect(worker({ configuration: "sandbox" }, new functions.InvocationContext({ logHandler: () => undefined }))).rejects.toThrow(/not a pass message: scope: /);
    await h.service.queue.poison.createIfNotExists();
    await h.service.queue.poison.sendMessage(
      Buffer.from(JSON.stringify({ configuration: "sandbox", scope: "/subscriptions/x", eventSource: "Alerts", reason: "timer", enqueuedAt: "2026-01-01T00:00:00Z" })).toString("base64"),
    );
    const status = await call("exportStatus", { method: "GET", params: { name: "sandbox" } });
    expect(status.json["poisonMessages"]).toEqual([expect.objectContaining({ message: expect.objectContaining({ scope: "/subscriptions/x" }) })]);
    await h.service.queue.poison.clearMessages();
  });

  it("status: a management group's page is asked with top, skip and subscriptionStatus; a bad one is a 400 naming it", async () => {
    await put("sandbox", h.sandbox.configuration);
    const ok = await call("exportStatus", { method: "GET", params: { name: "sandbox" }, query: { top: "10", skip: "20", subscriptionStatus: "failing" } });
    expect(ok.status).toBe(200);
    // A configuration without a management group has no group summary.
    expect(ok.json["managementGroups"]).toBeUndefined();
    const bad = await call("exportStatus", { method: "GET", params: { name: "sandbox" }, query: { top: "0", skip: "-1", subscriptionStatus: "broken" } });
    expect(bad.status).toBe(400);
    expect(bad.json["errors"]).toEqual([
      { path: "top", message: "expected a whole number from 1 to 1000" },
      { path: "skip", message: "expected a whole number from 0" },
      { path: "subscriptionStatus", message: "expected one of failing, waiting, stalled, not yet run, departed, flowing" },
    ]);
    expect((await call("exportStatus", { method: "GET", params: { name: "sandbox" }, query: { top: "1001" } })).status).toBe(400);
  });

  it("dead letters: listed per configuration, counted in status, and replayed", async () => {
    await put("sandbox", { ...h.sandbox.configuration, sources: [{ eventSource: "Alerts" }], actions: [(h.sandbox.configuration["actions"] as unknown[])[0]] });
    h.sandbox.ingestion.inject({ kind: "status", status: 400 }, { times: 100 });
    const run = await call("exportRun", { method: "POST", params: { name: "sandbox" } });
    expect(run.status).toBe(200);
    const status = await call("exportStatus", { method: "GET", params: { name: "sandbox" } });
    const count = (status.json["deadLetters"] as { count: number }).count;
    expect(count).toBe(h.sandbox.dataset.sizes.alerts);
    const letters = await call("deadLetters", { method: "GET", params: { name: "sandbox" } });
    expect((letters.json["value"] as { reason: string }[])[0]!.reason).toMatch(/400/);
    expect((await call("deadLetters", { method: "GET", params: { name: "sandbox" }, query: { limit: "0" } })).status).toBe(400);
    h.sandbox.ingestion.clearFaults();
    const replay = await call("deadLettersReplay", { method: "POST", params: { name: "sandbox" } });
    expect(replay.json).toMatchObject({ resent: count, failed: 0 });
    expect(((await call("exportStatus", { method: "GET", params: { name: "sandbox" } })).json["deadLetters"] as { count: number }).count).toBe(0);
  });
});

describe("preview, health, openapi", () => {
  it("preview maps the records in the body per destination, and sends nothing", async () => {
    await put("sandbox", h.sandbox.configuration);
    const before = JSON.stringify(h.sandbox.received());
    const alerts = { value: exampleRecords("alerts/GetAlertsSubscription_example.json") };
    const r = await call("exportPreview", { method: "POST", params: { name: "sandbox" }, body: JSON.stringify(alerts) });
    expect(r.status).toBe(200);
    expect(r.json["selected"]).toBe(alerts.value.length);
    const first = (r.json["records"] as { eventSource: string; destinations: Record<string, unknown>[] }[])[0]!;
    expect(first.eventSource).toBe("Alerts");
    expect(first.destinations.map((d) => d["actionType"])).toEqual(["Workspace", "EventHub"]);
    expect(first.destinations[0]).toMatchObject({ table: "SecurityAlert_CL", row: expect.objectContaining({ AlertName: expect.any(String) }) });
    expect(JSON.stringify(h.sandbox.received())).toBe(before);
    const live = await call("exportPreview", { method: "POST", params: { name: "sandbox" }, body: JSON.stringify({ limit: 2 }) });
    expect(live.json["shown"]).toBe(2);
    expect((await call("exportPreview", { method: "POST", params: { name: "sandbox" }, body: JSON.stringify({ limit: "two" }) })).json["errors"]).toEqual([
      expect.objectContaining({ path: "$.limit" }),
    ]);
  });

  it("health answers 200 while storage is reachable; openapi.json lists every route with its schemas", async () => {
    expect((await call("health", { method: "GET" })).json).toEqual({ status: "healthy", checks: { storage: "ok", configurations: "ok" } });
    const doc = (await call("openapi", { method: "GET" })).json as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/exports", "/api/exports/{name}", "/api/exports/{name}/status", "/api/exports/{name}/dead-letters/replay", "/api/health"]));
    expect(Object.keys(doc.paths["/api/exports/{name}"]!)).toEqual(["get", "put", "delete"]);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Configuration", "PreviewRequest", "PassRecord", "Problem"]));
    const actions = (doc.components.schemas["Configuration"] as { properties: { actions: { items: { anyOf: { properties: { actionType: { const: string } } }[] } } } }).properties.actions;
    expect(actions.items.anyOf.map((a) => a.properties.actionType.const)).toEqual(["EventHub", "Workspace", "LogicApp", "StorageAccount"]);
    // Every operation says what it answers, with a schema a generated client can use, and each schema is there.
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations as Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref: string } }> }> }>)) {
        const ok = Object.entries(operation.responses).filter(([status]) => status.startsWith("2"));
        expect(ok.length, `${method} ${path}`).toBeGreaterThan(0);
        for (const [, response] of Object.entries(operation.responses)) {
          for (const media of Object.values(response.content ?? {})) expect(doc.components.schemas[media.schema.$ref.replace("#/components/schemas/", "")], media.schema.$ref).toBeDefined();
        }
      }
    }
    const run = (doc.paths["/api/exports/{name}/run"]!["post"] as { responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }> }).responses["200"]!;
    expect(run.content["application/json"]!.schema.$ref).toBe("#/components/schemas/RunResponse");
    expect(JSON.stringify(doc.components.schemas["RunResponse"])).toContain("stopped");
    // Health's 503 is its own body; a list has no configuration to miss; only changes need the write role.
    const responsesOf = (path: string, method: string) => (doc.paths[path]![method] as { responses: Record<string, { content?: Record<string, { schema: { $ref: string } }> }> }).responses;
    expect(responsesOf("/api/health", "get")["503"]!.content!["application/json"]!.schema.$ref).toBe("#/components/schemas/Health");
    expect(responsesOf("/api/exports", "get")["404"]).toBeUndefined();
    expect(responsesOf("/api/exports/{name}", "get")["403"]).toBeUndefined();
    expect(responsesOf("/api/exports/{name}", "put")["412"]).toBeDefined();
  });
});
