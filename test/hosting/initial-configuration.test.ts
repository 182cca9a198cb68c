import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/local/sandbox.js";
import { startAzurite, type Azurite } from "../fakes/azurite.js";
import { sandboxService } from "../functions/helpers.js";

let azurite: Azurite;
let sandbox: Sandbox;
beforeAll(async () => {
  [azurite, sandbox] = await Promise.all([startAzurite(), startSandbox({ driftSeconds: 3600 })]);
}, 60_000);
afterAll(async () => {
  await sandbox.close();
  await azurite.stop();
});

const service = (initial: string, name?: string, queue = "initial-passes") =>
  sandboxService(azurite, sandbox, { DEFENDER_EXPORT_QUEUE: queue, DEFENDER_EXPORT_INITIAL_CONFIGURATION: initial, ...(name ? { DEFENDER_EXPORT_INITIAL_CONFIGURATION_NAME: name } : {}) }).service;

describe("the deployment's initial configuration", () => {
  it("is stored at the first timer and its passes queued, once; a configuration of that name already there is left alone", async () => {
    const s = service(JSON.stringify(sandbox.configuration));
    expect(await s.enqueueStreaming()).toEqual({ queued: 6, invalid: [] });
    const stored = await s.configurations.get("default");
    expect(stored?.configuration.sources.map((x) => x.eventSource)).toEqual(["Alerts", "Assessments", "SubAssessments", "SecureScores", "SecureScoreControls", "RegulatoryComplianceAssessment"]);
    await s.put("default", { ...sandbox.configuration, sources: [{ eventSource: "Alerts" }] }, {});
    const again = service(JSON.stringify(sandbox.configuration), undefined, "initial-passes-2");
    expect((await again.enqueueStreaming()).queued).toBe(1); // the operator's change stays
  });

  it("a bad one is named in the timer's error and in health, and nothing is stored", async () => {
    const s = service(JSON.stringify({ ...sandbox.configuration, sources: [{ eventSource: "Nope" }] }), "broken");
    await expect(s.enqueueStreaming()).rejects.toThrow(/DEFENDER_EXPORT_INITIAL_CONFIGURATION: the export configuration is not valid: \$\.sources\[0\]\.eventSource/);
    const health = await s.health();
    expect(health.ok).toBe(false);
    expect(health.checks["initialConfiguration"]).toMatch(/^DEFENDER_EXPORT_INITIAL_CONFIGURATION: /);
    expect(await s.configurations.get("broken")).toBeUndefined();
    await expect(service("{", "broken").enqueueStreaming()).rejects.toThrow(/DEFENDER_EXPORT_INITIAL_CONFIGURATION is not JSON/);
  });
});
