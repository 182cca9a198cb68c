import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../dev/local-host/sandbox.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
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
    expect(await s.enqueueStreaming()).toEqual({ queued: 7, invalid: [] });
    const stored = await s.configurations.get("default");
    expect(stored?.configuration.sources.map((x) => x.eventSource)).toEqual([
      "Alerts",
      "Assessments",
      "SubAssessments",
      "SecureScores",
      "SecureScoreControls",
      "RegulatoryComplianceAssessment",
      "AttackPaths",
    ]);
    await s.put("default", { ...sandbox.configuration, sources: [{ eventSource: "Alerts" }] }, {});
    const again = service(JSON.stringify(sandbox.configuration), undefined, "initial-passes-2");
    expect((await again.enqueueStreaming()).queued).toBe(1); // the operator's change stays
  });

  it("a bad one is named by the timer and in health, nothing is stored, and the other configurations are queued as ever", async () => {
    const s = service(JSON.stringify({ ...sandbox.configuration, sources: [{ eventSource: "Nope" }] }), "broken", "initial-passes-3");
    for (const c of (await s.list()).value) await s.delete(String(c["name"]));
    await s.put("other", { ...sandbox.configuration, sources: [{ eventSource: "Alerts" }] }, {});
    const enqueued = await s.enqueueStreaming();
    expect(enqueued.initialConfiguration).toMatch(/DEFENDER_EXPORT_INITIAL_CONFIGURATION: the export configuration is not valid: \$\.sources\[0\]\.eventSource/);
    expect(enqueued.queued).toBe(1);
    const health = await s.health();
    expect(health.ok).toBe(false);
    expect(health.checks["initialConfiguration"]).toMatch(/^DEFENDER_EXPORT_INITIAL_CONFIGURATION: /);
    expect(await s.configurations.find("broken")).toBeUndefined();
    expect((await service("{", "broken", "initial-passes-3").enqueueStreaming()).initialConfiguration).toMatch(/DEFENDER_EXPORT_INITIAL_CONFIGURATION is not JSON/);
    await s.delete("other");
  });

  it("one stored under its name that no longer validates is the operator's: it is left alone, and the others are queued", async () => {
    const trusted = `localhost:${sandbox.hubs.port}`;
    const initial = JSON.stringify({ ...sandbox.configuration, actions: [{ actionType: "EventHub", fullyQualifiedNamespace: trusted, eventHubName: "defender-export" }] });
    const first = service(initial, "was-trusted", "initial-passes-4");
    for (const c of (await first.list()).value) await first.delete(String(c["name"]));
    await first.put("zz-other", { ...sandbox.configuration, sources: [{ eventSource: "Alerts" }] }, {});
    expect(await first.enqueueStreaming()).toMatchObject({ queued: 8, invalid: [] });
    // The host it names is no longer trusted: the stored one no longer validates.
    const later = sandboxService(azurite, sandbox, {
      DEFENDER_EXPORT_QUEUE: "initial-passes-5",
      DEFENDER_EXPORT_INITIAL_CONFIGURATION: initial,
      DEFENDER_EXPORT_INITIAL_CONFIGURATION_NAME: "was-trusted",
      DEFENDER_EXPORT_TRUSTED_HOSTS: sandbox.trustedHosts.filter((t) => t !== trusted).join(","),
    }).service;
    const enqueued = await later.enqueueStreaming();
    expect(enqueued.invalid.map((c) => c.name)).toEqual(["was-trusted"]);
    expect(enqueued.queued).toBe(1);
    expect(enqueued.initialConfiguration).toBeUndefined();
    await later.delete("was-trusted");
    await later.delete("zz-other");
  });
});
