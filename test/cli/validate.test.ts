import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { EXAMPLES_DIR, loadExample } from "../helpers/examples.js";

const dir = mkdtempSync(join(tmpdir(), "defender-export-validate-"));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
}

const KEY = "c2VjcmV0LWtleS12YWx1ZS10aGF0LW11c3QtbmV2ZXItbGVhaw==";

describe("defender-export validate", () => {
  it("prints the normalized configuration with sources in the automations shape", async () => {
    const path = file("policy.json", { exportedDataTypes: ["Security alerts"], alertSeverities: ["High"], isSecurityFindingsEnabled: false });
    const run = await runCli(["validate", path]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { sources: unknown[] };
    expect(out.sources).toEqual([{ eventSource: "Alerts", ruleSets: [{ rules: [{ propertyJPath: "Severity", propertyType: "String", expectedValue: "high", operator: "Equals" }] }] }]);
    expect(run.stderr).toContain("warning: $.actions: no actions");
  });

  it("validates an automation pasted from ARM, from stdin", async () => {
    const resource = loadExample("automations/GetAutomationResourceGroup_example.json").responses["200"]!.body;
    const run = await runCli(["validate", "-"], { stdin: JSON.stringify(resource) });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      name: "exampleAutomation",
      isEnabled: true,
      sources: [{ eventSource: "Assessments", ruleSets: [{ rules: [{ propertyJPath: "$.Entity.AssessmentType", expectedValue: "customAssessment" }] }] }],
    });
  });

  it("invalid: every problem with its JSON path on stderr, exit 2, nothing on stdout", async () => {
    const path = file("bad.json", {
      properties: {
        sources: [{ eventSource: "Alertz" }, { eventSource: "Alerts", ruleSets: [{ rules: [{ propertyJPath: "Severity", propertyType: "Integer", expectedValue: "high", operator: "Contains" }] }] }],
        actions: [{ actionType: "EventHub", connectionString: `Endpoint=sb://attacker.example.com/;SharedAccessKeyName=k;SharedAccessKey=${KEY};EntityPath=h` }],
      },
    });
    const run = await runCli(["validate", path]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/^error: \$\.properties\.sources\[0\]\.eventSource: unknown eventSource "Alertz"/),
      expect.stringMatching(/^error: \$\.properties\.sources\[1\]\.ruleSets\[0\]\.rules\[0\]\.operator: operator Contains does not apply to propertyType Integer/),
      expect.stringMatching(/^error: \$\.properties\.sources\[1\]\.ruleSets\[0\]\.rules\[0\]\.expectedValue: expectedValue "high" cannot be converted to Integer/),
      expect.stringMatching(/^error: \$\.properties\.actions\[0\]\.connectionString: invalid connectionString: its Endpoint host "attacker\.example\.com" is not an Event Hubs namespace/),
      expect.stringMatching(/bad\.json: 4 problems; nothing was accepted$/),
    ]);
    expect(run.stderr).not.toContain(KEY);
  });

  it("never prints a connection string, even when it is valid", async () => {
    const path = file("eh.json", {
      sources: [{ eventSource: "Alerts" }],
      actions: [{ actionType: "EventHub", connectionString: `Endpoint=sb://contoso-ns1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=${KEY};EntityPath=hub1` }],
    });
    const run = await runCli(["validate", path]);
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(KEY);
    expect(JSON.parse(run.stdout).actions).toEqual([{ actionType: "EventHub", eventHubName: "hub1", sasPolicyName: "send" }]);
  });

  it("trusts local destinations only when DEFENDER_EXPORT_TRUSTED_HOSTS lists them", async () => {
    const path = file("local.json", {
      sources: [{ eventSource: "Alerts" }],
      actions: [{ actionType: "Workspace", dataCollectionEndpoint: "https://127.0.0.1:8443", dataCollectionRuleId: "dcr-00112233445566778899aabbccddeeff" }],
    });
    expect((await runCli(["validate", path])).code).toBe(2);
    expect((await runCli(["validate", path], { env: { DEFENDER_EXPORT_TRUSTED_HOSTS: "127.0.0.1:8443" } })).code).toBe(0);
    const bad = await runCli(["validate", path], { env: { DEFENDER_EXPORT_TRUSTED_HOSTS: "http://x/" } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/DEFENDER_EXPORT_TRUSTED_HOSTS: expected host or host:port/);
  });

  it("unreadable and malformed files, and bad usage, exit 2 with the reason", async () => {
    const missing = await runCli(["validate", join(dir, "nope.json")]);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/nope\.json: cannot read \(ENOENT\)/) });
    const malformed = await runCli(["validate", file("broken.json", `{\n  "sources": [\n    {"eventSource": "Alerts",}\n  ]\n}`)]);
    expect(malformed).toMatchObject({ code: 2, stderr: expect.stringMatching(/broken\.json:3:\d+: invalid JSON/) });
    const leaky = await runCli(["validate", file("leaky.json", `{"connectionString": "Endpoint=sb://x;SharedAccessKey=${KEY}" oops}`)]);
    expect(leaky.code).toBe(2);
    expect(leaky.stderr).not.toContain(KEY);
    expect((await runCli(["validate", file("empty.json", "")])).stderr).toMatch(/empty; expected a JSON object/);
    expect(await runCli(["validate"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/validate needs a configuration file[\s\S]*defender-export validate --help/) });
    expect(await runCli(["validate", "--frobnicate", "x"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--frobnicate'/) });
    expect(await runCli(["validate", dir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/is a directory/) });
  });

  it("reads every automation example file's resource as real users would paste it", async () => {
    expect(EXAMPLES_DIR).toMatch(/api-examples\/$/);
    const body = loadExample("automations/PutAutomationHighSeverityAssessments_example.json").parameters["Automation"];
    const run = await runCli(["validate", file("put.json", body)]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain("exampleTriggerUri1");
  });
});

describe("help", () => {
  it.each([["--help"], ["-h"], ["help"]])("%s lists the commands", async (flag) => {
    const run = await runCli([flag]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/validate\s+check an export configuration/);
    expect(run.stdout).toMatch(/preview\s+show which records/);
  });
  it.each(["validate", "preview"])("%s --help explains the command with examples", async (command) => {
    const run = await runCli([command, "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: defender-export ${command}`);
    expect(run.stdout).toContain("Examples:");
    expect((await runCli(["help", command])).stdout).toBe(run.stdout);
  });
  it("no command or an unknown one is a usage error", async () => {
    expect((await runCli([])).code).toBe(2);
    expect(await runCli(["frobnicate"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command "frobnicate"/) });
  });
});
