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

const reader = (options: { pageRows?: number; maxThrottledRetries?: number; partitionRows?: number } = {}) =>
  new ArmReader({ credential, endpoint: fake.url, tlsCa: fake.ca, retryOptions: FAST_RETRIES, ...options });
const graphRequests = () => fake.requests.filter((r) => GRAPH.test(r.path));
const expected = () => Array.from({ length: dataset.sizes.attackPaths }, (_, i) => dataset.attackPath(i)).sort((a, b) => String(a["id"]).localeCompare(String(b["id"])));

describe("the Resource Graph reader", () => {
  it("reads every attack path of the subscription, page by page by skip token, exactly as Resource Graph returns them", async () => {
    fake.requests.length = 0;
    const r = reader({ pageRows: 5 });
    const read = await collect(r.list(SUB, "attackPath"));
    expect(read.map((x) => x.record)).toEqual(expected());
    // Read whole (23 rows, under the partition threshold): every record goes on from the listing's start.
    expect(read.every((x) => x.dataType === "attackPath" && x.scope === SUB)).toBe(true);
    expect(new Set(read.map((x) => JSON.stringify(x.cursor)))).toEqual(new Set([JSON.stringify({ graph: { request: 0, partition: 0, of: 1 } })]));
    expect(r.incompleteRead(SUB, "attackPath")).toBeUndefined();
    const requests = graphRequests();
    expect(requests).toHaveLength(5);
    expect(r.stats).toMatchObject({ requests: 5, pages: 5, quotaWaitMs: 0 });
    expect(r.stats.records.attackPath).toBe(23);
    const bodies = requests.map((q) => JSON.parse(q.body) as { query: string; subscriptions: string[]; options: Record<string, unknown> });
    expect(bodies[0]).toEqual({
      query: expect.stringMatching(/^securityresources \| where type =~ 'microsoft\.security\/attackpaths' \| project id, .* \| order by id asc$/),
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

describe("a management group over Resource Graph's subscription limit", () => {
  it("an answer for part of the group (x-ms-tenant-subscription-limit-hit) fails the read, naming the limit, instead of taking the rest for gone", async () => {
    const datasets = Array.from({ length: 3 }, (_, i) => new SyntheticDataset({ subscriptionId: `6a1c2b3d-0000-4000-8000-00000000002${i}`, attackPaths: 1 }));
    const server = await startFakeArm({ dataset: datasets[0]!, resourceGraph: { datasets, managementGroups: { big: datasets.map((d) => d.subscriptionId) }, subscriptionLimit: 2 } });
    try {
      const r = new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES });
      const unit = managementGroupUnit("/providers/Microsoft.Management/managementGroups/big", 0, 1);
      await expect(r.subscriptionsOf(unit)).rejects.toThrow(/answered for only part of the scope's subscriptions \(x-ms-tenant-subscription-limit-hit/);
      // Named subscriptions (a unit's reads) are not capped.
      expect(await collect(r.list("/subscriptions/" + datasets[2]!.subscriptionId, "attackPath"))).toHaveLength(1);
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
  /** A read of 30 paths (31 with `hidden` among them, resolved at first) in pages of 10, `change` made after 5 records. */
  const shifting = async (change: (d: SyntheticDataset, sorted: number[]) => void, hidden = false) => {
    const d = new SyntheticDataset({ attackPaths: hidden ? 31 : 30 });
    // The paths' indexes in id order: what a page at an offset holds.
    const sorted = Array.from({ length: d.sizes.attackPaths }, (_, i) => i).sort((a, b) => String(d.attackPath(a)["id"]).localeCompare(String(d.attackPath(b)["id"])));
    if (hidden) d.resolvedAttackPaths.add(sorted[0]!);
    const server = await startFakeArm({ dataset: d });
    try {
      const r = new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES, pageRows: 10 });
      const seen: string[] = [];
      for await (const item of r.list(SUB, "attackPath")) {
        seen.push(String(item.record["id"]));
        if (seen.length === 5) change(d, sorted);
      }
      return { seen, idOf: (i: number) => String(d.attackPath(i)["id"]), sorted, incomplete: r.incompleteRead(SUB, "attackPath") };
    } finally {
      await server.close();
    }
  };

  it("a path resolved before the offset shifts the next page past a live path: the read goes on and says it is incomplete", async () => {
    // The first path in id order goes: page 2 starts one row later than it would have, and the 11th is never given.
    const { seen, idOf, sorted, incomplete } = await shifting((d, order) => d.resolvedAttackPaths.add(order[0]!));
    expect(seen).toHaveLength(29);
    expect(seen).not.toContain(idOf(sorted[10]!));
    expect(incomplete).toBe("the listing of attackPath moved while it was read (page 2: the listing held 30 rows at page 1, 29 at page 2): removals wait for a complete read");
  });

  it("a path appearing before the offset would repeat a row: the repeat is left out, and the read says it is incomplete", async () => {
    const { seen, idOf, sorted, incomplete } = await shifting((d, order) => d.resolvedAttackPaths.delete(order[0]!), true);
    // Page 2 repeats page 1's last row: given once. The new path, before the offset, waits for the next read (the
    // listing ends a row short of its count: a third sign).
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(30);
    expect(seen).not.toContain(idOf(sorted[0]!));
    expect(incomplete).toBe("the listing of attackPath moved while it was read (page 2: the listing held 30 rows at page 1, 31 at page 2, and 2 more signs of it): removals wait for a complete read");
  });

  it("a listing that ends short of its totalRecords goes on and says it is incomplete; an empty page with a token fails", async () => {
    const page = (data: unknown[], total: number, token?: string) => ({ totalRecords: total, count: data.length, resultTruncated: "false", data, facets: [], ...(token ? { $skipToken: token } : {}) });
    fake.inject({ kind: "body", body: page([dataset.attackPath(0), dataset.attackPath(1)], 1000) }, { path: GRAPH, times: 1 });
    const r = reader();
    expect(await collect(r.list(SUB, "attackPath"))).toHaveLength(2);
    expect(r.incompleteRead(SUB, "attackPath")).toBe("the listing of attackPath moved while it was read (page 1: the listing said 1000 rows and gave 2): removals wait for a complete read");
    // The reader's next read of it is complete again.
    expect(await collect(r.list(SUB, "attackPath"))).toHaveLength(23);
    expect(r.incompleteRead(SUB, "attackPath")).toBeUndefined();
    fake.inject({ kind: "body", body: page([], 5, "t1") }, { path: GRAPH, times: 1 });
    expect(String(await collect(reader().list(SUB, "attackPath")).catch((e: unknown) => e))).toMatch(/page 1: an empty page with a skip token/);
  });

  it("a management group's member listing that moves still fails: who is in a unit is not guessed", async () => {
    const a = new SyntheticDataset({ attackPaths: 2 });
    const others = Array.from({ length: 4 }, (_, i) => new SyntheticDataset({ subscriptionId: `6a1c2b3d-0000-4000-8000-00000000001${i}`, attackPaths: 1 }));
    const groups = { "mg-security": [a, ...others].map((d) => d.subscriptionId) };
    const server = await startFakeArm({ dataset: a, resourceGraph: { datasets: [a, ...others], managementGroups: groups, defaultTop: 2 } });
    try {
      const r = new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES, pageRows: 2 });
      const row = (d: SyntheticDataset) => ({ id: `/subscriptions/${d.subscriptionId}`, subscriptionId: d.subscriptionId });
      const page = (total: number, data: unknown[], token?: string) => ({
        totalRecords: total,
        count: data.length,
        resultTruncated: "false",
        data,
        facets: [],
        ...(token ? { $skipToken: token } : {}),
      });
      server.inject({ kind: "body", body: page(4, [row(a), row(others[0]!)], "t") }, { path: GRAPH, times: 1 });
      server.inject({ kind: "body", body: page(5, [row(others[1]!), row(others[2]!)]) }, { path: GRAPH, times: 1 });
      const unit = managementGroupUnit("/providers/Microsoft.Management/managementGroups/mg-security", 0, 1);
      expect(String(await collect(r.list(unit, "attackPath", undefined, "resourceGraph")).catch((e: unknown) => e))).toMatch(
        /reading subscriptions at .*, page 2: the result changed while it was read \(4 rows when the listing began, 5 now\)/,
      );
    } finally {
      await server.close();
    }
  });
});

describe("a listing over the partition threshold", () => {
  const query = (q: { body: string }) => JSON.parse(q.body) as { query: string; subscriptions?: string[]; options: Record<string, unknown> };
  const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a["id"]).localeCompare(String(b["id"]));

  it("is read as hash partitions (`hash(tolower(id)) % N == i`), its first page dropped: every record once, each with its partition as cursor", async () => {
    fake.requests.length = 0;
    const r = reader({ pageRows: 5, partitionRows: 10 });
    const read = await collect(r.list(SUB, "attackPath"));
    // 23 rows over 10: ceil(23 / 10) = 3 partitions.
    expect(read.map((x) => x.record).sort(byId)).toEqual(expected());
    expect(new Set(read.map((x) => x.record["id"])).size).toBe(23);
    const bodies = graphRequests().map(query);
    expect(bodies[0]!.query).not.toMatch(/hash\(/);
    expect(bodies[0]!.options["$skipToken"]).toBeUndefined();
    const partitioned = bodies.slice(1);
    const partitionOf = (b: { query: string }) => /\| where hash\(tolower\(id\)\) % 3 == (\d) \| project /.exec(b.query)?.[1];
    expect(partitioned.map(partitionOf).every((p) => p !== undefined)).toBe(true);
    // One after the other, each from its first page, paged by skip token.
    const starts = partitioned.flatMap((b, i) => (b.options["$skipToken"] === undefined ? [[i, partitionOf(b)]] : []));
    expect(starts.map(([, p]) => p)).toEqual(["0", "1", "2"]);
    expect(r.stats.pages).toBe(bodies.length);
    expect(r.stats.records.attackPath).toBe(23);
    // Each record's cursor names its partition; within a partition, in id order.
    for (let p = 0; p < 3; p++) {
      const of = read.filter((x) => JSON.stringify(x.cursor) === JSON.stringify({ graph: { request: 0, partition: p, of: 3 } }));
      expect(of.length, `partition ${p}`).toBeGreaterThan(0);
      expect(of.map((x) => x.record)).toEqual([...of.map((x) => x.record)].sort(byId));
    }
    expect(read.filter((x) => (x.cursor as { graph: { of: number } }).graph.of === 3)).toHaveLength(23);
    expect(r.incompleteRead(SUB, "attackPath")).toBeUndefined();
    // A first page that holds every row is not thrown away, whatever the count.
    fake.requests.length = 0;
    const whole = await collect(reader({ partitionRows: 10 }).list(SUB, "attackPath"));
    expect(whole.map((x) => x.record)).toEqual(expected());
    expect(graphRequests()).toHaveLength(1);
  });

  it("goes on from a cursor's partition, read again from its first page, and the partitions after it; another kind of cursor reads everything", async () => {
    const all = await collect(reader({ pageRows: 5, partitionRows: 10 }).list(SUB, "attackPath"));
    const partitionOf = (x: { cursor?: unknown }) => (x.cursor as { graph: { partition: number } }).graph.partition;
    fake.requests.length = 0;
    const resumed = await collect(reader({ pageRows: 5, partitionRows: 10 }).list(SUB, "attackPath", { graph: { request: 0, partition: 1, of: 3 } }));
    expect(resumed.map((x) => x.record["id"])).toEqual(all.filter((x) => partitionOf(x) >= 1).map((x) => x.record["id"]));
    const bodies = graphRequests().map(query);
    // No whole-listing query first: the count of partitions is the cursor's.
    expect(bodies[0]!.query).toMatch(/\| where hash\(tolower\(id\)\) % 3 == 1 \|/);
    expect(bodies[0]!.options["$skipToken"]).toBeUndefined();
    expect(bodies.every((b) => !/% 3 == 0/.test(b.query))).toBe(true);
    // A listing read whole goes on from its start; a list's cursor is not Resource Graph's.
    expect(await collect(reader({ pageRows: 5 }).list(SUB, "attackPath", { graph: { request: 0, partition: 0, of: 1 } }))).toHaveLength(23);
    expect(await collect(reader({ pageRows: 5 }).list(SUB, "attackPath", { url: "https://example.invalid/next", index: 3 }))).toHaveLength(23);
    // A cursor that names a query the scope does not have reads everything too (rather than nothing).
    expect(await collect(reader({ pageRows: 5 }).list(SUB, "attackPath", { graph: { request: 4, partition: 0, of: 1 } }))).toHaveLength(23);
  });

  it("a partition that moves while it is read: the other partitions are read as they are, the read says which moved", async () => {
    const d = new SyntheticDataset({ attackPaths: 30 });
    const server = await startFakeArm({ dataset: d });
    try {
      const r = new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES, pageRows: 4, partitionRows: 12 });
      const seen: { id: string; partition: number }[] = [];
      for await (const item of r.list(SUB, "attackPath")) {
        const partition = (item.cursor as { graph: { partition: number } }).graph.partition;
        // After two records of the second partition, the first of them goes: its next page starts a row late.
        if (partition === 1 && seen.filter((s) => s.partition === 1).length === 2) d.resolvedAttackPaths.add(indexOf(d, seen.find((s) => s.partition === 1)!.id));
        seen.push({ id: String(item.record["id"]), partition });
      }
      expect(new Set(seen.map((s) => s.id)).size).toBe(seen.length);
      expect(r.incompleteRead(SUB, "attackPath")).toMatch(
        /^the listing of attackPath moved while it was read \(partition 2 of 3, page 2: the listing held \d+ rows at page 1, \d+ at page 2\): removals wait for a complete read$/,
      );
    } finally {
      await server.close();
    }
  });
});

describe("a management group unit read in batches of subscriptions", () => {
  it("goes on from the batch and partition a stopped read was in while the unit's subscriptions are the same, and reads them all again when they are not", async () => {
    const all = [0, 1, 2].map((i) => new SyntheticDataset({ subscriptionId: `6a1c2b3d-0000-4000-8000-00000000002${i}`, attackPaths: 5 }));
    const groups: Record<string, string[]> = { "mg-security": all.map((d) => d.subscriptionId) };
    const server = await startFakeArm({ dataset: all[0]!, resourceGraph: { datasets: all, managementGroups: groups, quota: { queries: 1000, windowMs: 1000 } } });
    try {
      // One subscription a query, and a listing over 3 rows split in two: each batch's 5 paths are 2 partitions.
      const r = () => new ArmReader({ credential, endpoint: server.url, tlsCa: server.ca, retryOptions: FAST_RETRIES, subscriptionsPerQuery: 1, pageRows: 2, partitionRows: 3 });
      const unit = managementGroupUnit("/providers/Microsoft.Management/managementGroups/mg-security", 0, 1);
      // The listings asked since the last call, by their first pages: the subscription and the partition ("whole": none).
      const listings = () =>
        server.requests
          .splice(0)
          .map((q) => JSON.parse(q.body) as { query: string; subscriptions?: string[]; options: Record<string, unknown> })
          .filter((b) => b.query.startsWith("securityresources") && b.options["$skipToken"] === undefined)
          .map((b) => `${b.subscriptions!.join()} ${/% 2 == (\d)/.exec(b.query)?.[1] ?? "whole"}`);
      const sorted = all.map((d) => d.subscriptionId).sort();
      server.requests.length = 0;
      const read = await collect(r().list(unit, "attackPath", undefined, "resourceGraph"));
      expect(read).toHaveLength(15);
      expect(listings()).toEqual(sorted.flatMap((s) => [`${s} whole`, `${s} 0`, `${s} 1`]));
      const cursors = [...new Set(read.map((x) => JSON.stringify(x.cursor)))].map((c) => JSON.parse(c) as { graph: { request: number; partition: number; of: number; members: string } });
      expect(cursors.map((c) => [c.graph.request, c.graph.partition, c.graph.of])).toEqual([
        [0, 0, 2],
        [0, 1, 2],
        [1, 0, 2],
        [1, 1, 2],
        [2, 0, 2],
        [2, 1, 2],
      ]);
      expect(new Set(cursors.map((c) => c.graph.members)).size).toBe(1);
      // Stopped in the second batch's second partition: that partition again, then the third batch.
      const from = cursors[3]!;
      const resumed = await collect(r().list(unit, "attackPath", from, "resourceGraph"));
      expect(listings()).toEqual([`${sorted[1]} 1`, `${sorted[2]} whole`, `${sorted[2]} 0`, `${sorted[2]} 1`]);
      expect(resumed.map((x) => x.record["id"])).toEqual(read.filter((x) => JSON.stringify(x.cursor) >= JSON.stringify(from)).map((x) => x.record["id"]));
      // A subscription leaves: the batches are not those the cursor counted, so the unit is read again from its start.
      groups["mg-security"] = all.slice(0, 2).map((d) => d.subscriptionId);
      const again = await collect(r().list(unit, "attackPath", from, "resourceGraph"));
      expect(again).toHaveLength(10);
      expect(listings()[0]).toBe(`${[...groups["mg-security"]].sort()[0]} whole`);
    } finally {
      await server.close();
    }
  });
});

/** A synthetic attack path's index, by its id. */
function indexOf(d: SyntheticDataset, id: string): number {
  return Array.from({ length: d.sizes.attackPaths }, (_, i) => i).find((i) => d.attackPath(i)["id"] === id)!;
}

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
