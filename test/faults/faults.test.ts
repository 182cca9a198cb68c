import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterEach, describe, expect, it } from "vitest";
import { passPrefix } from "../../src/state/store.js";
import { replayDeadLetters } from "../../src/destinations/replay.js";
import { duplicates, nothingLost, sinksOf, untilClean, world, type PassArgs, type World } from "./harness.js";
import { startProxy } from "./proxy.js";

// Each fault: passes run as fresh processes would run them, then nothing lost (every record at each
// destination or in its dead letters) and duplicates only where at-least-once allows them.

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

async function replay(x: World): Promise<void> {
  const { deadLetters, sinks } = sinksOf(x.args());
  await replayDeadLetters(deadLetters, sinks);
  await Promise.all(sinks.map((s) => s.close()));
}

describe("ARM faults", () => {
  it("a 429 storm with Retry-After: passes wait, fail when it lasts, and the next one delivers everything once", async () => {
    w = await world();
    w.arm.inject({ kind: "status", status: 429, retryAfter: 1 }, { times: 6 });
    const rounds = await untilClean(() => w!.pass());
    expect(rounds).toBeGreaterThan(1);
    const got = await nothingLost(w);
    expect([duplicates(got.logAnalytics), duplicates(got.eventHubs)]).toEqual([0, 0]);
    expect(w.arm.requests.filter((r) => r.status === 429)).toHaveLength(6);
  }, 60_000);

  it("5xx, a reset connection and a malformed page in the middle of a listing: nothing lost, nothing twice", async () => {
    w = await world();
    // Page 1 answers, page 2 fails past the retries (a malformed page is not retried: it is not transient).
    for (const [fault, times] of [
      [{ kind: "status", status: 503 }, 4],
      [{ kind: "reset" }, 4],
      [{ kind: "malformed" }, 1],
    ] as const) {
      w.arm.inject({ kind: "delay", ms: 0 }, { path: /alerts/, times: 1 });
      w.arm.inject(fault, { path: /alerts/, times });
    }
    await untilClean(() => w!.pass());
    const got = await nothingLost(w);
    expect([duplicates(got.logAnalytics), duplicates(got.eventHubs)]).toEqual([0, 0]);
    expect(new Set(w.arm.requests.map((r) => r.fault).filter(Boolean))).toEqual(new Set(["delay", "status", "reset", "malformed"]));
  }, 60_000);
});

describe("Logs Ingestion faults", () => {
  it("413, 429 and 500, and one stream failing while another goes through: delivered or dead-lettered, then replayed", async () => {
    w = await world();
    w.ingestion.inject({ kind: "status", status: 429, retryAfter: 0 }, { times: 2 });
    w.ingestion.inject({ kind: "status", status: 413 }, { times: 1 });
    w.ingestion.inject({ kind: "status", status: 500 }, { times: 20, stream: "Custom-SecurityAlert_CL" });
    await untilClean(() => w!.pass());
    await nothingLost(w);
    const letters = await w.deadLetters();
    expect(letters.some((l) => /500/.test(l.reason))).toBe(true);
    expect(w.delivered().logAnalytics.length).toBeGreaterThan(0); // recommendations went through meanwhile
    w.ingestion.clearFaults();
    await replay(w);
    const got = await nothingLost(w);
    expect(w.expected().every((id) => got.logAnalytics.has(id))).toBe(true);
  }, 60_000);
});

describe("Event Hubs faults", () => {
  it("server-busy, quota exceeded, message too large and a dropped connection: delivered or dead-lettered, then replayed", async () => {
    w = await world();
    w.hubs.fail("com.microsoft:server-busy", 2);
    w.hubs.fail("amqp:resource-limit-exceeded", 1);
    w.hubs.fail("drop-connection", 1);
    w.hubs.fail("amqp:link:message-size-exceeded", 1);
    await untilClean(() => w!.pass());
    await nothingLost(w);
    w.hubs.clearFaults();
    await replay(w);
    const got = await nothingLost(w);
    expect(w.expected().every((id) => got.eventHubs.has(id))).toBe(true);
  }, 60_000);
});

describe("storage faults", () => {
  it("the state's storage goes away mid-pass: the pass fails, and the next re-sends only what came after its last checkpoint", async () => {
    w = await world();
    const blobPort = Number(/BlobEndpoint=http:\/\/127\.0\.0\.1:(\d+)/.exec(w.azurite.connectionString)![1]);
    const proxy = await startProxy(blobPort);
    const viaProxy = w.azurite.connectionString.replace(`127.0.0.1:${blobPort}`, `127.0.0.1:${proxy.port}`);
    try {
      const [alerts] = await w.pass({ storage: viaProxy, hooks: { hooks: { afterWrite: (n) => n === 12 && proxy.down() } } });
      expect(alerts!.error).toBeDefined();
      await proxy.up();
      // The dead runner's lease would expire within 60 s; break it rather than wait.
      const key = { configuration: w.prefix, scope: w.dataset.subscriptionPath, eventSource: "Alerts" as const };
      await BlobServiceClient.fromConnectionString(w.azurite.connectionString)
        .getContainerClient(`${w.prefix}-state`)
        .getBlobClient(`${passPrefix(key)}/lock`)
        .getBlobLeaseClient()
        .breakLease(0)
        .catch(() => undefined);
      await untilClean(() => w!.pass({ storage: viaProxy }));
      const got = await nothingLost(w);
      // Checkpoints at 5 and 10 held; what was sent after the last one may come twice, no more.
      expect(duplicates(got.logAnalytics)).toBeLessThanOrEqual(5);
      expect(duplicates(got.eventHubs)).toBeLessThanOrEqual(5);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});

describe("processes", () => {
  const child = (args: PassArgs) =>
    spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./pass-child.ts", import.meta.url)), JSON.stringify(args)], { stdio: ["ignore", "pipe", "inherit"] });
  const finished = (p: ReturnType<typeof child>) =>
    new Promise<string>((resolve) => {
      let out = "";
      p.stdout!.on("data", (c: Buffer) => (out += c.toString()));
      p.on("close", () => resolve(out));
    });

  it("killed at random points over many runs, with changes in between: every change reaches both destinations", async () => {
    w = await world({ alerts: 60, assessments: 60, pageSize: 10 });
    const container = BlobServiceClient.fromConnectionString(w.azurite.connectionString).getContainerClient(`${w.prefix}-state`);
    await container.createIfNotExists();
    let seed = 7;
    let killedMidway = 0;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < 8; run++) {
      // Recommendations change status between runs; the latest status must be what arrives last.
      w.dataset.patches.set(`assessment:${run}`, (r) => (((r["properties"] as Record<string, unknown>)["status"] as Record<string, unknown>)["code"] = `Changed${run}`));
      const p = child(w.args(undefined, 7));
      const done = finished(p);
      setTimeout(() => p.kill("SIGKILL"), 300 + random() * 1500);
      if ((await done).trim().split("\n").filter(Boolean).length < 2) killedMidway++;
      // A killed runner's leases expire within 60 s; break them rather than wait.
      for await (const blob of container.listBlobsFlat())
        if (blob.name.endsWith("/lock"))
          await container
            .getBlobClient(blob.name)
            .getBlobLeaseClient()
            .breakLease(0)
            .catch(() => undefined);
    }
    expect(killedMidway).toBeGreaterThan(3); // most runs died before their last pass ended
    const last = await finished(child(w.args(undefined, 7)));
    expect(last).not.toMatch(/"error":"/);
    const got = await nothingLost(w);
    expect(w.expected().every((id) => got.logAnalytics.has(id) && got.eventHubs.has(id))).toBe(true);
    // Every change arrived: the last row of each changed recommendation has its latest status.
    const rows = [...w.ingestion.accepted.values()].flat();
    for (let run = 0; run < 8; run++) {
      const id = String(w.dataset.assessment(run)["id"]).toLowerCase();
      expect(rows.filter((r) => r["RecordId"] === id).at(-1)?.["RecommendationState"]).toBe(`Changed${run}`);
    }
  }, 120_000);

  it("two hosts run the same configuration at once: every record delivered, once", async () => {
    w = await world({ alerts: 40, assessments: 40, pageSize: 10 });
    const [a, b] = await Promise.all([finished(child(w.args())), finished(child(w.args()))]);
    expect(`${a}${b}`).not.toMatch(/"error":"/);
    const got = await nothingLost(w);
    expect([duplicates(got.logAnalytics), duplicates(got.eventHubs)]).toEqual([0, 0]);
    expect(`${a}${b}`).toMatch(/"skipped":"another runner holds the lease/);
  }, 60_000);
});
