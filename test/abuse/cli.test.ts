import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

// Hostile files for every command: a clear message and exit code 2, never a crash (a stack trace) or a hang.

const dir = mkdtempSync(join(tmpdir(), "abuse-cli-"));
let n = 0;
const file = (text: string) => {
  const path = join(dir, `f${n++}.json`);
  writeFileSync(path, text);
  return path;
};

const HOSTILE = [
  "[".repeat(200_000),
  `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`,
  '{"__proto__": {"polluted": true}, "sources": [{"eventSource": "Alerts", "constructor": {"prototype": {"polluted": true}}}]}',
  '{"sources": 1e400}',
  "\ufeff{",
  '{"sources": [{"eventSource": "Alerts\\u0000"}], "description": "\\ud800"}',
  "\u0000\u0001\u0002",
  JSON.stringify({
    sources: [{ eventSource: "Alerts", ruleSets: [{ rules: [{ propertyJPath: "$".concat("['a']".repeat(20_000)), propertyType: "String", operator: "Equals", expectedValue: "x" }] }] }],
  }),
];

const COMMANDS = (config: string, records: string) => [
  ["validate", config],
  ["preview", "--config", config, records],
  ["read", "--config", config, "--arm-endpoint", "https://127.0.0.1:9"],
  ["replay", "--config", config],
  ["export", "--config", config, "--once"],
];

function clean(run: { code: number; stderr: string }) {
  expect([0, 1, 2]).toContain(run.code);
  expect(run.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
}

describe("the CLI under hostile input", () => {
  it("hostile configuration files: exit 2 with a message naming the file, for every command", async () => {
    const records = file("[]");
    for (const text of HOSTILE) {
      const config = file(text);
      // The long bracketed path is legal: validate and preview take it (the others would go on to reach Azure).
      const legal = text.includes("['a']");
      for (const args of COMMANDS(config, records).filter((a) => !legal || a[0] === "validate" || a[0] === "preview")) {
        const started = Date.now();
        const run = await runCli(args, { env: { DEFENDER_EXPORT_STORAGE: "UseDevelopmentStorage=true" } });
        clean(run);
        expect(Date.now() - started, args.join(" ")).toBeLessThan(10_000);
        expect(run.code, `${args[0]} on ${text.slice(0, 40)}`).toBe(legal ? 0 : 2);
      }
    }
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  }, 120_000);

  it("connection strings in a configuration file that would reach another host, or go in plain text, are refused (exit 2), the key never printed", async () => {
    const key = "SharedAccessKeyName=k;SharedAccessKey=CLIKEYCANARY";
    const hostile = [
      `Endpoint =sb://127.0.0.1:9/;endpoint=sb://contoso-ns.servicebus.windows.net/;${key};EntityPath=h`,
      `Endpoint=sb://contoso-ns.servicebus.windows.net/;${key};Endpoint=sb://127.0.0.1:9/;EntityPath=h`,
      `Endpoint=sb://contoso-ns.servicebus.windows.net/::1;${key};EntityPath=h`,
      `Endpoint=sb://[::1]:9/;${key};EntityPath=h`,
      `Endpoint=sb://contoso-ns.servicebus.windows.net/;${key};UseDevelopmentEmulator=true;EntityPath=h`,
      `Endpoint=sb://contoso-ns.servicebus.windows.net/x:9;${key};EntityPath=h`,
    ];
    for (const connectionString of hostile) {
      const config = file(JSON.stringify({ sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "EventHub", connectionString }] }));
      const run = await runCli(["validate", config]);
      clean(run);
      expect(run.code, connectionString).toBe(2);
      expect(run.stderr, connectionString).toMatch(/connectionString: invalid connectionString/);
      expect(run.stdout + run.stderr).not.toContain("CLIKEYCANARY");
    }
  });

  it("a configuration name that would climb out of its folders (--name .., a file named so) is refused (exit 2)", async () => {
    const config = file(
      JSON.stringify({
        scopes: ["/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23"],
        sources: [{ eventSource: "Alerts" }],
        actions: [{ actionType: "Workspace", dataCollectionEndpoint: "https://dce-1.westeurope-1.ingest.monitor.azure.com", dataCollectionRuleId: "dcr-00112233445566778899aabbccddeeff" }],
      }),
    );
    for (const args of [
      ["replay", "--config", config, "--name", ".."],
      ["replay", "--config", config, "--name", "a/b"],
      ["export", "--config", config, "--name", "..", "--once"],
    ]) {
      const run = await runCli(args, { env: { DEFENDER_EXPORT_STORAGE: "UseDevelopmentStorage=true" } });
      clean(run);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(/the configuration's name .*expected 1 to 64 letters/);
    }
  });

  it("hostile record files for preview: a warning or exit 2, never a crash", async () => {
    const config = file(JSON.stringify({ sources: [{ eventSource: "Alerts" }, { eventSource: "Assessments" }] }));
    for (const text of [...HOSTILE, '[{"type": "Microsoft.Security/alerts", "id": "/x", "properties": {"__proto__": {"polluted": 1}}}]']) {
      const run = await runCli(["preview", "--config", config, "--format", "log-analytics", file(text)]);
      clean(run);
    }
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  }, 60_000);

  it("random JSON as configuration and as records", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ depthSize: "large", maxDepth: 120 }), fc.jsonValue({ maxDepth: 120 }), async (config, records) => {
        clean(await runCli(["validate", file(JSON.stringify(config))]));
        clean(await runCli(["preview", "--config", file(JSON.stringify({ sources: [{ eventSource: "Alerts" }] })), file(JSON.stringify(records))]));
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
