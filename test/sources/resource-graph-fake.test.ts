// The fake Resource Graph endpoint, through the real @azure/arm-resourcegraph client: what the Resource Graph
// reader is tested against must answer as the service does.
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { ResourceGraphClient, type QueryRequest, type QueryResponse } from "@azure/arm-resourcegraph";
import { RestError } from "@azure/core-rest-pipeline";
import { afterEach, describe, expect, it } from "vitest";
import { SyntheticDataset, type DatasetOptions } from "../../dev/fakes/arm/dataset.js";
import { startFakeArm, type FakeArmServer } from "../../dev/fakes/arm/server.js";
import type { ResourceGraphOptions } from "../../dev/fakes/arm/resource-graph.js";
import { GRAPH_TABLES } from "../../dev/fakes/arm/graph-tables.js";
import { fakeHash, leadingTypeFilter, parseKql, planKql, runKql } from "../../dev/fakes/arm/kql.js";
import { FAST_RETRIES, staticCredential } from "../helpers/arm.js";

type Row = Record<string, unknown>;
const ARG_SCOPE = "https://management.azure.com/.default";
const ATTACK_PATHS = "securityresources | where type == 'microsoft.security/attackpaths'";
// securityresources holds every Defender type: these leave only the attack paths, the assessments and the scores.
const ONLY_SCORES_BESIDE = { alerts: 0, subAssessments: 0, standards: 0 };

let fake: FakeArmServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(options: DatasetOptions = {}, graph: ResourceGraphOptions = {}, token = "test-token") {
  const dataset = new SyntheticDataset(options);
  fake = await startFakeArm({ dataset, resourceGraph: graph });
  const client = new ResourceGraphClient(staticCredential(token), { endpoint: fake.url, credentials: { scopes: [ARG_SCOPE] }, tlsOptions: { ca: fake.ca }, retryOptions: FAST_RETRIES });
  return { dataset, fake, client };
}

/** The refusal of a query: its status and the body as sent. */
async function refusal(client: ResourceGraphClient, request: QueryRequest): Promise<{ status: number | undefined; body: Row }> {
  let raw = "{}";
  const error = await client.resources(request, { onResponse: (r) => (raw = r.bodyAsText ?? "{}") }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RestError);
  return { status: (error as RestError).statusCode, body: JSON.parse(raw) as Row };
}

function details(body: Row): Row[] {
  return ((body["error"] as Row)["details"] ?? []) as Row[];
}

const rows = (r: QueryResponse) => r.data as Row[];

function example(name: string): { parameters: { query: QueryRequest & { options?: Row } }; responses: { "200": { body: Row } } } {
  return JSON.parse(readFileSync(new URL(`../fixtures/api-examples/resourcegraph/${name}.json`, import.meta.url), "utf8")) as never;
}

// The spec's examples read the Resources table, which the fake does not hold: the same request on securityresources.
function onSecurityResources(request: QueryRequest & { options?: Row }): QueryRequest {
  const { options, ...rest } = request;
  const o = options ?? {};
  return {
    ...rest,
    query: request.query.replace(/^Resources/, "securityresources").replace("contains 'test'", "contains '-'"),
    options: {
      ...(o["$top"] !== undefined ? { top: o["$top"] as number } : {}),
      ...(o["$skip"] !== undefined ? { skip: o["$skip"] as number } : {}),
      ...(o["$skipToken"] !== undefined ? { skipToken: o["$skipToken"] as string } : {}),
    },
  };
}

function shape(body: Row): Record<string, string> {
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? "array" : typeof v]));
}

describe("the spec's examples", () => {
  const SUB = "cfbbd179-59d2-4052-aa06-9270a38aa9d6";

  it("answers a first page, the next page and a random page in the spec's shape", async () => {
    const { fake, client, dataset } = await setup({ subscriptionId: SUB, attackPaths: 8, assessments: 6, ...ONLY_SCORES_BESIDE });
    for (const name of ["ResourcesFirstPageQuery", "ResourcesRandomPageQuery"]) {
      const ex = example(name);
      const page = await client.resources(onSecurityResources(ex.parameters.query));
      expect((JSON.parse(fake.requests.at(-1)!.body) as Row)["query"]).toContain("securityresources");
      expect(page.count).toBe(ex.parameters.query.options!["$top"]);
      // The paths and assessments, and the secure score controls (named by GUIDs); the score is "ascScore".
      expect(page.totalRecords).toBe(14 + dataset.secureScoreControls(true).count);
      expect(page.resultTruncated).toBe("false");
      expect(page.skipToken).toEqual(expect.any(String));
      expect(page.facets).toEqual([]);
      expect(rows(page).every((r) => Object.keys(r).join() === "id,name,type,location")).toBe(true);
    }
    // The raw answer has the spec's keys, with the spec's JSON types.
    const raw = await fetchRaw(fake, { query: onSecurityResources(example("ResourcesFirstPageQuery").parameters.query).query, subscriptions: [SUB], options: { top: 3, skip: 0 } });
    expect(shape(raw)).toEqual(shape(example("ResourcesFirstPageQuery").responses["200"].body));
    // The next page: the same query and scopes with only the token.
    const first = await client.resources(onSecurityResources(example("ResourcesFirstPageQuery").parameters.query));
    const next = await client.resources({ ...onSecurityResources(example("ResourcesNextPageQuery").parameters.query), options: { skipToken: first.skipToken! } });
    expect(next.count).toBe(3);
    expect(rows(next).map((r) => r["id"])).not.toContain(rows(first)[0]!["id"]);
  });

  it("answers the management group example with limit: no token, not truncated when all rows fit", async () => {
    const { client } = await setup({ subscriptionId: SUB });
    const ex = example("ResourcesMgBasicQuery");
    const page = await client.resources(onSecurityResources(ex.parameters.query));
    expect(page).toMatchObject({ totalRecords: 3, count: 3, resultTruncated: "false", facets: [] });
    expect(page.skipToken).toBeUndefined();
    expect(rows(page).map((r) => Object.keys(r).join())).toEqual(Array(3).fill("id,name,type,location,tags"));
  });

  it("refuses the summarize example as a query it cannot evaluate, in Resource Graph's invalid-query shape", async () => {
    const { client } = await setup({ subscriptionId: SUB });
    const { status, body } = await refusal(client, onSecurityResources(example("ResourcesPropertiesQuery").parameters.query));
    expect(status).toBe(400);
    expect((body["error"] as Row)["code"]).toBe("BadRequest");
    expect(details(body).map((d) => d["code"])).toEqual(["InvalidQuery", "InvalidQueryLanguage"]);
    expect(details(body)[1]).toMatchObject({ token: "summarize", line: -1, characterPositionInLine: -1 });
  });
});

async function fetchRaw(server: FakeArmServer, body: unknown, headers: Record<string, string> = {}): Promise<Row> {
  const client = new ResourceGraphClient(staticCredential(), { endpoint: server.url, credentials: { scopes: [ARG_SCOPE] }, tlsOptions: { ca: server.ca } });
  let raw: Row = {};
  await client.resources(body as QueryRequest, { onResponse: (r) => (raw = JSON.parse(r.bodyAsText ?? "{}") as Row), requestOptions: { headers } });
  return raw;
}

describe("queries", () => {
  it("filters with each operator, case-sensitively or not as KQL does", async () => {
    // More queries than the default quota of 15 per 5 s allows.
    const { client, dataset } = await setup({ attackPaths: 8, assessments: 6, resourceGroups: ["rg-Web", "rg-data"], ...ONLY_SCORES_BESIDE }, { quota: { queries: 100, windowMs: 5000 } });
    // Beside the paths: the assessments, the secure score and its controls.
    const others = 6 + dataset.secureScores().count + dataset.secureScoreControls(true).count;
    const q = async (where: string, project = "id") => rows(await client.resources({ query: `securityresources | where ${where} | project ${project}` })).length;
    expect(await q("type == 'microsoft.security/attackpaths'")).toBe(8);
    expect(await q("type == 'Microsoft.Security/attackPaths'")).toBe(0);
    expect(await q("type =~ 'Microsoft.Security/attackPaths'")).toBe(8);
    expect(await q("type != 'microsoft.security/attackpaths'")).toBe(others);
    expect(await q("type !~ 'Microsoft.Security/AttackPaths'")).toBe(others);
    expect(await q(`properties.riskLevel in ('Critical', "High")`)).toBe(4);
    expect(await q("properties.riskLevel in ('critical')")).toBe(0);
    expect(await q("properties.riskLevel in~ ('critical')")).toBe(2);
    expect(await q("properties.riskLevel !in ('Critical', 'High')")).toBe(4);
    expect(await q("type == 'microsoft.security/attackpaths' and (properties.riskLevel == 'Low' or properties.riskLevel == 'Medium')")).toBe(4);
    expect(await q("properties.resourceDetails.Source == 'Azure'")).toBe(6);
    expect(await q("properties.resourceDetails.source == 'Azure'")).toBe(0);
    expect(await q("resourceGroup =~ 'RG-WEB'")).toBe(3);
    expect(await q("resourceGroup == 'rg-Web' and properties.metadata.severity in ('High', 'Medium', 'Low')")).toBe(3);
    // A missing field compares false, whichever the operator.
    expect(await q("properties.nothing != 'x'")).toBe(0);
    expect(await q("properties.nothing == 'x'")).toBe(0);
    expect(await q("name contains 'A77AC'")).toBe(8);
    expect(dataset.attackPaths().count).toBe(8);
  });

  it("projects with renames, extends and orders", async () => {
    const { client } = await setup({ attackPaths: 6, assessments: 0 });
    const page = await client.resources({
      query: `securityresources\n| where type == "microsoft.security/attackpaths"\n| extend risk = properties.riskLevel\n| project id, risk, scenario = properties.displayName, properties.attackPathType\n| order by risk asc, id desc`,
    });
    const data = rows(page);
    expect(Object.keys(data[0]!)).toEqual(["id", "risk", "scenario", "properties_attackPathType"]);
    expect(data.map((r) => r["risk"])).toEqual(["Critical", "Critical", "High", "High", "Low", "Medium"]);
    expect(String(data[0]!["id"]) > String(data[1]!["id"])).toBe(true);
    // KQL orders descending unless told.
    const desc = rows(await client.resources({ query: `${ATTACK_PATHS} | order by name | project id, name` }));
    expect(desc.map((r) => r["name"])).toEqual(
      desc
        .map((r) => String(r["name"]))
        .sort()
        .reverse(),
    );
  });

  it("passes rows through exactly, or as a table", async () => {
    const { client, dataset } = await setup({ attackPaths: 2, assessments: 0 });
    expect(rows(await client.resources({ query: `${ATTACK_PATHS} | order by id asc` }))).toEqual([dataset.attackPath(0), dataset.attackPath(1)]);
    const table = await client.resources({ query: `${ATTACK_PATHS} | project id, properties | order by id asc`, options: { resultFormat: "table" } });
    expect(table.data).toEqual({
      columns: [
        { name: "id", type: "string" },
        { name: "properties", type: "object" },
      ],
      rows: [0, 1].map((i) => [dataset.attackPath(i)["id"], dataset.attackPath(i)["properties"]]),
    });
  });

  it.each([
    ["securityresources | summarize count() by type", "summarize"],
    ["securityresources | join kind=inner (securityresources) on id", "join"],
    ["securityresources | mv-expand properties.riskCategories", "mv-expand"],
    ["securityresources | where name has 'x'", "has"],
  ])("refuses an operator it does not evaluate: %s", async (query, token) => {
    const { client } = await setup();
    const { status, body } = await refusal(client, { query });
    expect(status).toBe(400);
    expect(details(body)).toEqual([expect.objectContaining({ code: "InvalidQuery" }), { code: "InvalidQueryLanguage", message: "InvalidQueryLanguage", line: -1, characterPositionInLine: -1, token }]);
  });

  it("answers a syntax error with ParserFailure at its line and position", async () => {
    const { client } = await setup();
    const eof = await refusal(client, { query: "securityresources | where" });
    expect(details(eof.body)[1]).toMatchObject({ code: "ParserFailure", line: 1, characterPositionInLine: 25, token: "<EOF>" });
    const second = await refusal(client, { query: "securityresources\n| where type == 'x' 'y'" });
    expect(details(second.body)[1]).toMatchObject({ code: "ParserFailure", line: 2, characterPositionInLine: 20, token: "'y'" });
    expect((second.body["error"] as Row)["message"]).toMatch(/^Please provide below info when asking for support: timestamp = .*, correlationId = .*\.$/);
  });
});

describe("paging", () => {
  it("gives every row exactly once across pages, with $skipToken only while more remain", async () => {
    const { client, fake } = await setup({ attackPaths: 23, assessments: 0 }, { defaultTop: 5 });
    const seen: string[] = [];
    let skipToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.resources({ query: `${ATTACK_PATHS} | project id, name | order by id asc`, options: skipToken ? { skipToken } : {} });
      expect(page).toMatchObject({ totalRecords: 23, resultTruncated: "false" });
      seen.push(...rows(page).map((r) => String(r["id"])));
      skipToken = page.skipToken;
      pages++;
    } while (skipToken !== undefined);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(23);
    expect(seen).toEqual([...seen].sort());
    // The request bodies are recorded: the SDK sends the token as $skipToken.
    expect((JSON.parse(fake.requests[1]!.body) as { options: Row }).options["$skipToken"]).toEqual(expect.any(String));
  });

  it("lets $top and $skip override the token's size and offset", async () => {
    const { client } = await setup({ attackPaths: 10, assessments: 0 }, { defaultTop: 4 });
    const query = `${ATTACK_PATHS} | project id | order by id asc`;
    const first = await client.resources({ query });
    const next = await client.resources({ query, options: { skipToken: first.skipToken!, top: 2, skip: 8 } });
    expect(next.count).toBe(2);
    expect(next.skipToken).toBeUndefined();
  });

  it("gives no token, and says truncated, when the output has no id or the query uses limit", async () => {
    const { client } = await setup({ attackPaths: 7, assessments: 0 }, { defaultTop: 3 });
    const noId = await client.resources({ query: `${ATTACK_PATHS} | project name, properties | order by name asc` });
    expect(noId).toMatchObject({ count: 3, totalRecords: 7, resultTruncated: "true" });
    expect(noId.skipToken).toBeUndefined();
    const limited = await client.resources({ query: `${ATTACK_PATHS} | project id | take 5` });
    expect(limited).toMatchObject({ count: 3, totalRecords: 5, resultTruncated: "true" });
    expect(limited.skipToken).toBeUndefined();
  });

  it("refuses a token reused with another query or scope", async () => {
    const { client, dataset } = await setup({ attackPaths: 6, assessments: 0 }, { defaultTop: 2 });
    const first = await client.resources({ query: `${ATTACK_PATHS} | project id | order by id asc` });
    const other = await refusal(client, { query: `${ATTACK_PATHS} | project id, name | order by id asc`, options: { skipToken: first.skipToken! } });
    expect(other.status).toBe(400);
    expect(details(other.body)[0]).toMatchObject({ code: "InvalidSkipToken" });
    const scoped = await refusal(client, { query: `${ATTACK_PATHS} | project id | order by id asc`, subscriptions: [dataset.subscriptionId], options: { skipToken: first.skipToken! } });
    expect(scoped.status).toBe(400);
    const garbage = await refusal(client, { query: `${ATTACK_PATHS} | project id | order by id asc`, options: { skipToken: "bm90IGEgdG9rZW4=" } });
    expect(garbage.status).toBe(400);
  });

  it("refuses a page over the response size cap with ResponsePayloadTooLarge; a smaller $top with the same token is answered", async () => {
    const { client } = await setup({ attackPaths: 4, assessments: 0, largeAttackPathEvery: 1 }, { maxResponseBytes: 250_000 });
    const first = await client.resources({ query: `${ATTACK_PATHS} | order by id asc`, options: { top: 1 } });
    expect(first.skipToken).toEqual(expect.any(String));
    const tooLarge = await refusal(client, { query: `${ATTACK_PATHS} | order by id asc`, options: { skipToken: first.skipToken!, top: 3 } });
    expect(tooLarge.status).toBe(400);
    expect(details(tooLarge.body)[0]).toMatchObject({ code: "ResponsePayloadTooLarge", message: expect.stringMatching(/^Response payload size is \d+, and has exceeded the limit of 250000/) });
    const smaller = await client.resources({ query: `${ATTACK_PATHS} | order by id asc`, options: { skipToken: first.skipToken!, top: 2 } });
    expect(smaller.count).toBe(2);
    expect(JSON.stringify(smaller.data).length).toBeLessThanOrEqual(250_000);
  });

  it("validates the request: $top from 1 to 1,000, at most 1,000 subscriptions, not both scopes", async () => {
    const { client } = await setup();
    expect((await refusal(client, { query: "securityresources", options: { top: 1001 } })).status).toBe(400);
    expect((await refusal(client, { query: "securityresources", options: { top: 0 } })).status).toBe(400);
    const many = await refusal(client, { query: "securityresources", subscriptions: Array.from({ length: 1001 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`) });
    expect(many.status).toBe(400);
    expect(details(many.body)[0]).toMatchObject({ code: "TooManySubscriptions" });
    expect((await refusal(client, { query: "securityresources", subscriptions: ["a"], managementGroups: ["b"] })).status).toBe(400);
  });
});

describe("hash partitions (paging-results.md)", () => {
  it("`where hash(tolower(id)) % N == i` splits a listing into N disjoint partitions that hold every row, the same each time", async () => {
    const { client, fake } = await setup({ attackPaths: 40, assessments: 0 }, { quota: { queries: 100, windowMs: 5000 } });
    const ids = async (where = "") => rows(await client.resources({ query: `${ATTACK_PATHS}${where} | project id | order by id asc` })).map((r) => String(r["id"]));
    const all = await ids();
    expect(all).toHaveLength(40);
    const partitions = [];
    for (let i = 0; i < 3; i++) partitions.push(await ids(` | where hash(tolower(id)) % 3 == ${i}`));
    // Each ordered by id, none empty, together every row once.
    for (const p of partitions) expect(p).toEqual([...p].sort());
    expect(partitions.every((p) => p.length > 0)).toBe(true);
    expect(partitions.flat().sort()).toEqual(all);
    expect(await ids(" | where hash(tolower(id)) % 3 == 1")).toEqual(partitions[1]);
    // The same with hash's modulo argument; a remainder that cannot be is empty.
    expect(await ids(" | where hash(tolower(id), 3) == 2")).toEqual(partitions[2]);
    expect(await ids(" | where hash(tolower(id)) % 3 == 3")).toEqual([]);
    // Paged by skip token within a partition, as any listing.
    const first = await client.resources({ query: `${ATTACK_PATHS} | where hash(tolower(id)) % 3 == 0 | project id | order by id asc`, options: { top: 5 } });
    expect(first.totalRecords).toBe(partitions[0]!.length);
    expect(first.skipToken).toEqual(expect.any(String));
    expect(fake.requests.every((r) => r.status === 200)).toBe(true);
  });

  it("works each partition out from the whole listing's kept result: the rows are made for one evaluation, not one per partition", async () => {
    const { client, dataset } = await setup({ attackPaths: 30, assessments: 0 }, { quota: { queries: 100, windowMs: 5000 } });
    // How many times each path's row is made (a patch runs each time).
    const made = new Map<number, number>();
    for (let i = 0; i < 30; i++) dataset.patches.set(`attackPath:${i}`, () => void made.set(i, (made.get(i) ?? 0) + 1));
    const listing = `${ATTACK_PATHS} | project id, name, properties | order by id asc`;
    const all = rows(await client.resources({ query: listing, options: { top: 1 } }));
    expect(all).toHaveLength(1);
    const whole = rows(await client.resources({ query: listing }));
    const of = 8;
    const partitions: Row[][] = [];
    for (let i = 0; i < of; i++) partitions.push(rows(await client.resources({ query: listing.replace(" | project", ` | where hash(tolower(id)) % ${of} == ${i} | project`) })));
    // What the query itself gives: the whole listing's rows whose id hashes to the partition, in the same order.
    for (let i = 0; i < of; i++) expect(partitions[i]).toEqual(whole.filter((r) => ((fakeHash(String(r["id"]).toLowerCase()) % of) + of) % of === i));
    expect(partitions.flat()).toHaveLength(30);
    // Made to evaluate the listing, once for the ids, and once for each page that gave it (three), whatever the count of partitions.
    expect(Math.max(...made.values())).toBeLessThanOrEqual(5);
  });

  it("its hash is not Kusto's, only a deterministic spread, negative for some ids; its `%` is Kusto's, never negative", () => {
    const hashes = Array.from({ length: 200 }, (_, i) => fakeHash(`/subscriptions/x/providers/microsoft.security/attackpaths/p${i}`));
    expect(hashes.some((h) => h < 0)).toBe(true);
    expect(new Set(hashes.map((h) => ((h % 4) + 4) % 4)).size).toBe(4);
    const columns = { t: ["id", "n"] };
    const evaluate = (where: string, values: Row[]) => runKql(parseKql(`t | where ${where} | project id`, columns), values).map((r) => r["id"]);
    // -14 % 12 is 10 in Kusto (its numerical operators page), not -2.
    expect(
      evaluate("n % 12 == 10", [
        { id: "a", n: -14 },
        { id: "b", n: 14 },
        { id: "c", n: 22 },
      ]),
    ).toEqual(["a", "c"]);
    expect(
      evaluate("n % 12 == 2", [
        { id: "b", n: 14 },
        { id: "d", n: "14" },
      ]),
    ).toEqual(["b"]);
    const negative = Array.from({ length: 200 }, (_, i) => `/subscriptions/x/p${i}`).find((id) => fakeHash(id) < 0)!;
    expect(evaluate(`hash(id) % 5 == ${((fakeHash(negative) % 5) + 5) % 5}`, [{ id: negative }])).toEqual([negative]);
    expect(() => parseKql("t | where hash(id, 2, 3) == 1", columns)).toThrow(/ParserFailure/);
    expect(() => parseKql("t | where n + 1 == 2", columns)).toThrow(/InvalidQueryLanguage: \+/);
  });
});

describe("scopes", () => {
  it("limits the rows to the subscriptions asked for, and refuses a scope with none readable", async () => {
    const a = new SyntheticDataset({ attackPaths: 3, assessments: 0 });
    const b = new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000002", attackPaths: 2, assessments: 0 });
    fake = await startFakeArm({ dataset: a, resourceGraph: { datasets: [a, b], managementGroups: { "mg-prod": [b.subscriptionId] } } });
    const client = new ResourceGraphClient(staticCredential(), { endpoint: fake.url, credentials: { scopes: [ARG_SCOPE] }, tlsOptions: { ca: fake.ca } });
    const count = async (scope: Partial<QueryRequest>) => (await client.resources({ query: `${ATTACK_PATHS} | project id, subscriptionId`, ...scope })).totalRecords;
    expect(await count({})).toBe(5);
    expect(await count({ subscriptions: [a.subscriptionId] })).toBe(3);
    expect(await count({ subscriptions: [b.subscriptionId.toUpperCase(), "11111111-0000-4000-8000-000000000000"] })).toBe(2);
    expect(await count({ managementGroups: ["mg-prod"] })).toBe(2);
    expect((await refusal(client, { query: ATTACK_PATHS, subscriptions: ["11111111-0000-4000-8000-000000000000"] })).status).toBe(403);
  });
});

describe("throttling and faults", () => {
  it("counts the quota down in every answer and refuses with RateLimiting, without Retry-After, when spent", async () => {
    const { fake } = await setup({}, { quota: { queries: 3, windowMs: 60_000 } });
    const client = new ResourceGraphClient(staticCredential(), { endpoint: fake.url, credentials: { scopes: [ARG_SCOPE] }, tlsOptions: { ca: fake.ca }, retryOptions: FAST_RETRIES });
    const seen: { remaining: string | undefined; resets: string | undefined; retryAfter: string | undefined; status: number }[] = [];
    const onResponse = (r: { status: number; headers: { get(name: string): string | undefined } }) =>
      seen.push({ remaining: r.headers.get("x-ms-user-quota-remaining"), resets: r.headers.get("x-ms-user-quota-resets-after"), retryAfter: r.headers.get("retry-after"), status: r.status });
    for (let i = 0; i < 3; i++) await client.resources({ query: "securityresources | project id" }, { onResponse });
    let raw = "{}";
    const error = await client.resources({ query: "securityresources | project id" }, { onResponse: (r) => (onResponse(r), (raw = r.bodyAsText ?? "")) }).catch((e: unknown) => e);
    const status = (error as RestError).statusCode;
    const body = JSON.parse(raw) as Row;
    expect(seen.map((s) => s.remaining)).toEqual(["2", "1", "0", "0"]);
    expect(seen.every((s) => /^00:0[01]:\d\d$/.test(s.resets ?? ""))).toBe(true);
    expect(status).toBe(429);
    expect(seen[3]).toMatchObject({ status: 429, retryAfter: undefined });
    expect((body["error"] as Row)["code"]).toBe("RateLimiting");
    expect(details(body)[0]).toMatchObject({ code: "RateLimiting" });
    // Not retried by the SDK: one request for the refused query.
    expect(fake.requests).toHaveLength(4);
    // Another caller has its own quota.
    const other = new ResourceGraphClient(staticCredential("other-token"), { endpoint: fake.url, credentials: { scopes: [ARG_SCOPE] }, tlsOptions: { ca: fake.ca } });
    expect((await other.resources({ query: "securityresources | project id" })).count).toBeGreaterThan(0);
  });

  it("applies injected faults to the Resource Graph path as to the others", async () => {
    const { fake, client } = await setup({ attackPaths: 2 });
    fake.inject({ kind: "status", status: 429, retryAfter: 0 }, { path: /ResourceGraph/ });
    fake.inject({ kind: "status", status: 503 }, { path: /ResourceGraph/ });
    fake.inject({ kind: "reset" }, { path: /ResourceGraph/ });
    const page = await client.resources({ query: ATTACK_PATHS });
    expect(page.count).toBeGreaterThan(0);
    expect(fake.requests.map((r) => r.fault ?? r.status)).toEqual(["status", "status", "reset", 200]);
    fake.inject({ kind: "status", status: 500 }, { path: /ResourceGraph/, times: 10 });
    expect((await refusal(client, { query: ATTACK_PATHS })).status).toBe(500);
  });

  it("answers 400 for a missing or unknown api-version and 500 for a content type other than JSON, as documented", async () => {
    const { fake } = await setup();
    const post = (query: string, contentType = "application/json") =>
      fetchStatus(fake, `/providers/Microsoft.ResourceGraph/resources${query}`, contentType, JSON.stringify({ query: "securityresources" }));
    expect(await post("")).toBe(400);
    expect(await post("?api-version=2018-09-01-preview")).toBe(400);
    expect(await post("?api-version=2024-04-01")).toBe(200);
    expect(await post("?api-version=2024-04-01", "text/plain")).toBe(500);
  });
});

async function fetchStatus(server: FakeArmServer, path: string, contentType: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method: "POST", ca: server.ca, headers: { authorization: "Bearer t", "content-type": contentType } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("attack paths", () => {
  it("have the documented fields, a graph over the dataset's resources, and are the same on every call", async () => {
    const { client, dataset } = await setup({ attackPaths: 4, resourceGroups: ["rg-web", "rg-sec"] });
    const data = rows(await client.resources({ query: `${ATTACK_PATHS} | order by id asc` }));
    expect(data).toHaveLength(4);
    const p = data[0]!;
    expect(p).toMatchObject({ type: "microsoft.security/attackpaths", location: "", resourceGroup: "", subscriptionId: dataset.subscriptionId, tenantId: dataset.tenantId });
    expect(p["id"]).toBe(`/subscriptions/${dataset.subscriptionId}/providers/Microsoft.Security/attackPaths/${String(p["name"])}`);
    expect(p["name"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    const props = p["properties"] as Row;
    for (const key of ["displayName", "description", "attackPathType", "riskLevel", "potentialImpact", "attackStory", "refreshInterval", "entryPointEntityInternalID", "targetEntityInternalID"]) {
      expect(typeof props[key], key).toBe("string");
    }
    for (const key of ["riskFactors", "riskCategories", "mITRETacticsAndTechniques", "manualRemediationSteps"]) expect(Array.isArray(props[key]), key).toBe(true);
    expect(data.map((d) => (d["properties"] as Row)["riskLevel"])).toEqual(["Critical", "High", "Medium", "Low"]);
    const graph = props["graphComponent"] as { entities: Row[]; connections: Row[]; insights: Row[] };
    const entityIds = graph.entities.map((e) => e["entityInternalId"]);
    expect(entityIds).toContain(props["entryPointEntityInternalID"]);
    expect(entityIds).toContain(props["targetEntityInternalID"]);
    expect(graph.connections.every((c) => entityIds.includes(c["sourceEntityInternalId"]) && entityIds.includes(c["targetEntityInternalId"]) && typeof c["title"] === "string")).toBe(true);
    expect(graph.entities.map((e) => e["entityType"])).toEqual(["internet", "virtualmachine", "managedidentity", "keyvault"]);
    const vm = (graph.entities[1]!["entityIdentifiers"] as Row)["azureResourceId"];
    expect(vm).toBe(`/subscriptions/${dataset.subscriptionId}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm0`);
    expect(String(props["description"])).toContain("'vm0'");
    const assessments = props["assessments"] as Record<string, Row[]>;
    const firstKey = Object.keys(assessments[String(props["entryPointEntityInternalID"])]![0]!)[0]!;
    expect(firstKey).toMatch(new RegExp(`^${String(vm)}/providers/Microsoft\\.Security/assessments/[0-9a-f-]{36}$`));
    expect(rows(await client.resources({ query: `${ATTACK_PATHS} | order by id asc` }))).toEqual(data);
    // Storage paths carry a sensitivity insight with file samples.
    const storage = (data[1]!["properties"] as { graphComponent: { insights: Row[] } }).graphComponent.insights.find((i) => (i["additionalData"] as Row)["type"] === "Sensitivity");
    expect(((storage!["additionalData"] as Row)["fileSamples"] as Row[])[0]).toMatchObject({ path: expect.any(String), classificationNames: expect.any(Array) });
  });

  it("grow over 32 KB every Nth path and over 1 MB at the indexes asked for; lowering the size removes the last", () => {
    const dataset = new SyntheticDataset({ attackPaths: 6, largeAttackPathEvery: 3, hugeAttackPaths: [4] });
    const sizes = Array.from({ length: 6 }, (_, i) => JSON.stringify(dataset.attackPath(i)).length);
    expect(sizes.map((s) => (s > 1024 * 1024 ? "huge" : s > 32 * 1024 ? "large" : "normal"))).toEqual(["normal", "normal", "large", "normal", "huge", "large"]);
    expect(sizes[0]).toBeLessThan(16 * 1024);
    dataset.sizes.attackPaths = 2;
    expect(dataset.attackPaths().count).toBe(2);
    dataset.patches.set("attackPath:1", (r) => ((r["properties"] as Row)["riskLevel"] = "Low"));
    expect((dataset.attackPath(1)["properties"] as Row)["riskLevel"]).toBe("Low");
  });
});

describe("the sandbox", () => {
  it("serves five attack paths, one over 32 KB, and drifts: one appears, the oldest goes, a risk level flips", async () => {
    const { startSandbox } = await import("../../dev/local-host/sandbox.js");
    const sandbox = await startSandbox({ driftSeconds: 0.05 });
    try {
      const paths = () => Array.from({ length: sandbox.dataset.attackPaths().count }, (_, j) => sandbox.dataset.attackPaths().at(j));
      const before = paths();
      expect(before).toHaveLength(5);
      expect(before.filter((p) => JSON.stringify(p).length > 32 * 1024)).toHaveLength(1);
      while (sandbox.dataset.sizes.attackPaths === 5) await new Promise((r) => setTimeout(r, 10));
      const after = paths();
      expect(after.map((p) => p["name"])).not.toContain(before[0]!["name"]);
      expect(after.some((p) => !before.some((b) => b["name"] === p["name"]))).toBe(true);
      const flipped = after.find((p) => p["name"] === before[4]!["name"])!;
      expect((flipped["properties"] as Row)["riskLevel"]).toBe("Low");
    } finally {
      await sandbox.close();
    }
  });
});

describe("the evaluation that keeps positions, not rows", () => {
  const QUERIES = [
    "securityresources",
    "securityresources | where type == 'microsoft.security/assessments'",
    "securityresources | where type == 'microsoft.security/assessments' and resourceGroup =~ 'MYRG2' | project id, name | order by id asc",
    "securityresources | where type == 'microsoft.security/locations/alerts' or type == 'microsoft.security/securescores' | order by name desc, id asc",
    "securityresources | extend t = tolower(type) | where t contains 'sub' | project id, t | order by t asc | take 7",
    "securityresources | project id, sev = properties.status.severity | where sev == 'High' | sort by id desc nulls first | limit 3",
    "securityresources | order by type asc | where type != 'microsoft.security/attackpaths' | take 20 | project id, type",
    "securityresources | where type == 'Microsoft.Security/assessments'",
    "securityresources | where type == 'microsoft.security/assessments' | where hash(tolower(id)) % 3 == 1 | project id | order by id asc",
  ];

  it("gives what evaluating every row gives, row for row and in order", () => {
    const datasets = [new SyntheticDataset({ alerts: 9, assessments: 11, subAssessments: 13, attackPaths: 3 }), new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000002" })];
    const all = datasets.flatMap((d) => GRAPH_TABLES["securityresources"]!.flatMap((source) => Array.from({ length: source.rows(d).count }, (_, i) => source.rows(d).at(i))));
    const columns = { securityresources: Object.keys(all[0]!) };
    for (const text of QUERIES) {
      const query = parseKql(text, columns);
      const lazy = planKql(query, all.length, (i) => structuredClone(all[i]!));
      expect(
        Array.from({ length: lazy.length }, (_, i) => lazy.at(i)),
        text,
      ).toEqual(runKql(query, all));
    }
  });

  it("names the type a leading where keeps, and none otherwise", () => {
    const columns = { securityresources: ["id", "type", "name"] };
    const typeOf = (text: string) => leadingTypeFilter(parseKql(text, columns));
    expect(typeOf("securityresources | where type == 'a/b' and name == 'x'")).toBe("a/b");
    expect(typeOf("securityresources | where 'a/b' == type")).toBe("a/b");
    expect(typeOf("securityresources | where type == 'a/b' or name == 'x'")).toBeUndefined();
    // =~ ignores case: the (lower-case) sources' type, as the reader asks for it.
    expect(typeOf("securityresources | where type =~ 'A/b'")).toBe("a/b");
    expect(typeOf("securityresources | where type !~ 'a/b'")).toBeUndefined();
    expect(typeOf("securityresources | extend type = name | where type == 'a/b'")).toBeUndefined();
  });

  it("answers from a kept result only while the data is unchanged", async () => {
    const { dataset, client } = await setup({ alerts: 3 });
    const count = async () => (await client.resources({ query: "securityresources | where type == 'microsoft.security/locations/alerts' | project id | order by id asc" })).totalRecords;
    expect(await count()).toBe(3);
    dataset.sizes.alerts = 5;
    expect(await count()).toBe(5);
    dataset.patches.set("alert:0", (r) => void ((r["properties"] as Row)["status"] = "Resolved"));
    const status = async () =>
      rows(await client.resources({ query: "securityresources | where type == 'microsoft.security/locations/alerts' | where properties.Status == 'Resolved' | project id" })).length;
    expect(await status()).toBe(1);
    dataset.patches.delete("alert:0");
    expect(await status()).toBe(0);
  });
});

describe("the list routes", () => {
  it("serve each subscription of the tenant from its own dataset, and none other", async () => {
    const a = new SyntheticDataset({ alerts: 2 });
    const b = new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000002", alerts: 5 });
    fake = await startFakeArm({ dataset: a, resourceGraph: { datasets: [a, b] } });
    const get = (sub: string) =>
      new Promise<{ status: number; body: Row }>((resolve, reject) => {
        request(`${fake!.url}/subscriptions/${sub}/providers/Microsoft.Security/alerts?api-version=2022-01-01`, { ca: fake!.ca, headers: { authorization: "Bearer t" } }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Row }));
        })
          .on("error", reject)
          .end();
      });
    expect(((await get(a.subscriptionId)).body["value"] as Row[]).length).toBe(2);
    const second = await get(b.subscriptionId.toUpperCase());
    expect((second.body["value"] as Row[]).map((r) => String(r["id"]).split("/")[2])).toEqual(Array(5).fill(b.subscriptionId));
    expect((await get("00000000-0000-0000-0000-000000000000")).status).toBe(404);
    expect(fake.requests.every((r) => typeof r.at === "number")).toBe(true);
  });

  it("give each subscription's secure score and controls ids of its own, as Azure does (a listing's ids never repeat)", () => {
    const a = new SyntheticDataset();
    const b = new SyntheticDataset({ subscriptionId: "6a1c2b3d-0000-4000-8000-000000000002" });
    for (const d of [a, b]) {
      const ids = [d.secureScores(), d.secureScoreControls(true)].flatMap((c) => Array.from({ length: c.count }, (_, i) => String(c.at(i)["id"])));
      expect(ids.length).toBeGreaterThan(1);
      expect(ids.every((id) => id.startsWith(`${d.subscriptionPath}/providers/Microsoft.Security/secureScores/`))).toBe(true);
    }
  });
});
