import { afterEach, describe, expect, it } from "vitest";
import { ArmReadError, armTokenScope } from "../../src/sources/arm.js";
import { ArmReader, groupScopes } from "../../src/sources/reader.js";
import { armFixture, collect, FAST_RETRIES } from "../helpers/arm.js";

type Fixture = Awaited<ReturnType<typeof armFixture>>;
let fixture: Fixture | undefined;
async function setup(options: Parameters<typeof armFixture>[0] = {}): Promise<Fixture> {
  fixture = await armFixture(options);
  return fixture;
}
afterEach(async () => {
  await fixture?.fake.close();
  fixture = undefined;
});

const ids = (items: { record: Record<string, unknown> }[]) => items.map((i) => String(i.record["id"]));

describe("paging", () => {
  it("reads every record across many pages, one request per page, in the wire shape", async () => {
    const { dataset, fake, reader, subscription } = await setup({ alerts: 250, pageSize: 7 });
    const r = reader();
    const items = await collect(r.alerts(subscription));
    expect(items).toHaveLength(250);
    // The wire shape: exactly what the service sent (properties not flattened, dates as strings, every field).
    expect(items.map((i) => i.record)).toEqual(Array.from({ length: 250 }, (_, i) => dataset.alert(i)));
    expect(typeof (items[0]!.record["properties"] as Record<string, unknown>)["timeGeneratedUtc"]).toBe("string");
    expect((items[0]!.record["properties"] as Record<string, unknown>)["supportingEvidence"]).toBeDefined();
    expect(fake.requests).toHaveLength(Math.ceil(250 / 7));
    expect(r.stats).toMatchObject({ requests: 36, pages: 36, records: { alert: 250 } });
    expect(fake.requests.every((q) => q.authorization === "Bearer test-token" && q.query["api-version"] === "2021-11-01")).toBe(true);
  });

  it("keeps fields the SDK's models do not know", async () => {
    const { fake, reader, subscription } = await setup({ assessments: 1 });
    const extra = {
      id: `${subscription}/providers/Microsoft.Security/assessments/x`,
      name: "x",
      type: "Microsoft.Security/assessments",
      properties: { risk: { level: "High", attackPathsReferences: ["a"] }, status: { code: "Unhealthy", firstEvaluationDate: "2026-01-02T03:04:05.678Z" } },
    };
    fake.inject({ kind: "body", body: { value: [extra] } }, { path: /\/assessments\?/ });
    const [item] = await collect(reader().assessments(subscription, new (await import("../../src/records/metadata.js")).AssessmentMetadataIndex()));
    expect(item!.record).toEqual(extra);
  });

  it("stays flat: the reader holds one page at a time", async () => {
    const { fake, reader, subscription } = await setup({ subAssessments: 50, pageSize: 10 });
    const iterator = reader().subAssessments(subscription)[Symbol.asyncIterator]();
    await iterator.next();
    // One record consumed: only the first page was fetched.
    expect(fake.requests).toHaveLength(1);
    for (let i = 0; i < 10; i++) await iterator.next();
    expect(fake.requests).toHaveLength(2);
    await iterator.return?.(undefined);
  });
});

describe("throttling and faults", () => {
  it("honours Retry-After on 429 and 503", async () => {
    const { fake, reader, subscription } = await setup({ alerts: 3 });
    fake.inject({ kind: "status", status: 429, retryAfter: 1 }, { path: /alerts/ });
    fake.inject({ kind: "status", status: 503, retryAfter: 1 }, { path: /alerts/ });
    const started = Date.now();
    const r = reader();
    const items = await collect(r.alerts(subscription));
    expect(items).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(fake.requests.map((q) => q.status)).toEqual([429, 503, 200]);
    expect(r.stats.requests).toBe(3);
    expect(r.stats.pages).toBe(1);
  });

  it("recovers from 500s, reset connections and slow pages", async () => {
    const { fake, reader, subscription } = await setup({ alerts: 20, pageSize: 5 });
    fake.inject({ kind: "status", status: 500 }, { path: /skipToken=5/ });
    fake.inject({ kind: "reset" }, { path: /skipToken=10/ });
    fake.inject({ kind: "delay", ms: 300 }, { path: /skipToken=15/ });
    const items = await collect(reader().alerts(subscription));
    expect(new Set(ids(items)).size).toBe(20);
    expect(fake.requests.map((q) => q.fault ?? "ok")).toEqual(["ok", "status", "ok", "reset", "ok", "delay"]);
  });

  it("a page that keeps failing fails the read, naming the scope, the type and the page", async () => {
    const { fake, reader, subscription } = await setup({ alerts: 20, pageSize: 5 });
    fake.inject({ kind: "status", status: 500 }, { path: /skipToken=10/, times: 10 });
    const r = reader();
    const seen: string[] = [];
    const error = await (async () => {
      try {
        for await (const item of r.alerts(subscription)) seen.push(String(item.record["id"]));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ArmReadError);
    expect((error as ArmReadError).context).toEqual({ scope: subscription, dataType: "alert", page: 3 });
    expect((error as Error).message).toBe(`reading alert at ${subscription}, page 3: HTTP 500 InternalServerError: Injected fault: HTTP 500.`);
    expect(seen).toHaveLength(10);
    // The SDK's retries ran first: one attempt and three retries on the failing page.
    expect(fake.requests.filter((q) => q.status === 500)).toHaveLength(1 + FAST_RETRIES.maxRetries);
  });

  it("429 without Retry-After and 403 are not retried by the SDK, and say so", async () => {
    const { fake, reader, subscription } = await setup({ alerts: 2 });
    fake.inject({ kind: "status", status: 403, code: "AuthorizationFailed" }, { path: /alerts/ });
    await expect(collect(reader().alerts(subscription))).rejects.toThrow(/page 1: HTTP 403 AuthorizationFailed/);
    expect(fake.requests).toHaveLength(1);
  });

  it("a malformed page, a page without value, and a reset that persists", async () => {
    const { fake, reader, subscription } = await setup({ alerts: 4, pageSize: 2 });
    fake.inject({ kind: "malformed" }, { path: /skipToken=2/ });
    await expect(collect(reader().alerts(subscription))).rejects.toThrow(/page 2: malformed page: the body is not valid JSON$/);
    fake.inject({ kind: "body", body: { values: [] } }, { path: /alerts/ });
    await expect(collect(reader().alerts(subscription))).rejects.toThrow(/page 1: malformed page: no value array/);
    fake.inject({ kind: "reset" }, { path: /alerts/, times: 10 });
    await expect(collect(reader().alerts(subscription))).rejects.toThrow(/reading alert at .*, page 1: ECONNRESET/);
  });

  it("never follows a nextLink to another host (the bearer token would go with it)", async () => {
    const { fake, reader, subscription } = await setup({ alerts: 1 });
    fake.inject({ kind: "body", body: { value: [], nextLink: "https://attacker.example.com/steal?api-version=2021-11-01" } }, { path: /alerts/ });
    await expect(collect(reader().alerts(subscription))).rejects.toThrow(/nextLink points outside the ARM endpoint/);
    expect(fake.requests).toHaveLength(1);
  });
});

describe("scopes", () => {
  it("reads a resource group scope from its own endpoint", async () => {
    const { dataset, fake, reader, subscription } = await setup({ alerts: 9, resourceGroups: ["rg-a", "rg-b", "rg-c"] });
    const items = await collect(reader().read([`${subscription}/resourceGroups/rg-b`], ["alert"]));
    expect(ids(items)).toEqual([1, 4, 7].map((i) => String(dataset.alert(i)["id"])));
    expect(items.every((i) => i.scope === `${subscription}/resourceGroups/rg-b`)).toBe(true);
    expect(fake.requests[0]!.path).toBe(`${subscription}/resourceGroups/rg-b/providers/Microsoft.Security/alerts`);
  });

  it("several scopes without duplicates", async () => {
    const { fake, reader, subscription } = await setup({ alerts: 4, resourceGroups: ["rg-a", "rg-b"] });
    const items = await collect(reader().read([`${subscription}/resourceGroups/rg-a`, subscription, subscription.toUpperCase().replace("/SUBSCRIPTIONS", "/subscriptions")], ["alert"]));
    expect(new Set(ids(items)).size).toBe(4);
    expect(items).toHaveLength(4);
    expect(fake.requests).toHaveLength(1);
    expect([...groupScopes([`${subscription}/resourceGroups/rg-a`, `${subscription}/resourceGroups/rg-b`]).values()]).toEqual([
      [`${subscription}/resourceGroups/rg-a`, `${subscription}/resourceGroups/rg-b`],
    ]);
    expect(() => groupScopes(["/subscriptions/x/providers/y"])).toThrow(/invalid scope/);
  });

  it("secure scores and compliance are read once per subscription, even for resource group scopes", async () => {
    const { fake, reader, subscription } = await setup({ resourceGroups: ["rg-a", "rg-b"] });
    const items = await collect(reader().read([`${subscription}/resourceGroups/rg-a`, `${subscription}/resourceGroups/rg-b`], ["secureScore"]));
    expect(items).toHaveLength(1);
    expect(items[0]!.scope).toBe(subscription);
    expect(fake.requests).toHaveLength(1);
  });
});

describe("data types", () => {
  it("recommendations carry their metadata, fetched once per run and joined by name", async () => {
    const { fake, reader, subscription } = await setup({
      assessments: 8,
      assessmentKeys: ["21300918-b2e3-0346-785f-c77ff57d243b", "bc303248-3d14-44c2-96a0-55f5c326b5fe", "no-metadata-key"],
      resourceGroups: ["rg-a", "rg-b"],
    });
    const r = reader();
    const items = await collect(r.read([`${subscription}/resourceGroups/rg-a`, `${subscription}/resourceGroups/rg-b`], ["assessment"]));
    expect(items).toHaveLength(8);
    for (const item of items) {
      const properties = item.record["properties"] as { metadata?: { severity: string; displayName: string } };
      if (item.record["name"] === "no-metadata-key") expect(properties.metadata).toBeUndefined();
      else expect(properties.metadata).toMatchObject({ severity: "Medium", displayName: expect.any(String) });
    }
    expect(r.stats.assessmentsWithoutMetadata).toBe(items.filter((i) => i.record["name"] === "no-metadata-key").length);
    expect(r.stats.assessmentsWithoutMetadata).toBeGreaterThan(0);
    const metadataRequests = fake.requests.filter((q) => q.path.endsWith("/assessmentMetadata"));
    expect(metadataRequests.map((q) => q.path)).toEqual(["/providers/Microsoft.Security/assessmentMetadata", `${subscription}/providers/Microsoft.Security/assessmentMetadata`]);
  });

  it("findings of several parents carry their parent's key", async () => {
    const parents = ["aaaa1111-0000-0000-0000-000000000001", "bbbb2222-0000-0000-0000-000000000002", "cccc3333-0000-0000-0000-000000000003"];
    const { reader, subscription } = await setup({ subAssessments: 12, findingParents: parents, pageSize: 5 });
    const items = await collect(reader().read([subscription], ["subAssessment"]));
    expect(items).toHaveLength(12);
    for (const item of items) expect(String(item.record["id"])).toContain(`/assessments/${item.context!.parentAssessmentKey}/subAssessments/`);
    expect(new Set(items.map((i) => i.context!.parentAssessmentKey))).toEqual(new Set(parents));
  });

  it("secure score controls come with their definitions", async () => {
    const { fake, reader, subscription } = await setup();
    const items = await collect(reader().read([subscription], ["secureScoreControl"]));
    expect(items).toHaveLength(12);
    expect(fake.requests[0]!.query["$expand"]).toBe("definition");
    for (const item of items) expect((item.record["properties"] as { definition: { name: string } }).definition.name).toBe(item.record["name"]);
  });

  it("the compliance hierarchy: every assessment with its standard and control, fetched in bounded parallel", async () => {
    const { dataset, fake, reader, subscription } = await setup({ standards: 3, controlsPerStandard: 9, assessmentsPerControl: 4, pageSize: 3 });
    const r = reader({ concurrency: 4 });
    const items = await collect(r.read([subscription], ["regulatoryComplianceAssessment"]));
    expect(items).toHaveLength(dataset.complianceAssessmentCount);
    for (const item of items) {
      expect(String(item.record["id"])).toContain(`/regulatoryComplianceStandards/${item.context!.standard}/regulatoryComplianceControls/${item.context!.control}/regulatoryComplianceAssessments/`);
    }
    expect(new Set(items.map((i) => i.context!.standard)).size).toBe(3);
    // 1 standards page, 3 control pages per standard, 2 assessment pages per control.
    expect(fake.requests).toHaveLength(1 + 3 * 3 + 3 * 9 * 2);
    expect(r.stats.requests).toBe(fake.requests.length);
    expect(fake.maxInFlight).toBeGreaterThan(1);
    expect(fake.maxInFlight).toBeLessThanOrEqual(4);
  });
});

describe("credentials and endpoints", () => {
  it("asks for the ARM scope of the endpoint: public for local endpoints, the cloud's own elsewhere", async () => {
    const { credential, reader, subscription } = await setup({ alerts: 1 });
    await collect(reader().alerts(subscription));
    expect(credential.scopes).toContain("https://management.azure.com/.default");
    expect(armTokenScope("https://management.usgovcloudapi.net")).toBe("https://management.usgovcloudapi.net/.default");
    expect(armTokenScope("https://management.chinacloudapi.cn/")).toBe("https://management.chinacloudapi.cn/.default");
  });

  it("an unknown subscription is reported, not retried", async () => {
    const { fake, credential } = await setup();
    const r = new ArmReader({ credential, endpoint: fake.url, tlsCa: fake.ca, retryOptions: FAST_RETRIES });
    await expect(collect(r.read(["/subscriptions/00000000-0000-0000-0000-000000000000"], ["alert"]))).rejects.toThrow(/HTTP 404 SubscriptionNotFound/);
  });
});
