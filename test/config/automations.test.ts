import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import { toPublicConfiguration } from "../../src/config/public.js";
import { exampleFiles, loadExample } from "../helpers/examples.js";

/** Every automation body in an example: the PUT/PATCH/validate request and each response resource. */
function automationBodies(file: string): [string, unknown][] {
  const example = loadExample(file);
  const bodies: [string, unknown][] = [];
  if (example.parameters["Automation"] !== undefined) bodies.push(["request", example.parameters["Automation"]]);
  for (const [status, response] of Object.entries(example.responses)) {
    const body = response.body as Record<string, unknown> | undefined;
    if (Array.isArray(body?.["value"])) body["value"].forEach((item, i) => bodies.push([`${status} value[${i}]`, item]));
    else if (body?.["properties"] !== undefined) bodies.push([status, body]);
  }
  return bodies;
}

const files = exampleFiles("automations");

describe("automations examples", () => {
  it("finds request and response bodies in every example file", () => {
    expect(files.length).toBe(7);
    for (const file of files) expect(automationBodies(file).length, file).toBeGreaterThan(0);
  });

  for (const file of files) {
    for (const [label, body] of automationBodies(file)) {
      it(`${file} ${label} validates and keeps its sources`, () => {
        const result = parseExportConfiguration(body);
        expect(result.ok, JSON.stringify(!result.ok && result.errors)).toBe(true);
        if (!result.ok) return;
        const properties = (body as { properties: { sources: { eventSource: string; ruleSets?: unknown[] }[]; scopes: { scopePath: string }[] } }).properties;
        expect(result.configuration.sources.map((s) => s.eventSource)).toEqual(properties.sources.map((s) => s.eventSource));
        expect(result.configuration.sources.map((s) => s.ruleSets ?? [])).toEqual(properties.sources.map((s) => s.ruleSets ?? []));
        expect(result.configuration.scopes.map((s) => s.scopePath)).toEqual(properties.scopes.map((s) => s.scopePath));
        expect(result.configuration.actions.map((a) => a.actionType)).toEqual(["LogicApp"]);
      });

      it(`${file} ${label}: the properties object alone normalizes the same`, () => {
        const whole = parseExportConfiguration(body);
        const alone = parseExportConfiguration((body as { properties: unknown }).properties);
        expect(whole.ok && alone.ok).toBe(true);
        if (!whole.ok || !alone.ok) return;
        const { name: _name, ...rest } = toPublicConfiguration(whole.configuration);
        expect(toPublicConfiguration(alone.configuration)).toEqual(rest);
      });
    }
  }

  it("keeps the resource name and rejects another resource type", () => {
    const body = automationBodies("automations/GetAutomationResourceGroup_example.json")[0]![1] as Record<string, unknown>;
    const ok = parseExportConfiguration(body);
    expect(ok.ok && ok.configuration.name).toBe("exampleAutomation");
    const wrong = parseExportConfiguration({ ...body, type: "Microsoft.Insights/actionGroups" });
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.errors[0]).toMatchObject({ path: "$.type" });
  });

  it("never echoes the LogicApp trigger uri, as ARM never returns it", () => {
    const request = automationBodies("automations/PutAutomationAllAssessments_example.json")[0]![1];
    const result = parseExportConfiguration(request);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const shown = JSON.stringify(toPublicConfiguration(result.configuration));
    expect(shown).not.toContain("exampleTriggerUri1");
    expect(JSON.stringify(result.configuration)).not.toContain("exampleTriggerUri1");
    // The request's untrusted trigger host is flagged, not refused: the resource must stay valid.
    expect(result.warnings.map((w) => w.path)).toContain("$.properties.actions[0].uri");
  });

  it("round-trips: the normalized output validates to itself", () => {
    for (const file of files) {
      for (const [, body] of automationBodies(file)) {
        const first = parseExportConfiguration(body);
        if (!first.ok) throw new Error(file);
        const shown = toPublicConfiguration(first.configuration);
        const second = parseExportConfiguration({ properties: shown, name: shown["name"] });
        expect(second.ok && toPublicConfiguration(second.configuration)).toEqual(shown);
      }
    }
  });

  it("accepts an ARM template resource with apiVersion and dependsOn", () => {
    const result = parseExportConfiguration({
      type: "Microsoft.Security/automations",
      apiVersion: "2019-01-01-preview",
      name: "exportToWorkspace",
      location: "westeurope",
      dependsOn: [],
      properties: {
        isEnabled: true,
        scopes: [{ description: "scope for subscription", scopePath: "/subscriptions/a5caac9c-5c04-49af-b3d0-e204f40345d5" }],
        sources: [{ eventSource: "Alerts", ruleSets: [{ rules: [{ propertyJPath: "Severity", propertyType: "string", expectedValue: "high", operator: "equals" }] }] }],
        actions: [{ actionType: "Workspace", workspaceResourceId: "/subscriptions/a5caac9c-5c04-49af-b3d0-e204f40345d5/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law" }],
      },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    // Enum values are matched case-insensitively and normalized to their canonical spelling.
    expect(result.configuration.sources[0]!.ruleSets![0]!.rules[0]).toEqual({
      propertyJPath: "Severity",
      propertyType: "String",
      expectedValue: "high",
      operator: "Equals",
    });
    expect(result.warnings.map((w) => w.message).join("\n")).toContain("cannot deliver until dataCollectionEndpoint");
  });
});
