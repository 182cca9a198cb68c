import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { harness, type Harness } from "./helpers.js";

// With DEFENDER_EXPORT_REQUIRE_ROLE (what the deployment sets when it turns App Service authentication on), the
// write role cannot be had by leaving X-MS-CLIENT-PRINCIPAL out.

let h: Harness;
beforeAll(async () => {
  h = await harness({ DEFENDER_EXPORT_REQUIRE_ROLE: "true" });
}, 60_000);
afterAll(async () => {
  await h.close();
});

const principal = (roles: string[]) => Buffer.from(JSON.stringify({ auth_typ: "aad", claims: roles.map((val) => ({ typ: "roles", val })) })).toString("base64");

describe("the write role, required", () => {
  it("a change without a principal is 401, without the role 403, with it allowed; reads need no role", async () => {
    const body = JSON.stringify(h.sandbox.configuration);
    const put = (headers: Record<string, string>) => h.http("export", { method: "PUT", params: { name: "guarded" }, body, headers });
    const anonymous = await put({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.json["detail"]).toMatch(/needs a signed-in caller with the app role Exports\.Write/);
    expect((await put({ "x-ms-client-principal": principal(["Exports.Read"]) })).status).toBe(403);
    expect((await put({ "x-ms-client-principal": "not base64 json" })).status).toBe(403);
    expect(await h.service.configurations.find("guarded")).toBeUndefined();
    for (const [fn, method] of [
      ["exportRun", "POST"],
      ["exportSnapshot", "POST"],
      ["deadLettersReplay", "POST"],
      ["export", "DELETE"],
    ] as const) {
      expect((await h.http(fn, { method, params: { name: "guarded" } })).status, `${fn} ${method}`).toBe(401);
    }
    expect((await put({ "x-ms-client-principal": principal(["Exports.Write"]) })).status).toBe(201);
    expect((await h.http("export", { method: "GET", params: { name: "guarded" } })).status).toBe(200);
    expect((await h.http("exportsList", { method: "GET" })).status).toBe(200);
    expect((await h.http("health", { method: "GET" })).status).toBe(200);
  });
});
