import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startFakeArm, type FakeArmServer } from "../../dev/fakes/arm/server.js";
import { ArmReadError } from "../../src/sources/arm.js";
import { ArmReader, GroupMembers } from "../../src/sources/reader.js";
import { GraphQuota } from "../../src/sources/resource-graph.js";
import { managementGroupUnit } from "../../src/config/automation.js";
import { collect, FAST_RETRIES, staticCredential } from "../helpers/arm.js";

const GRAPH = /Microsoft\.ResourceGraph/;
const dataset = new SyntheticDataset({ attackPaths: 23, resourceGroups: ["rg-a", "rg-b", "rg-c"], largeAttackPathEvery: 10 });
const SUB = dataset.subscriptionPath;
let fake: FakeArmServer;
const credential = staticCredential();

beforeAll(async () => {
  fake = await startFakeArm({ dataset, resourceGraph: { quota: { queries: 1000, windowMs: 1000 } } });
});
afterAll(async () => {
  await fake.close();
});

const reader = (options: { pageRows?: number; maxThrottledRetries?: number } = {}) => new ArmReader({ credential, endpoint: fake.url, tlsCa: fake.ca, retryOptions: FAST_RETRIES, ...options });
const graphRequests = () => fake.requests.filter((r) => GRAPH.test(r.path));
const expected = () => Array.from({ length: dataset.sizes.attackPaths }, (_, i) => dataset.attackPath(i)).sort((a, b) => String(a["id"]).localeCompare(String(b["id"])));

describe("the Resource Graph reader", () => {
  it("reads every attack path of the subscription, page by page by skip token, exactly as Resource Graph returns them", async () => {
    fake.requests.length = 0;
    const r = reader({ pageRows: 5 });
    const read = await collect(r.list(SUB, "attackPath"));
    expect(read.map((x) => x.record)).toEqual(expected());
    expect(read.every((x) => x.dataType === "attackPath" && x.scope === SUB && x.cursor === undefined)).toBe(true);
    const requests = graphRequests();
    expect(requests).toHaveLength(5);
    expect(r.stats).toMatchObject({ requests: 5, pages: 5, quotaWaitMs: 0 });
    expect(r.stats.records.attackPath).toBe(23);
    const bodies = requests.map((q) => JSON.parse(q.body) as { query: string; subscriptions: string[]; options: Record<string, unknown> });
    expect(bodies[0]).toEqual({
      query: expect.stringMatching(/^securityresources \| where type == 'microsoft\.security\/attackpaths' \| project id, .* \| order by id asc$/),
      subscriptions: [dataset.subscriptionId],
      options: { $top: 5, resultFormat: "objectArray" },
    });
    expect(bodies.slice(1).every((b) => typeof b.options["$skipToken"] === "string" && b.query === bodies[0]!.query)).toBe(true);
    expect(requests.every((q) => q.method === "POST" && q.query["api-version"] === "2024-04-01" && q.authorization === "Bearer test-token")).toBe(true);
  });

  it("a resource group scope reads the paths through one of the group's resources; read() makes one query per scope", async () => {
    const inGroup = (record: Record<string, unknown>, group: string) =>
      ((record["properties"] as { graphComponent: { entities: { entityIdentifiers?: { azureResourceId?: string } }[] } }).graphComponent.entities ?? []).some((e) =>
        (e.entityIdentifiers?.azureResourceId ?? "").toLowerCase().startsWith(`${SUB}/resourceGroups/${group}/`.toLowerCase()),
      );
    for (const group of ["rg-a", "rg-b"]) {
      const read = (await collect(reader().list(`${SUB}/resourceGroups/${group}`, "attackPath"))).map((x) => x.record);
      const wanted = expected().filter((r) => inGroup(r, group));
      expect(wanted.length, group).toBeGreaterThan(0);
      expect(wanted.length, group).toBeLessThan(23);
      expect(read, group).toEqual(wanted);
    }
    fake.requests.length = 0;
    const both = await collect(reader().read([`${SUB}/resourceGroups/rg-a`, `${SUB}/resourceGroups/rg-b`], ["attackPath"]));
    expect(both.map((x) => x.scope)).toContain(`${SUB}/resourceGroups/rg-b`);
    expect(graphRequests()).toHaveLength(2);
  });

  it("retries through the SDK what the SDK retries: 5xx, a 429 with Retry-After, a dropped connection", async () => {
    fake.requests.length = 0;
    fake.inject({ kind: "status", status: 503 }, { path: GRAPH, times: 1 });
    fake.inject({ kind: "status", status: 429, retryAfter: 0, code: "RateLimiting" }, { path: GRAPH, times: 1 });
    fake.inject({ kind: "reset" }, { path: GRAPH, times: 1 });
    const r = reader({ pageRows: 10 });
    expect((await collect(r.list(SUB, "attackPath"))).map((x) => x.record)).toEqual(expected());
    expect(r.stats.pages).toBe(3);
    expect(r.stats.requests).toBe(6);
  });

  it("fails a page that keeps failing with the scope, the type and the page number, after the SDK's retries", async () => {
    // Page 2 fails every attempt: the first and its retries.
    fake.inject({ kind: "delay", ms: 0 }, { path: GRAPH, times: 1 });
    fake.inject({ kind: "status", status: 500, code: "InternalServerError" }, { path: GRAPH, times: FAST_RETRIES.maxRetries + 1 });
    const r = reader({ pageRows: 10 });
    const error = await collect(r.list(SUB, "attackPath")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmReadError);
    expect((error as ArmReadError).message).toMatch(new RegExp(`^reading attackPath at ${SUB}, page 2: HTTP 500 InternalServerError`));
    expect(r.stats.requests).toBe(1 + FAST_RETRIES.maxRetries + 1);
  });

  it("refuses a skip token it was given before, and a truncated answer without one", async () => {
    const page = (token?: string, truncated = "false") => ({
      totalRecords: 30,
      count: 1,
      resultTruncated: truncated,
      data: [dataset.attackPath(0)],
      ...(token ? { $skipToken: token } : {}),
      facets: [],
    });
    fake.inject({ kind: "body", body: page("same") }, { path: GRAPH, times: 2 });
    const looped = await collect(reader().list(SUB, "attackPath")).catch((e: unknown) => e);
    expect(String(looped)).toMatch(/page 2: Resource Graph returned a skip token it had returned before/);

    fake.inject({ kind: "body", body: page(undefined, "true") }, { path: GRAPH, times: 1 });
    const truncated = await collect(reader().list(SUB, "attackPath")).catch((e: unknown) => e);
    expect(String(truncated)).toMatch(/page 1: Resource Graph truncated the result and gave no skip token/);

    fake.inject({ kind: "body", body: { ...page(), data: { columns: [], rows: [] } } }, { path: GRAPH, times: 1 });
    const table = await collect(reader().list(SUB, "attackPath")).catch((e: unknown) => e);
    expect(String(table)).toMatch(/page 1: malformed page: data is not an array of rows/);
  });
});

describe("a management group scope", () => {
  it("is one query over the group (managementGroups in the request), with rows of every subscription in it and none of others", async () => {
    const a = new SyntheticDataset({ assessments: 5, attackPaths: 2 });
    const b = new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000002", assessments: 4, attackPaths: 3 });
    const outside = new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000003", assessments: 3, attackPaths: 1 });
    const server = await startFakeArm({
      dataset: a,
      resourceGraph: { datasets: [a, b, outside], managementGroups: { "mg-security": [a.subscriptionId, b.subscriptionId], "mg-other": [outside.subscriptionId] } },
    });
    try {
      const r = new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES, pageRows: 3 });
      const group = "/providers/Microsoft.Management/managementGroups/mg-security";
      const subscriptionsOf = (items: { record: Record<string, unknown> }[]) => new Set(items.map((x) => String(x.record["id"]).split("/")[2]));
      const assessments = await collect(r.list(group, "assessment", undefined, "resourceGraph"));
      expect(assessments).toHaveLength(9);
      expect(subscriptionsOf(assessments)).toEqual(new Set([a.subscriptionId, b.subscriptionId]));
      expect(assessments.every((x) => x.scope === group && x.record["type"] === "Microsoft.Security/assessments")).toBe(true);
      const paths = await collect(r.list(group, "attackPath"));
      expect(paths).toHaveLength(5);
      const bodies = server.requests.filter((q) => GRAPH.test(q.path)).map((q) => JSON.parse(q.body) as Record<string, unknown>);
      expect(bodies.every((body) => JSON.stringify(body["managementGroups"]) === '["mg-security"]' && body["subscriptions"] === undefined)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe("a management group's members", () => {
  it("a unit's removals go by the subscriptions both read and still in the group; an empty group is an error, not an empty export", async () => {
    const a = new SyntheticDataset({ attackPaths: 2 });
    const b = new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000002", attackPaths: 3 });
    const c = new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000003", attackPaths: 1 });
    const groups: Record<string, string[]> = { "mg-security": [a.subscriptionId, b.subscriptionId], "mg-empty": [] };
    const server = await startFakeArm({ dataset: a, resourceGraph: { datasets: [a, b, c], managementGroups: groups } });
    try {
      const r = new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES });
      const unit = managementGroupUnit("/providers/Microsoft.Management/managementGroups/mg-security", 0, 1);
      expect(await collect(r.list(unit, "attackPath", undefined, "resourceGraph"))).toHaveLength(5);
      // After the read, b leaves and c joins: b's records may not be removed (it left), nor c's (not read).
      groups["mg-security"] = [a.subscriptionId, c.subscriptionId];
      expect(await r.subscriptionsOf(unit)).toEqual(new Set([a.subscriptionId]));
      const empty = await collect(r.list("/providers/Microsoft.Management/managementGroups/mg-empty/units/1-of-2", "attackPath", undefined, "resourceGraph")).catch((e: unknown) => e);
      // Resource Graph answering no subscription and no secure score at all (the identity sees none): an error that says why.
      server.inject({ kind: "body", body: { totalRecords: 0, count: 0, data: [], resultTruncated: "false", facets: [] } }, { path: GRAPH, times: 2 });
      expect(String(await r.subscriptionsOf(unit).catch((e: unknown) => e))).toMatch(
        /Resource Graph shows no subscription in management group mg-security, nor any secure score there: the identity needs Security Reader \(or Reader\) on the group/,
      );
      // The fake answers a group without readable subscriptions with 403, as for named ones; either way the pass fails, naming the group.
      expect(String(empty)).toMatch(/reading subscriptions at \/providers\/Microsoft.Management\/managementGroups\/mg-empty\/units\/1-of-2, page 1: (HTTP 403|Resource Graph shows no subscription)/);
    } finally {
      await server.close();
    }
  });
});

describe("a management group's members, shared by a process's readers", () => {
  it("the units' reads ask once a minute at most; removals always ask after their read; a failed answer is not kept", async () => {
    const datasets = Array.from({ length: 6 }, (_, i) => new SyntheticDataset({ subscriptionId: `6a1c2b3d-0000-4000-8000-00000000001${i}`, attackPaths: 1 }));
    const groups = { "mg-security": datasets.map((d) => d.subscriptionId) };
    const server = await startFakeArm({ dataset: datasets[0]!, resourceGraph: { datasets, managementGroups: groups, quota: { queries: 1000, windowMs: 1000 } } });
    const memberQueries = () => server.requests.filter((q) => GRAPH.test(q.path) && q.body.includes("resourcecontainers")).length;
    try {
      const shared = new GroupMembers();
      const units = [0, 1, 2].map((i) => managementGroupUnit("/providers/Microsoft.Management/managementGroups/mg-security", i, 3));
      const readers = units.map(() => new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES, groupMembers: shared }));
      const read = await Promise.all(units.map((u, i) => collect(readers[i]!.list(u, "attackPath", undefined, "resourceGraph"))));
      expect(read.flat()).toHaveLength(6);
      expect(memberQueries()).toBe(1);
      // Another source's pass a moment later chooses its subscriptions from the same answer.
      await collect(new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES, groupMembers: shared }).list(units[0]!, "assessment", undefined, "resourceGraph"));
      expect(memberQueries()).toBe(1);
      // Removals: an answer asked after the read ended, each time.
      for (const [i, r] of readers.entries()) await r.subscriptionsOf(units[i]!);
      expect(memberQueries()).toBe(4);
      // A failure is not kept: the next asks again.
      server.inject({ kind: "status", status: 400 }, { path: GRAPH, times: 1 });
      await expect(readers[0]!.subscriptionsOf(units[0]!)).rejects.toThrow();
      expect(await readers[0]!.subscriptionsOf(units[0]!)).toEqual(await readers[0]!.subscriptionsOf(units[0]!));
      // Readers of their own (the CLI, tests) ask for themselves.
      const before = memberQueries();
      await Promise.all(units.map((u) => collect(new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES }).list(u, "attackPath", undefined, "resourceGraph"))));
      expect(memberQueries() - before).toBe(3);
    } finally {
      await server.close();
    }
  });
});

describe("a management group's members with Security Reader alone", () => {
  it("without the subscriptions' own rows (no Microsoft.Resources/subscriptions/read), the members are the subscriptions with a secure score", async () => {
    const a = new SyntheticDataset({ attackPaths: 2 });
    const b = new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000002", attackPaths: 3 });
    const c = new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000003", attackPaths: 1 });
    const groups = { "mg-security": [a.subscriptionId, b.subscriptionId] };
    const server = await startFakeArm({ dataset: a, resourceGraph: { datasets: [a, b, c], managementGroups: groups, hiddenTables: ["resourcecontainers"] } });
    try {
      const r = new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES });
      const unit = managementGroupUnit("/providers/Microsoft.Management/managementGroups/mg-security", 0, 1);
      expect(await collect(r.list(unit, "attackPath", undefined, "resourceGraph"))).toHaveLength(5);
      expect(await r.subscriptionsOf(unit)).toEqual(new Set([a.subscriptionId, b.subscriptionId]));
      const queries = server.requests.filter((q) => GRAPH.test(q.path)).map((q) => String((JSON.parse(q.body) as { query: string }).query));
      expect(queries.filter((q) => q.startsWith("resourcecontainers")).length).toBe(2);
      expect(queries.filter((q) => q.includes("'microsoft.security/securescores'")).length).toBe(2);
    } finally {
      await server.close();
    }
  });
});

describe("a result that changes while it is read (a skip token is an offset)", () => {
  const shifting = async (change: (d: SyntheticDataset) => void) => {
    const d = new SyntheticDataset({ attackPaths: 30 });
    const server = await startFakeArm({ dataset: d });
    try {
      const r = new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES, pageRows: 10 });
      const seen: string[] = [];
      const error = await (async () => {
        for await (const item of r.list(SUB, "attackPath")) {
          seen.push(String(item.record["id"]));
          if (seen.length === 5) change(d);
        }
      })().catch((e: unknown) => e);
      return { error, seen };
    } finally {
      await server.close();
    }
  };

  it("a path resolved before the offset would shift the next page past a live path: the read fails instead of missing it", async () => {
    const { error, seen } = await shifting((d) => d.resolvedAttackPaths.add(0));
    expect(String(error)).toMatch(/page 2: the result changed while it was read \(30 rows when the listing began, 29 now\)/);
    expect(seen).toHaveLength(10);
  });

  it("a path appearing would repeat a row: the read fails too", async () => {
    const { error } = await shifting((d) => d.sizes.attackPaths++);
    expect(String(error)).toMatch(/page 2: the result changed while it was read \(30 rows when the listing began, 31 now\)/);
  });

  it("a listing that ends short of its totalRecords, or an empty page with a token, fails", async () => {
    const page = (data: unknown[], total: number, token?: string) => ({ totalRecords: total, count: data.length, resultTruncated: "false", data, facets: [], ...(token ? { $skipToken: token } : {}) });
    fake.inject({ kind: "body", body: page([dataset.attackPath(0), dataset.attackPath(1)], 1000) }, { path: GRAPH, times: 1 });
    expect(String(await collect(reader().list(SUB, "attackPath")).catch((e: unknown) => e))).toMatch(/page 1: the listing said 1000 rows and gave 2; the next pass reads it again/);
    fake.inject({ kind: "body", body: page([], 5, "t1") }, { path: GRAPH, times: 1 });
    expect(String(await collect(reader().list(SUB, "attackPath")).catch((e: unknown) => e))).toMatch(/page 1: an empty page with a skip token/);
  });
});

describe("Resource Graph's response size limit", () => {
  it("a page refused as over the limit (ResponsePayloadTooLarge) is asked again with fewer rows, and the rest of the listing keeps the smaller size", async () => {
    const large = new SyntheticDataset({ attackPaths: 9, largeAttackPathEvery: 1, hugeAttackPaths: [] });
    const capped = await startFakeArm({ dataset: large, resourceGraph: { maxResponseBytes: 250_000 } });
    try {
      const r = new ArmReader({ credential, endpoint: capped.url, tlsCa: capped.ca, retryOptions: FAST_RETRIES, pageRows: 8 });
      const read = await collect(r.list(SUB, "attackPath"));
      expect(read.map((x) => x.record)).toEqual(Array.from({ length: 9 }, (_, i) => large.attackPath(i)).sort((a, b) => String(a["id"]).localeCompare(String(b["id"]))));
      const tops = capped.requests.map((q) => [q.status, (JSON.parse(q.body) as { options: { $top: number } }).options.$top]);
      // 8 and 4 refused; pages of 2 from then on.
      expect(tops).toEqual([
        [400, 8],
        [400, 4],
        [200, 2],
        [200, 2],
        [200, 2],
        [200, 2],
        [200, 2],
      ]);
    } finally {
      await capped.close();
    }
  });

  it("a single row over the limit fails the read, saying so", async () => {
    const huge = new SyntheticDataset({ attackPaths: 2, hugeAttackPaths: [1] });
    const capped = await startFakeArm({ dataset: huge, resourceGraph: { maxResponseBytes: 1_000_000 } });
    try {
      const r = new ArmReader({ credential, endpoint: capped.url, tlsCa: capped.ca, retryOptions: FAST_RETRIES, pageRows: 2 });
      const error = await collect(r.list(SUB, "attackPath")).catch((e: unknown) => e);
      expect(String(error)).toMatch(
        /HTTP 400 BadRequest: .*ResponsePayloadTooLarge: Response payload size is \d+, and has exceeded the limit of 1000000.*\(one row is over Resource Graph's 16 MB response limit\)/,
      );
    } finally {
      await capped.close();
    }
  });
});

describe("Resource Graph's quota", () => {
  let limited: FakeArmServer;
  beforeAll(async () => {
    limited = await startFakeArm({ dataset, resourceGraph: { quota: { queries: 2, windowMs: 600 } } });
  });
  afterAll(async () => {
    await limited.close();
  });
  const limitedReader = () => new ArmReader({ credential, endpoint: limited.url, tlsCa: limited.ca, retryOptions: FAST_RETRIES, pageRows: 4 });

  it("is waited for before it runs out: no query is throttled", async () => {
    limited.requests.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 700));
    const r = limitedReader();
    expect((await collect(r.list(SUB, "attackPath"))).map((x) => x.record)).toEqual(expected());
    const served = limited.requests.filter((q) => GRAPH.test(q.path));
    expect(served).toHaveLength(6);
    expect(served.filter((q) => q.status === 429)).toEqual([]);
    expect(r.stats.quotaWaitMs).toBeGreaterThan(0);
  });

  it("a 429 without Retry-After (the quota spent by another client of the same caller) is waited out and the page asked again", async () => {
    await new Promise((resolve) => setTimeout(resolve, 700));
    // Another client of the same identity spends the window's queries.
    for (let i = 0; i < 2; i++) await post(limited, { query: "securityresources | project id | order by id asc", subscriptions: [dataset.subscriptionId] });
    limited.requests.length = 0;
    const r = limitedReader();
    expect((await collect(r.list(SUB, "attackPath"))).map((x) => x.record)).toEqual(expected());
    const statuses = limited.requests.filter((q) => GRAPH.test(q.path)).map((q) => q.status);
    expect(statuses[0]).toBe(429);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
  });

  it("passes reading at once share the identity's quota: none is throttled, every read completes", async () => {
    const herd = await startFakeArm({ dataset, resourceGraph: { quota: { queries: 12, windowMs: 1000 } } });
    try {
      const quota = new GraphQuota({ jitterMs: 20 });
      const readers = Array.from({ length: 12 }, () => new ArmReader({ credential, endpoint: herd.url, tlsCa: herd.ca, retryOptions: FAST_RETRIES, pageRows: 8, graphQuota: quota }));
      const reads = await Promise.all(readers.map((r) => collect(r.list(SUB, "attackPath"))));
      expect(reads.every((read) => read.length === 23)).toBe(true);
      const statuses = herd.requests.map((q) => q.status);
      expect(statuses.filter((x) => x === 200)).toHaveLength(36);
      expect(statuses.filter((x) => x === 429)).toEqual([]);
      expect(quota.waitedMs).toBeGreaterThan(0);
    } finally {
      await herd.close();
    }
  });

  it("a read throttled more often than allowed fails naming the page", async () => {
    limited.inject({ kind: "status", status: 429, code: "RateLimiting" }, { path: GRAPH, times: 3 });
    const r = new ArmReader({ credential, endpoint: limited.url, tlsCa: limited.ca, retryOptions: FAST_RETRIES, maxThrottledRetries: 2, graphQuota: new GraphQuota({ windowMs: 50 }) });
    const error = await collect(r.list(SUB, "attackPath")).catch((e: unknown) => e);
    expect(String(error)).toMatch(/page 1: HTTP 429 RateLimiting.*\(throttled 3 times in a row\)/);
  });
});

function post(server: FakeArmServer, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01`,
      { method: "POST", ca: server.ca, headers: { authorization: "Bearer test-token", "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}
