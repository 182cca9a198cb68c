import { createHttpHeaders, type HttpHeaders } from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import { attackPath } from "../../src/datatypes/attack-path.js";
import { GraphQuota, kqlString, parseResetsAfter, QuotaWaitTooLong, rowsQuery } from "../../src/sources/resource-graph.js";

describe("the Resource Graph query", () => {
  it("projects id and orders by it, so that Resource Graph pages it", () => {
    const query = rowsQuery({ type: "Microsoft.Security/attackPaths", inResourceGroup: { column: "resourceGroup" } });
    expect(query).toBe(
      "securityresources | where type =~ 'microsoft.security/attackpaths' | project id, name, type, tenantId, kind, location, resourceGroup, subscriptionId, managedBy, sku, plan, properties, tags, identity, zones, extendedLocation | order by id asc",
    );
  });

  it("filters a resource group scope by name, case-insensitively, with the name quoted", () => {
    expect(rowsQuery({ type: "microsoft.security/assessments", inResourceGroup: { column: "resourceGroup" } }, "rg-Web")).toContain(
      "| where type =~ 'microsoft.security/assessments' | where resourceGroup =~ 'rg-Web' | project",
    );
    // Attack paths belong to no group: those through a resource of the group.
    expect(rowsQuery(attackPath.graph, "rg-Web")).toContain(
      "| where type =~ 'microsoft.security/attackpaths' | where tostring(properties.graphComponent.entities) contains '/resourceGroups/rg-Web/' | project",
    );
    expect(kqlString("it's a \\ test")).toBe("'it\\'s a \\\\ test'");
  });
});

describe("Resource Graph's quota", () => {
  it("reads x-ms-user-quota-resets-after as hh:mm:ss", () => {
    expect(parseResetsAfter("00:00:03")).toBe(3000);
    expect(parseResetsAfter("00:01:02.5")).toBe(62_500);
    expect(parseResetsAfter("01:00:00")).toBe(3_600_000);
    for (const bad of [undefined, "", "3", "00:60:00", "soon"]) expect(parseResetsAfter(bad), String(bad)).toBeUndefined();
  });

  const headers = (remaining: string, resets: string): HttpHeaders => createHttpHeaders({ "x-ms-user-quota-remaining": remaining, "x-ms-user-quota-resets-after": resets });

  it("counts the queries sent since the last answer against what it said was left, and waits for the reset when none is", async () => {
    const quota = new GraphQuota({ jitterMs: 0 });
    await quota.acquire();
    quota.settle(headers("2", "00:00:00.2"));
    // Two more may go at once; a third waits for the window.
    await quota.acquire();
    await quota.acquire();
    expect(quota.waitedMs).toBe(0);
    const start = Date.now();
    await quota.acquire();
    expect(Date.now() - start).toBeGreaterThanOrEqual(150);
    expect(quota.waitedMs).toBeGreaterThanOrEqual(150);
    expect(quota.waitedMs).toBeLessThanOrEqual(200);
  });

  it("a 429 without the header waits the documented window; a header that is empty or not a number counts as unknown", async () => {
    const quota = new GraphQuota({ jitterMs: 0, windowMs: 100 });
    await quota.acquire();
    quota.settle(headers("", "00:00:03"));
    await quota.acquire();
    expect(quota.waitedMs).toBe(0);
    quota.settle(undefined);
    quota.throttled(undefined);
    await quota.acquire();
    expect(quota.waitedMs).toBeGreaterThanOrEqual(90);
  });

  it("never waits longer than it may: a reset hours away fails at once, and waits carry jitter", async () => {
    const quota = new GraphQuota({ jitterMs: 100, random: () => 0.5, maxWaitMs: 60_000 });
    await quota.acquire();
    quota.settle(headers("0", "02:00:00"));
    await expect(quota.acquire()).rejects.toBeInstanceOf(QuotaWaitTooLong);
    const jittered = new GraphQuota({ jitterMs: 100, random: () => 0.5 });
    await jittered.acquire();
    jittered.settle(headers("0", "00:00:00.02"));
    await jittered.acquire();
    // What is left of the window, and half the jitter.
    expect(jittered.waitedMs).toBeGreaterThan(50);
    expect(jittered.waitedMs).toBeLessThanOrEqual(70);
  });
});
