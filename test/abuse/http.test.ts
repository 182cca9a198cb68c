import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localTls } from "../../dev/fakes/tls.js";
import { harness, type Harness } from "../functions/helpers.js";

// Hostile input at every HTTP endpoint: always a clear 4xx, never a crash, a hang or a half-stored
// configuration; and no request to a host a configuration names unless it is an Azure service's.

let h: Harness;
let evil: { url: string; requests: number; close(): Promise<void> };

beforeAll(async () => {
  const tls = localTls();
  let requests = 0;
  const server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => {
    requests++;
    res.writeHead(200).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  evil = {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
  h = await harness({
    DEFENDER_EXPORT_DEST_EVIL_HOOK: `${evil.url}/hook?sig=x`,
    DEFENDER_EXPORT_DEST_EVIL_HUB: `Endpoint=sb://${new URL(evil.url).host}/;SharedAccessKeyName=k;SharedAccessKey=k;EntityPath=h`,
  });
}, 60_000);
afterAll(async () => {
  expect(evil.requests).toBe(0);
  await h.close();
  await evil.close();
});

const WRITERS = [
  ["export", "PUT"],
  ["exportPreview", "POST"],
  ["exportRun", "POST"],
  ["exportSnapshot", "POST"],
  ["deadLettersReplay", "POST"],
] as const;
const READERS = [
  ["exportsList", "GET"],
  ["export", "GET"],
  ["exportStatus", "GET"],
  ["deadLetters", "GET"],
  ["health", "GET"],
  ["openapi", "GET"],
] as const;

async function everywhere(body: string, name = "abuse"): Promise<number[]> {
  const statuses: number[] = [];
  for (const [fn, method] of [...WRITERS, ...READERS]) {
    const started = Date.now();
    const r = await h.http(fn, { method, params: { name }, body });
    expect(Date.now() - started, `${fn} took too long`).toBeLessThan(5_000);
    expect(r.status, `${fn} ${method}`).toBeLessThan(500);
    statuses.push(r.status ?? 200);
  }
  // A body that is a valid configuration (a huge but legal string, say) is stored; any other leaves nothing.
  if (statuses[0]! >= 400) expect(await h.service.configurations.get(name)).toBeUndefined();
  else await h.service.delete(name);
  return statuses;
}

const valid = () => ({ sources: [{ eventSource: "Alerts" }], actions: [(h.sandbox.configuration["actions"] as unknown[])[0]] });

describe("hostile bodies at every endpoint", () => {
  it("nesting far deeper than any record: refused where it enters, with where it goes too deep", async () => {
    await everywhere("[".repeat(200_000));
    await everywhere(`${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`);
    const put = await h.http("export", { method: "PUT", params: { name: "abuse" }, body: JSON.stringify({ ...valid(), description: "x" }).replace('"x"', `${"[".repeat(150)}${"]".repeat(150)}`) });
    expect(put.status).toBe(400);
    expect(put.json["errors"]).toEqual([{ path: "$", message: expect.stringMatching(/^line 1, column \d+: nested deeper than 100 levels$/) }]);
    const preview = await h.http("exportPreview", {
      method: "POST",
      params: { name: "sandbox" },
      body: JSON.stringify([{ type: "Microsoft.Security/alerts", id: "/x", properties: { deep: JSON.parse(`${"[".repeat(99)}${"]".repeat(99)}`) } }]),
    });
    expect(preview.status).toBeLessThan(500);
  });

  it("huge bodies, huge strings and numbers, wrong types, unicode edge cases", async () => {
    await everywhere("x".repeat(2_000_000));
    await everywhere(
      JSON.stringify({ sources: [{ eventSource: "Alerts", ruleSets: [{ rules: [{ propertyJPath: "a", propertyType: "String", operator: "Equals", expectedValue: "é".repeat(400_000) }] }] }] }),
    );
    await everywhere('{"sources": 1e400, "actions": -0, "scopes": 123456789012345678901234567890}');
    await everywhere(JSON.stringify({ sources: "Alerts", actions: {}, scopes: [null], isEnabled: "yes" }));
    await everywhere(JSON.stringify({ sources: [{ eventSource: "Alerts\u0000" }], description: "\ud800\udfff\ud800 \u202e \ufeff" }));
    await everywhere("\ufeff{}");
    await everywhere('{"sources": [], "sources": [{"eventSource": "Alerts"}]}');
  });

  it("prototype-pollution keys change nothing but the request's own answer", async () => {
    for (const key of ["__proto__", "constructor", "prototype"]) {
      const body = `{"${key}": {"polluted": true, "isEnabled": false}, "sources": [{"eventSource": "Alerts", "${key}": {"polluted": true}}]}`;
      await everywhere(body);
      const preview = await h.http("exportPreview", {
        method: "POST",
        params: { name: "sandbox" },
        body: `[{"type": "Microsoft.Security/alerts", "id": "/subscriptions/x/providers/Microsoft.Security/alerts/a", "${key}": {"polluted": true}, "properties": {"${key}": {"polluted": true}}}]`,
      });
      expect(preview.status).toBeLessThan(500);
    }
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("JSON paths built to be slow: stored (they are legal) and evaluated quickly", async () => {
    // As much as a stored configuration may hold (450,000 characters): 60 rules of 1,000-segment paths.
    const long = Array.from({ length: 1_000 }, (_, i) => `k${i}`).join(".");
    const brackets = `$${"['a']".repeat(1_000)}`;
    const rules = Array.from({ length: 60 }, (_, i) => ({ rules: [{ propertyJPath: i % 2 ? long : brackets, propertyType: "String", operator: "Contains", expectedValue: "x" }] }));
    const r = await h.http("export", {
      method: "PUT",
      params: { name: "slowpaths" },
      body: JSON.stringify({ ...valid(), scopes: h.sandbox.configuration["scopes"], sources: [{ eventSource: "Alerts", ruleSets: rules }] }),
    });
    expect(r.status).toBe(201);
    const started = Date.now();
    const preview = await h.http("exportPreview", { method: "POST", params: { name: "slowpaths" }, body: JSON.stringify({ limit: 50 }) });
    expect(preview.status).toBe(200);
    expect(preview.json["selected"]).toBe(0); // no record has such a path
    expect(Date.now() - started).toBeLessThan(5_000);
    await h.service.delete("slowpaths");
  });

  it("random JSON at every endpoint, deep and wide: never a 5xx, nothing stored", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ depthSize: "large", maxDepth: 150 }), async (value) => {
        await everywhere(JSON.stringify(value));
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});

describe("destinations only on Azure service hosts", () => {
  it("a Logs Ingestion endpoint, a trigger URI or an Event Hubs namespace elsewhere is refused before anything is stored or sent", async () => {
    const cases = [
      { actionType: "Workspace", dataCollectionEndpoint: evil.url, dataCollectionRuleId: "dcr-00112233445566778899aabbccddeeff" },
      { actionType: "LogicApp", uriSetting: "DEFENDER_EXPORT_DEST_EVIL_HOOK" },
      { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_EVIL_HUB", eventHubName: "h" },
      { actionType: "EventHub", fullyQualifiedNamespace: new URL(evil.url).host, eventHubName: "h" },
    ];
    for (const action of cases) {
      const r = await h.http("export", { method: "PUT", params: { name: "abuse" }, body: JSON.stringify({ sources: [{ eventSource: "Alerts" }], actions: [action] }) });
      expect(r.status, JSON.stringify(action)).toBe(400);
      expect(JSON.stringify(r.json)).not.toContain("SharedAccessKey=k");
    }
    expect(await h.service.configurations.get("abuse")).toBeUndefined();
  });
});
