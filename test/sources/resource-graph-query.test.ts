import { createHttpHeaders, type HttpHeaders } from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import { attackPath } from "../../src/datatypes/attack-path.js";
import type { ResourceGraphPlan } from "../../src/datatypes/definition.js";
import { GraphQuota, kqlString, parseResetsAfter, rowsQuery } from "../../src/sources/resource-graph.js";

describe("the Resource Graph query", () => {
  it("projects id and orders by it, so that Resource Graph pages it", () => {
    const query = rowsQuery({ type: "Microsoft.Security/attackPaths", inResourceGroup: { column: "resourceGroup" } });
    expect(query).toBe(
      "securityresources | where type == 'microsoft.security/attackpaths' | project id, name, type, tenantId, kind, location, resourceGroup, subscriptionId, managedBy, sku, plan, properties, tags, identity, zones, extendedLocation | order by id asc",
    );
  });

  it("filters a resource group scope by name, case-insensitively, with the name quoted", () => {
    expect(rowsQuery({ type: "microsoft.security/assessments", inResourceGroup: { column: "resourceGroup" } }, "rg-Web")).toContain(
      "| where type == 'microsoft.security/assessments' | where resourceGroup =~ 'rg-Web' | project",
    );
    // Attack paths belong to no group: those through a resource of the group.
    expect(rowsQuery(attackPath.read as ResourceGraphPlan, "rg-Web")).toContain(
      "| where type == 'microsoft.security/attackpaths' | where tostring(properties.graphComponent.entities) contains '/resourceGroups/rg-Web/' | project",
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

  it("waits for the window to reset once an answer says no query is left, and not before", async () => {
    let now = 1_000_000;
    const quota = new GraphQuota(undefined, () => now);
    const headers = (remaining: string, resets: string): HttpHeaders => createHttpHeaders({ "x-ms-user-quota-remaining": remaining, "x-ms-user-quota-resets-after": resets });
    quota.observe(headers("3", "00:00:04"));
    const start = Date.now();
    await quota.ready();
    expect(quota.waitedMs).toBe(0);
    quota.observe(headers("0", "00:00:00.05"));
    await quota.ready();
    expect(quota.waitedMs).toBe(50);
    expect(Date.now() - start).toBeGreaterThanOrEqual(45);
    now += 50;
    // A 429 that does not say when the window resets waits the documented window, 5 seconds.
    quota.throttled(undefined);
    now += 4_990;
    await quota.ready();
    expect(quota.waitedMs).toBe(60);
  });
});
