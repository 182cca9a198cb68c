import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/settings.js";
import { azdParameters, bicepParameters } from "./azd.js";
import { bicepFiles, declarations, evaluate, infraText, property } from "./bicep.js";

const main = infraText("main.bicep");

/** A top-level `var`'s expression (it may span lines: a ternary's ? and : lines are indented). */
function variable(name: string): string {
  const m = new RegExp(`^var ${name} = (.*(?:\\n {2}.*)*)`, "m").exec(main);
  if (m === null) throw new Error(`no var ${name}`);
  return m[1]!;
}

describe("the subscription deployment (main.bicep)", () => {
  it("without an existing hub, the hub module's scope is this subscription and the app's own group, not a placeholder that is no id", () => {
    expect(main).not.toMatch(/\/subscriptions\/-|resourceGroups\/-/);
    const existingHub = variable("existingHub");
    const notExisting = /^eventHubMode != 'existing'\s*\? (.*)\n/.exec(existingHub)?.[1];
    expect(notExisting).toBe("split('/subscriptions/${subscription().subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.EventHub/namespaces/none/eventhubs/none', '/')");
    expect(property(declarations(main).find((d) => d.symbol === "rg")!.body, "name")).toBe("resourceGroupName");
    expect(property(declarations(main).find((d) => d.symbol === "existingEventHub")!.body, "scope")).toBe("resourceGroup(existingHub[2], existingHub[4])");
  });

  it("an eventHubResourceId that is not an event hub's id stops the deployment with a message saying the expected form", () => {
    const valid = (id: string) => evaluate(variable("hubIdIsValid"), { hubIdParts: id.split("/") });
    const hub = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hubs/providers/Microsoft.EventHub/namespaces/contoso-ns/eventhubs/defender";
    expect(valid(hub)).toBe(true);
    expect(valid(hub.replace("/eventhubs/", "/EventHubs/").replace("resourceGroups", "resourcegroups"))).toBe(true);
    for (const wrong of [
      "",
      hub.slice(0, hub.indexOf("/eventhubs/")),
      `${hub}/`,
      `${hub}/consumergroups/$Default`,
      hub.replace("Microsoft.EventHub", "Microsoft.ServiceBus").replace("eventhubs", "queues"),
      hub.slice(1),
    ]) {
      expect(valid(wrong), wrong).toBe(false);
    }
    const existingHub = variable("existingHub");
    expect(existingHub).toMatch(
      /: hubIdIsValid \? hubIdParts : fail\('eventHubResourceId must be an event hub\\'s resource id, \/subscriptions\/<subscription>\/resourceGroups\/<group>\/providers\/Microsoft\.EventHub\/namespaces\/<namespace>\/eventhubs\/<hub>; it is \\'\$\{eventHubResourceId\}\\''\)$/,
    );
    expect(variable("hubIdParts")).toBe("split(eventHubResourceId, '/')");
  });

  it("every module's deployment name fits 64 characters of [-\\w._()], whatever the resource group names", () => {
    expect(main).toMatch(/^var token = toLower\(uniqueString\(/m);
    const bounded: Record<string, number> = { token: 13 }; // uniqueString() is 13 characters
    let modules = 0;
    for (const [file, text] of bicepFiles()) {
      for (const d of declarations(text).filter((x) => x.kind === "module")) {
        modules++;
        const name = property(d.body, "name")!;
        expect(name, `${file}: ${d.symbol}`).toMatch(/^'.*'$/);
        const parts = name.slice(1, -1).split(/(\$\{[^}]*\})/);
        let length = 0;
        for (const part of parts) {
          if (!part.startsWith("${")) {
            expect(part, `${file}: ${d.symbol}`).toMatch(/^[-\w._()]*$/);
            length += part.length;
            continue;
          }
          const inner = part.slice(2, -1);
          const size = bounded[inner] ?? (/^uniqueString\(/.test(inner) ? 13 : Number(/^take\(.+, (\d+)\)$/.exec(inner)?.[1] ?? Number.POSITIVE_INFINITY));
          expect(size, `${file}: ${d.symbol}: \${${inner}} has no bound`).toBeLessThan(Number.POSITIVE_INFINITY);
          length += size;
        }
        expect(length, `${file}: ${d.symbol}`).toBeLessThanOrEqual(64);
      }
    }
    expect(modules).toBeGreaterThanOrEqual(10);
  });
});

describe("parameters", () => {
  it("azd env set reaches every one, each from one variable; an unset one is left to the Bicep default", () => {
    const file = JSON.parse(infraText("main.parameters.json")) as { parameters: Record<string, { value: unknown }> };
    const declared = bicepParameters();
    expect(Object.keys(file.parameters).sort()).toEqual([...declared.keys()].sort());
    for (const [name, { value }] of Object.entries(file.parameters)) {
      // One reference and nothing else, without an envsubst default: such a default ends at the first "}", which
      // cuts a JSON object short, and it would repeat (and could contradict) the Bicep default.
      expect(value, name).toMatch(/^\$\{[A-Z][A-Z0-9_]*\}$/);
    }
    expect(azdParameters({ AZURE_ENV_NAME: "defender-export-prod", AZURE_LOCATION: "westeurope" })).toEqual({ environmentName: "defender-export-prod", location: "westeurope" });
  });

  it("the README's Deploy table gives each one with the variable that sets it", () => {
    const file = JSON.parse(infraText("main.parameters.json")) as { parameters: Record<string, { value: string }> };
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const deploy = readme.slice(readme.indexOf("\n## Deploy\n"), readme.indexOf("\n## ", readme.indexOf("\n## Deploy\n") + 1));
    const rows = Object.fromEntries([...deploy.matchAll(/^\| `(\w+)` \| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => [m[1]!, `\${${m[2]!}}`]));
    const mapped = Object.fromEntries(
      Object.entries(file.parameters)
        .filter(([name]) => !["environmentName", "location"].includes(name))
        .map(([name, { value }]) => [name, value]),
    );
    expect(rows).toEqual(mapped);
  });

  it("arrays, objects and booleans arrive typed, as azd parses them", () => {
    const env = {
      DEFENDER_EXPORT_RESOURCE_GROUPS: '["rg-web","rg-data"]',
      DEFENDER_EXPORT_EVENT_SOURCES: '["Alerts","AssessmentsSnapshot"]',
      DEFENDER_EXPORT_SOURCES_WITH_RULES: JSON.stringify([
        { eventSource: "Alerts", ruleSets: [{ rules: [{ propertyJPath: "Severity", propertyType: "String", expectedValue: "High", operator: "Equals" }] }] },
      ]),
      DEFENDER_EXPORT_LOG_ANALYTICS: "false",
      DEFENDER_EXPORT_BASELINE_SNAPSHOT: "false",
      DEFENDER_EXPORT_SNAPSHOT_CHECK_SCHEDULE: "0 30 * * * *",
      DEFENDER_EXPORT_INITIAL_CONFIGURATION_NAME: "prod",
      DEFENDER_EXPORT_EVENT_HUB_NAME: "defender",
    };
    const parameters = azdParameters(env);
    expect(parameters).toMatchObject({ monitoredResourceGroups: ["rg-web", "rg-data"], eventSources: ["Alerts", "AssessmentsSnapshot"], exportToLogAnalytics: false, baselineSnapshot: false });
    expect(parameters["sourcesWithRules"]).toEqual(JSON.parse(env.DEFENDER_EXPORT_SOURCES_WITH_RULES));
    expect(parameters).toMatchObject({ snapshotCheckSchedule: "0 30 * * * *", initialConfigurationName: "prod", eventHubName: "defender" });
  });

  it("location offers only regions with the Flex Consumption plan (the quickstart's list), the README's example among them", () => {
    const regions = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "deployment", "flex-consumption-regions.json"), "utf8")) as string[];
    const allowed = /@allowed\(\[\n((?: {2}'[a-z0-9]+'\n)+)\]\)\n(?:\/\/.*\n|@.*\n)*param location string/.exec(main)?.[1];
    expect(allowed?.match(/[a-z0-9]+/g)).toEqual(regions);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const examples = [...readme.matchAll(/AZURE_LOCATION (\w+)|-l (\w+)/g)].map((m) => m[1] ?? m[2]);
    expect(examples.length).toBeGreaterThan(0);
    expect(examples.filter((r) => !regions.includes(r!))).toEqual([]);
  });
});

describe("Event Hubs", () => {
  it("the namespace host comes from the namespace's serviceBusEndpoint (new or existing hub), not a public-cloud suffix", () => {
    for (const [file, text] of bicepFiles()) expect(text.replace(/^\s*\/\/.*$/gm, ""), file).not.toContain("servicebus.windows.net");
    for (const file of ["app/event-hubs.bicep", "app/event-hub-sender.bicep"]) {
      const output = /^output fullyQualifiedNamespace string = (.+)$/m.exec(infraText(file))?.[1];
      expect(output, file).toBeDefined();
      // As the Event Hubs quickstart shows a namespace: "serviceBusEndpoint": "https://contosoehubns17861.servicebus.windows.net:443/".
      const host = (endpoint: string) => evaluate(output!, { namespace: { properties: { serviceBusEndpoint: endpoint } } });
      expect(host("https://contosoehubns17861.servicebus.windows.net:443/")).toBe("contosoehubns17861.servicebus.windows.net");
      expect(host("https://contoso.servicebus.chinacloudapi.cn:443/")).toBe("contoso.servicebus.chinacloudapi.cn");
    }
    const actions = variable("eventHubActions");
    expect(actions).toContain("fullyQualifiedNamespace: newEventHub.outputs.fullyQualifiedNamespace");
    expect(actions).toContain("fullyQualifiedNamespace: existingEventHub.outputs.fullyQualifiedNamespace");
  });
});
