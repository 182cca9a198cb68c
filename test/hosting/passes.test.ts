import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { lettersOf } from "../helpers/destinations.js";
import type { ExportService } from "../../src/hosting/service.js";
import { harness, sandboxService, type Harness } from "../functions/helpers.js";

// Passes through the hosts' path (ExportService) when a destination is dead, and when a
// configuration is deleted while its pass runs (the December 2026 security review, findings 4, 6 and 7).

let h: Harness;
/** The hosts' service, trusting the dead destination as an operator's own host would be, with quick retries. */
let service: ExportService;
let dead: { port: number; connections: number; close(): Promise<void> };
const HOOK_SIG = "dead-hook-signature-never-shown";

beforeAll(async () => {
  // A destination that accepts a connection and drops it at once: every attempt to reach it is counted.
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  dead = {
    port,
    get connections() {
      return connections;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
  h = await harness({
    DEFENDER_EXPORT_DEST_DEAD_HUB: `Endpoint=sb://localhost:${port};SharedAccessKeyName=k;SharedAccessKey=dead;UseDevelopmentEmulator=true;EntityPath=h`,
    DEFENDER_EXPORT_DEST_DEAD_HOOK: `https://localhost:${port}/hook?sig=${HOOK_SIG}`,
  });
  service = sandboxService(
    h.azurite,
    h.sandbox,
    { ...h.env, DEFENDER_EXPORT_TRUSTED_HOSTS: `${h.env["DEFENDER_EXPORT_TRUSTED_HOSTS"]},localhost:${port}` },
    { delivery: { retry: { attempts: 2, delayMs: 10 }, sdkRetryOptions: { maxRetries: 0, retryDelayInMs: 10, maxRetryDelayInMs: 10, timeoutInMs: 3000 } } },
  ).service;
}, 60_000);

afterAll(async () => {
  await h.close();
  await dead.close();
});

beforeEach(async () => {
  for (const c of (await h.service.list()).value) await h.service.delete(String(c["name"]));
});

const configuration = (action: Record<string, unknown>, sources = ["Alerts", "SecureScores"]) => ({
  scopes: [h.sandbox.dataset.subscriptionPath],
  sources: sources.map((eventSource) => ({ eventSource })),
  actions: [action],
});

async function put(name: string, body: unknown): Promise<void> {
  const r = await h.http("export", { method: "PUT", params: { name }, body: JSON.stringify(body) });
  expect(r.status, JSON.stringify(r.json)).toBeLessThan(300);
}

describe("a destination that cannot be reached", () => {
  it("Event Hubs down: run answers with its pass records and the reason, the records are dead-lettered, the queue message completes", async () => {
    const hub = { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_DEAD_HUB", eventHubName: "h" };
    await service.put("hub-down", configuration(hub), {});
    const started = Date.now();
    const passes = await service.runNow("hub-down");
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(passes.map((p) => p.eventSource)).toEqual(["Alerts", "SecureScores"]);
    for (const p of passes) {
      expect(p.error, p.eventSource).toBeUndefined();
      const [action] = Object.values(p.actions);
      expect(action!.deadLettered, p.eventSource).toBe(p.changed);
      expect(action!.sent).toBe(0);
      expect(action!.backedOffUntil).toEqual(expect.any(String));
    }
    const reasons = Object.values(passes[0]!.actions)[0]!.failures.join("\n");
    expect(reasons).toMatch(/cannot open hub h: \S/);
    // Every record is in a dead letter (nothing lost), and the later pass did not try the hub again.
    const letters = await lettersOf(service.deadLetters);
    expect(letters.reduce((n, l) => n + l.items.length, 0)).toBe(passes.reduce((n, p) => n + p.changed, 0));
    expect(letters.every((l) => l.configuration === "hub-down")).toBe(true);
    expect(letters.some((l) => /^not tried: h is backed off until/.test(l.reason))).toBe(true);

    const status = await service.status("hub-down");
    expect(status["flow"]).toMatchObject({ status: "failing", failing: [expect.stringMatching(/ h: backed off until .* after: cannot open hub h: \S/)] });
    expect((status["actions"] as { backedOff: unknown[] }[])[0]!.backedOff).toHaveLength(1);

    // The queue worker: a pass message completes (nothing thrown, so nothing goes toward the poison queue).
    h.sandbox.dataset.sizes.alerts += 3;
    const record = await service.runMessage({ configuration: "hub-down", scope: h.sandbox.dataset.subscriptionPath, eventSource: "Alerts", reason: "timer", enqueuedAt: new Date().toISOString() });
    expect(record!.error).toBeUndefined();
    expect(record!.changed).toBe(3);
    expect(Object.values(record!.actions)[0]!.deadLettered).toBe(3);
    await service.delete("hub-down");
  }, 60_000);

  it("a dead webhook: the first event spends its attempts, the rest of the pass and the next pass are dead-lettered untried", async () => {
    await service.put("hook-down", configuration({ actionType: "LogicApp", uriSetting: "DEFENDER_EXPORT_DEST_DEAD_HOOK" }, ["Alerts"]), {});
    const before = dead.connections;
    const started = Date.now();
    const [first] = await service.runNow("hook-down");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(first!.changed).toBe(h.sandbox.dataset.sizes.alerts);
    expect(dead.connections - before).toBe(2); // one event, two attempts: no more
    const letters = await lettersOf(service.deadLetters);
    const mine = letters.filter((l) => l.configuration === "hook-down");
    expect(mine.map((l) => l.items.length).sort((a, b) => a - b)).toEqual([1, h.sandbox.dataset.sizes.alerts - 1]);
    expect(JSON.stringify(mine)).not.toContain(HOOK_SIG);

    h.sandbox.dataset.sizes.alerts += 5;
    const [second] = await service.runNow("hook-down");
    expect(second!.changed).toBe(5);
    expect(Object.values(second!.actions)[0]).toMatchObject({ sent: 0, deadLettered: 5, requests: 0 });
    expect(dead.connections - before).toBe(2);
    expect(JSON.stringify(await service.status("hook-down"))).not.toContain(HOOK_SIG);
    await service.delete("hook-down");
  }, 60_000);
});

describe("DELETE while a pass runs", () => {
  it("the pass stops, sends nothing more and keeps nothing; the configuration made again under that name starts with a baseline", async () => {
    const dataset = h.sandbox.dataset;
    const alerts = dataset.sizes.alerts;
    dataset.sizes.alerts = 3_000;
    h.sandbox.arm.inject({ kind: "delay", ms: 150 }, { path: /alerts/, times: 60 });
    try {
      const workspace = (h.sandbox.configuration["actions"] as Record<string, unknown>[])[0]!;
      await put("delrace", configuration(workspace, ["Alerts"]));
      const key = { configuration: "delrace", scope: dataset.subscriptionPath, eventSource: "Alerts" as const };
      const running = h.service.runNow("delrace");
      for (let i = 0; i < 100 && (await h.service.state.running(key)) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await h.service.state.running(key)).toBeDefined();
      expect(await h.service.delete("delrace")).toBe(true);
      await put("delrace", configuration(workspace, ["Alerts"]));
      const [old] = await running;
      expect(old).toMatchObject({ abandoned: true, error: expect.stringMatching(/the configuration was deleted/) });
      expect(old!.read).toBeLessThan(3_000);
      expect(old!.checkpoints).toBe(0);
      // The old pass left no record beside the new configuration.
      expect(await h.service.state.recentPasses(key, 5)).toEqual([]);

      const rowsBefore = h.sandbox.ingestion.accepted.get("Custom-SecurityAlert_CL")?.length ?? 0;
      const [fresh] = await h.service.runNow("delrace");
      expect(fresh).toMatchObject({ mode: "baseline", changed: 3_000 });
      expect((h.sandbox.ingestion.accepted.get("Custom-SecurityAlert_CL")?.length ?? 0) - rowsBefore).toBe(3_000);
    } finally {
      dataset.sizes.alerts = alerts;
    }
  }, 60_000);
});

describe("access refused right after a deployment", () => {
  it("a 403 within 30 minutes of start-up is retried later, the message completes, and status says the pass waits; later it is a failure", async () => {
    const dataset = h.sandbox.dataset;
    const workspace = (h.sandbox.configuration["actions"] as Record<string, unknown>[])[0]!;
    await put("roles", configuration(workspace, ["Alerts"]));
    h.sandbox.arm.inject({ kind: "status", status: 403, code: "AuthorizationFailed" }, { path: /alerts/, times: 1 });
    const message = { configuration: "roles", scope: dataset.subscriptionPath, eventSource: "Alerts" as const, reason: "timer" as const, enqueuedAt: new Date().toISOString() };
    const record = await h.service.runMessage(message);
    expect(record).toMatchObject({ errorStatus: 403, retry: { attempt: 1, reason: expect.stringMatching(/role assignments can take that long/) } });
    // The retry is queued, not yet visible: it waits out its delay.
    const properties = await h.service.queue.queue.getProperties();
    expect(properties.approximateMessagesCount).toBe(1);
    expect((await h.service.queue.queue.peekMessages()).peekedMessageItems).toEqual([]);
    const status = await h.service.status("roles");
    expect(status["flow"]).toMatchObject({ status: "waiting", failing: [], waiting: [expect.stringMatching(/HTTP 403 AuthorizationFailed.*tried again at/)] });

    // A refusal that has lasted past the window (the source's records say so) fails, however new the instance.
    const key = { configuration: "roles", scope: dataset.subscriptionPath, eventSource: "Alerts" as const };
    const longAgo = new Date(Date.now() - 40 * 60_000).toISOString();
    await h.service.state.recordPass(key, { ...record!, startedAt: longAgo, finishedAt: longAgo } as { startedAt: string });
    h.sandbox.arm.inject({ kind: "status", status: 403, code: "AuthorizationFailed" }, { path: /alerts/, times: 1 });
    const lasting = await h.service.runMessage(message);
    expect(lasting).toMatchObject({ errorStatus: 403 });
    expect(lasting!.retry).toBeUndefined();
    await h.service.queue.queue.clearMessages();

    // The same refusal long after start-up is a failure as any other.
    let minutes = 0;
    const later = sandboxService(h.azurite, h.sandbox, { ...h.env, DEFENDER_EXPORT_QUEUE: "roles-later" }, { now: () => new Date(Date.now() + minutes * 60_000) }).service;
    minutes = 31;
    h.sandbox.arm.inject({ kind: "status", status: 403, code: "AuthorizationFailed" }, { path: /alerts/, times: 1 });
    const failed = await later.runMessage(message);
    expect(failed).toMatchObject({ errorStatus: 403 });
    expect(failed!.retry).toBeUndefined();
    await h.service.queue.queue.clearMessages();
    await h.service.delete("roles");
  });
});
