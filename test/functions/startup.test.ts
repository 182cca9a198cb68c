import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

// The built entry point (dist/, what the Functions host loads), in a process of its own, with a stand-in for the
// host's worker API (@azure/functions-core) that records the registrations and lets the test call a handler.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const CHILD = `
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const Module = require("node:module");
const registered = [];
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "@azure/functions-core") {
    return { registerFunction: (metadata, handler) => registered.push({ metadata, handler }), setProgrammingModel: () => {}, getProgrammingModel: () => {}, registerHook: () => ({ dispose() {} }), log: () => {} };
  }
  return load.call(this, request, ...rest);
};
const started = performance.now();
await import(${JSON.stringify(`${ROOT}dist/functions/index.js`)});
const importMs = performance.now() - started;
const functions = require("@azure/functions");
const health = registered.find((r) => r.metadata.name === "health").handler;
const logs = [];
const answer = process.env.PROBE_HEALTH !== "1" ? {} : await health(new functions.HttpRequest({ method: "GET", url: "http://localhost/api/health" }), new functions.InvocationContext({ invocationId: "i", functionName: "health", logHandler: (_l, ...a) => logs.push(a.join(" ")) }));
const loaded = Object.keys(require.cache).filter((k) => /monitor-opentelemetry|@opentelemetry[\\\\/]sdk-/.test(k)).length;
process.stdout.write(JSON.stringify({ names: registered.map((r) => r.metadata.name), triggers: registered.map((r) => Object.values(r.metadata.bindings).find((b) => String(b.type).endsWith("Trigger"))), health: { status: answer.status, body: answer.jsonBody }, loaded, importMs, logs }));
process.exit(0);
`;

async function entryPoint(env: Record<string, string>) {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", CHILD], {
    cwd: ROOT,
    env: { PATH: process.env["PATH"] ?? "", AzureWebJobsStorage: "UseDevelopmentStorage=true", ...env },
    timeout: 30_000,
  });
  return {
    ...(JSON.parse(stdout) as { names: string[]; triggers: Record<string, unknown>[]; health: { status: number; body: Record<string, unknown> }; loaded: number; importMs: number; logs: string[] }),
    stderr,
  };
}

describe("the Functions host's entry point", () => {
  it("registers every function whatever the settings: a bad one makes health (and every call) a 503 naming it", async () => {
    const run = await entryPoint({ PROBE_HEALTH: "1", DEFENDER_EXPORT_STREAM_SCHEDULE: "0 */5 * * *", DEFENDER_EXPORT_QUEUE: "Bad_Queue", DEFENDER_EXPORT_PASS_TIME_LIMIT: "ten" });
    expect(run.names).toHaveLength(13);
    expect(run.names).toContain("health");
    // Where a setting the host needs at registration is bad, its default stands there.
    expect(run.triggers.find((t) => t["type"] === "timerTrigger" && t["schedule"] === "0 */5 * * * *")).toBeDefined();
    expect(run.triggers.find((t) => t["type"] === "queueTrigger")).toMatchObject({ queueName: "export-passes" });
    expect(run.health.status).toBe(503);
    expect(run.health.body["detail"]).toMatch(/the app's settings are not valid: .*DEFENDER_EXPORT_STREAM_SCHEDULE: expected an NCRONTAB expression/);
    expect(run.health.body["detail"]).toMatch(/DEFENDER_EXPORT_QUEUE/);
    expect(run.health.body["detail"]).toMatch(/DEFENDER_EXPORT_PASS_TIME_LIMIT/);
    expect(JSON.stringify(run.health.body)).not.toContain('0 */5 * * *"');
    // Said at start-up too, in the worker's output (the host's log).
    expect(run.stderr).toMatch(/defender-export: the app's settings are not valid: .*DEFENDER_EXPORT_STREAM_SCHEDULE/);
  });

  it("a storage connection string the app cannot use is a bad setting too: 503 naming it, never its value", async () => {
    const run = await entryPoint({ PROBE_HEALTH: "1", DEFENDER_EXPORT_STORAGE: "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sig=NEVERSHOWN" });
    expect(run.health.status).toBe(503);
    expect(run.health.body["detail"]).toMatch(/the app's settings are not valid: DEFENDER_EXPORT_STORAGE: the Queue service cannot be reached from it/);
    expect(JSON.stringify(run)).not.toContain("NEVERSHOWN");
  });

  it("loads Application Insights' exporter only when a connection string is set", async () => {
    const without = await entryPoint({});
    expect(without.names).toHaveLength(13);
    expect(without.loaded).toBe(0);
    const withAi = await entryPoint({ APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/" });
    expect(withAi.names).toHaveLength(13);
    expect(withAi.loaded).toBeGreaterThan(0);
  });
});
